use super::*;

fn open(dir: &Path) -> Store {
    Store::open(dir, Options::default()).unwrap().0
}

fn put(s: &Store, pairs: &[(&str, &str)]) -> Committed {
    let mut t = s.begin();
    for (k, v) in pairs {
        t.put(k.as_bytes(), v.as_bytes()).unwrap();
    }
    s.commit(t).unwrap()
}

fn get(s: &Store, k: &str) -> Option<String> {
    s.get(k.as_bytes()).map(|v| String::from_utf8(v).unwrap())
}

#[test]
fn commits_survive_reopen_and_uncommitted_work_leaves_no_trace() {
    let d = tempfile::tempdir().unwrap();
    {
        let s = open(d.path());
        put(&s, &[("a", "1"), ("b", "2")]);
        let mut t = s.begin();
        t.delete(b"a").unwrap();
        t.put(b"c", b"3").unwrap();
        s.commit(t).unwrap();
        // Begun, written to, never committed.
        let mut open_txn = s.begin();
        open_txn.put(b"ghost", b"x").unwrap();
        let mut aborted = s.begin();
        aborted.put(b"ghost2", b"y").unwrap();
        s.abort(aborted).unwrap();
        assert_eq!(get(&s, "ghost"), None);
    }
    let (s, r) = Store::open(d.path(), Options::default()).unwrap();
    assert_eq!(get(&s, "a"), None);
    assert_eq!(get(&s, "b").as_deref(), Some("2"));
    assert_eq!(get(&s, "c").as_deref(), Some("3"));
    assert_eq!(get(&s, "ghost"), None);
    assert_eq!(get(&s, "ghost2"), None);
    assert_eq!(r.committed, 2);
    assert_eq!(r.aborted, 1);
    assert_eq!(r.cut_at, None);
    // Ids are never reused, not even those of unfinished transactions.
    assert!(s.begin().id > 4, "next id after recovery: {}", r.next_txn);
}

#[test]
fn sizes_are_checked_with_clear_errors() {
    let d = tempfile::tempdir().unwrap();
    let s = open(d.path());
    let mut t = s.begin();
    let e = t.put(&[b'k'; 1025], b"v").unwrap_err();
    assert!(e
        .to_string()
        .contains("1025 bytes is over the 1024-byte limit"));
    let e = t.put(b"k", &vec![0; 32 * 1024 + 1]).unwrap_err();
    assert!(e.to_string().contains("32 KiB"), "{e}");
    t.put(&[b'k'; 1024], &vec![1; 32 * 1024]).unwrap();
    s.commit(t).unwrap();
    assert_eq!(s.get(&[b'k'; 1024]).unwrap().len(), 32 * 1024);
}

#[test]
fn rollback_restores_values_and_refuses_to_clobber_later_writes() {
    let d = tempfile::tempdir().unwrap();
    let s = open(d.path());
    put(&s, &[("x", "old"), ("y", "keep")]);
    let t2 = {
        let mut t = s.begin();
        t.put(b"x", b"new").unwrap();
        t.put(b"x", b"newer").unwrap();
        t.delete(b"y").unwrap();
        t.put(b"z", b"created").unwrap();
        s.commit(t).unwrap()
    };
    let r = s.rollback(t2.txn, false).unwrap();
    assert_eq!(get(&s, "x").as_deref(), Some("old"));
    assert_eq!(get(&s, "y").as_deref(), Some("keep"));
    assert_eq!(get(&s, "z"), None);
    assert!(matches!(
        s.rollback(t2.txn, false),
        Err(KvError::AlreadyReverted { by, .. }) if by == r.txn
    ));
    // A later write to a key blocks the rollback unless forced.
    let t4 = put(&s, &[("w", "1")]);
    put(&s, &[("w", "2")]);
    let e = s.rollback(t4.txn, false).unwrap_err();
    assert!(e.to_string().contains("\"w\" changed after"), "{e}");
    assert_eq!(
        get(&s, "w").as_deref(),
        Some("2"),
        "a refusal changes nothing"
    );
    s.rollback(t4.txn, true).unwrap();
    assert_eq!(get(&s, "w"), None);
    assert!(matches!(
        s.rollback(999, false),
        Err(KvError::UnknownTxn(999))
    ));
    drop(s);
    // Rollbacks are transactions like any other: they survive a restart,
    // and so does the knowledge of what was rolled back.
    let s = open(d.path());
    assert_eq!(get(&s, "x").as_deref(), Some("old"));
    assert!(matches!(
        s.rollback(t2.txn, false),
        Err(KvError::AlreadyReverted { .. })
    ));
}

#[test]
fn snapshots_truncate_the_log_and_a_full_log_blocks_instead_of_dropping() {
    let d = tempfile::tempdir().unwrap();
    let opts = Options {
        log_limit: 8 * 1024,
        history: 50,
    };
    let (s, _) = Store::open(d.path(), opts.clone()).unwrap();
    for i in 0..500 {
        put(&s, &[(&format!("k{i:04}"), &format!("v{i}"))]);
    }
    let st = s.stats();
    assert!(st.checkpoints >= 5, "{st:?}");
    assert_eq!(st.blocked_on_full_log, st.checkpoints);
    assert!(s.log_bytes() <= 8 * 1024);
    // The oldest history is gone; the newest can still be rolled back.
    let last = s.history(1)[0].txn;
    drop(s);
    let (s, r) = Store::open(d.path(), opts).unwrap();
    assert!(r.snapshot_lsn > 0);
    assert_eq!(s.len(), 500, "nothing dropped: {r:?}");
    for i in 0..500 {
        assert_eq!(get(&s, &format!("k{i:04}")), Some(format!("v{i}")));
    }
    assert_eq!(s.history(usize::MAX).len(), 50);
    s.rollback(last, false).unwrap();
    assert_eq!(get(&s, "k0499"), None);
    assert!(matches!(s.rollback(1, false), Err(KvError::UnknownTxn(1))));
}

