//! The storage service over real NNG (a thread here; the crash test in
//! lugh-cli runs it as a process): commits, reads that wait for
//! durability, rollback, and clear errors.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use lugh::services::storage::{serve, Client, TxnOp, ERROR, OK};
use lugh_kv::Options;

#[test]
fn commit_get_rollback_over_ipc() {
    let d = tempfile::tempdir().unwrap();
    let svc = format!("inproc://lugh-storage-{}", std::process::id());
    let me = format!("{svc}-client");
    let stop = Arc::new(AtomicBool::new(false));
    let server = {
        let (dir, svc, me, stop) = (
            d.path().to_path_buf(),
            svc.clone(),
            me.clone(),
            stop.clone(),
        );
        std::thread::spawn(move || serve(&dir, Options::default(), &svc, &me, 1, stop))
    };
    let mut c = Client::connect(&me, &svc).unwrap();
    let t = Duration::from_secs(5);
    let t1 = c
        .commit(
            &[
                TxnOp::Put(b"alert/1".to_vec(), b"49.1 Hz".to_vec()),
                TxnOp::Put(b"agg/1".to_vec(), b"50.00".to_vec()),
            ],
            t,
        )
        .unwrap();
    let t2 = c
        .commit(
            &[
                TxnOp::Put(b"agg/1".to_vec(), b"50.02".to_vec()),
                TxnOp::Delete(b"alert/1".to_vec()),
            ],
            t,
        )
        .unwrap();
    assert!(t2 > t1);
    assert_eq!(c.get(b"agg/1", t).unwrap().as_deref(), Some(&b"50.02"[..]));
    assert_eq!(c.get(b"alert/1", t).unwrap(), None);
    // Pipelined: many commits in flight, every one answered OK.
    let reqs: Vec<u64> = (0..200)
        .map(|i| {
            c.send_commit(&[TxnOp::Put(format!("p/{i}").into_bytes(), vec![1; 64])])
                .unwrap()
        })
        .collect();
    for r in reqs {
        assert_eq!(c.wait(r, t).unwrap().0, OK);
    }
    let req = c.send_rollback(t2, false).unwrap();
    assert_eq!(c.wait(req, t).unwrap().0, OK);
    assert_eq!(c.get(b"agg/1", t).unwrap().as_deref(), Some(&b"50.00"[..]));
    assert_eq!(
        c.get(b"alert/1", t).unwrap().as_deref(),
        Some(&b"49.1 Hz"[..])
    );
    // Refusals come back as errors with the reason.
    let e = c
        .commit(&[TxnOp::Put(vec![b'k'; 2000], b"v".to_vec())], t)
        .unwrap_err();
    assert!(e.contains("1024-byte limit"), "{e}");
    let req = c.send_rollback(t2, false).unwrap();
    let (status, body) = c.wait(req, t).unwrap();
    assert_eq!(status, ERROR);
    assert!(String::from_utf8_lossy(&body).contains("already rolled back"));
    stop.store(true, Ordering::SeqCst);
    server.join().unwrap().unwrap();
}