#[test]
fn a_crash_between_snapshot_and_log_swap_replays_nothing_twice() {
    let d = tempfile::tempdir().unwrap();
    let s = open(d.path());
    put(&s, &[("a", "1")]);
    put(&s, &[("a", "2")]);
    let old_log = std::fs::read(Store::wal_path(d.path())).unwrap();
    s.checkpoint().unwrap();
    let t = put(&s, &[("a", "3")]);
    s.rollback(t.txn, false).unwrap();
    drop(s);
    // Put back the log from before the snapshot, as if the crash came
    // after the snapshot was renamed into place and before the new log was.
    std::fs::write(Store::wal_path(d.path()), &old_log).unwrap();
    let (s, r) = Store::open(d.path(), Options::default()).unwrap();
    assert_eq!(get(&s, "a").as_deref(), Some("2"));
    assert_eq!(
        r.log_records, 0,
        "everything is covered by the snapshot: {r:?}"
    );
    assert!(r.snapshot_lsn > 0);
    assert_eq!(s.history(10).len(), 2, "history comes from the snapshot");
}

#[test]
fn recovery_cuts_the_log_at_damage_and_keeps_everything_before_it() {
    use proptest::test_runner::{Config, TestRunner};
    let mut runner = TestRunner::new(Config {
        cases: 64,
        ..Config::default()
    });
    runner
        .run(
            &(0usize..100_000, 0u8..8, 1usize..4),
            |(pos, bit, flips)| {
                let d = tempfile::tempdir().unwrap();
                let mut ends = Vec::new();
                {
                    let s = open(d.path());
                    for i in 0..40 {
                        let c = put(&s, &[(&format!("a{i}"), "x"), (&format!("b{i}"), "y")]);
                        ends.push(c.lsn);
                    }
                }
                let path = Store::wal_path(d.path());
                let mut bytes = std::fs::read(&path).unwrap();
                // The records, then the zeros the log is preallocated with;
                // one case in eight damages the zeros.
                let data_len = *ends.last().unwrap() as usize + HEADER_LEN;
                let len = if pos % 8 == 0 { bytes.len() } else { data_len };
                let start = HEADER_LEN + pos % (len - HEADER_LEN);
                let mut first = len;
                for f in 0..flips {
                    let p = ((start + f * 37) % len).max(HEADER_LEN);
                    bytes[p] ^= 1 << bit;
                    first = first.min(p);
                }
                std::fs::write(&path, &bytes).unwrap();
                let (s, r) = Store::open(d.path(), Options::default()).unwrap();
                let cut = r.cut_at.expect("damage is found") as usize;
                assert!(cut <= first, "cut at {cut}, first damage at {first}");
                // Every transaction whose records end before the damage is
                // whole; none is half there.
                for (i, end) in ends.iter().enumerate() {
                    let a = get(&s, &format!("a{i}"));
                    let b = get(&s, &format!("b{i}"));
                    assert_eq!(a.is_some(), b.is_some(), "txn {i} partially visible");
                    if (*end as usize) + HEADER_LEN <= first {
                        assert!(a.is_some(), "txn {i} before the damage lost");
                    }
                }
                assert_eq!(
                    std::fs::metadata(&path).unwrap().len() as usize,
                    cut,
                    "the log is cut there"
                );
                // The store keeps working after the cut, and a second recovery
                // finds nothing more to cut.
                put(&s, &[("after", "1")]);
                drop(s);
                let (s, r) = Store::open(d.path(), Options::default()).unwrap();
                assert_eq!(r.cut_at, None);
                assert_eq!(get(&s, "after").as_deref(), Some("1"));
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn concurrent_commits_share_syncs() {
    let d = tempfile::tempdir().unwrap();
    let s = Arc::new(open(d.path()));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let s = s.clone();
            std::thread::spawn(move || {
                for i in 0..40 {
                    put(&s, &[(&format!("t{t}-{i}"), "v")]);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let st = s.stats();
    assert_eq!(st.commits, 320);
    assert!(st.syncs < st.commits, "group commit: {st:?}");
    assert_eq!(s.len(), 320);
}

#[test]
fn one_store_per_directory() {
    let d = tempfile::tempdir().unwrap();
    let _s = open(d.path());
    let e = Store::open(d.path(), Options::default()).err().unwrap();
    assert!(e.to_string().contains("in use by another lugh"), "{e}");
}

#[test]
fn damaged_headers_and_snapshots_are_refused_not_ignored() {
    let d = tempfile::tempdir().unwrap();
    {
        let s = open(d.path());
        put(&s, &[("a", "1")]);
        s.checkpoint().unwrap();
    }
    let snap = Store::snapshot_path(d.path());
    let mut b = std::fs::read(&snap).unwrap();
    let n = b.len();
    b[n - 3] ^= 0xff;
    std::fs::write(&snap, &b).unwrap();
    let e = Store::open(d.path(), Options::default()).err().unwrap();
    assert!(e.to_string().contains("snapshot: damaged at byte"), "{e}");
    std::fs::write(&snap, b"garbage").unwrap();
    let e = Store::open(d.path(), Options::default()).err().unwrap();
    assert!(e.to_string().contains("not a lugh snapshot"), "{e}");
}
