//! `lugh kv`: the storage engine for people and scripts, on a data
//! directory (the same files the storage service uses; one opener at a
//! time).

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use serde_json::json;

use lugh_kv::{Options, Store};

#[derive(Args, Debug)]
pub struct KvArgs {
    /// The data directory [env: LUGH_DATA].
    #[arg(long, global = true, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Machine-readable output.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    action: KvAction,
}

#[derive(Subcommand, Debug)]
enum KvAction {
    /// Set KEY to VALUE in a transaction of its own.
    Put { key: String, value: String },
    /// Print the value of KEY (exit 1 when absent).
    Get { key: String },
    /// Delete KEY in a transaction of its own.
    Del { key: String },
    /// List keys starting with PREFIX, in order.
    Scan {
        #[arg(default_value = "")]
        prefix: String,
        #[arg(long, default_value_t = 1000)]
        limit: usize,
    },
    /// Several writes as one transaction: `put K V` and `del K`, e.g.
    /// `lugh kv txn put a 1 put b 2 del c`. All or nothing.
    Txn {
        #[arg(required = true, num_args = 1.., value_name = "OP")]
        ops: Vec<String>,
        /// Log the transaction as aborted instead: nothing becomes visible.
        #[arg(long)]
        abort: bool,
    },
    /// Reverse committed transaction TXN from its undo records (refused if
    /// a later transaction changed one of its keys, unless --force).
    Rollback {
        txn: u64,
        #[arg(long)]
        force: bool,
    },
    /// Recover the directory (replay the log, cut it at the first bad
    /// record) and report what was found.
    Recover,
    /// Recent committed transactions, newest first (what rollback takes).
    Log {
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
}

fn parse_ops(words: &[String]) -> anyhow::Result<Vec<(String, Option<String>)>> {
    let mut ops = Vec::new();
    let mut it = words.iter();
    while let Some(w) = it.next() {
        match w.as_str() {
            "put" => {
                let (Some(k), Some(v)) = (it.next(), it.next()) else {
                    bail!("`put` needs a key and a value: put KEY VALUE");
                };
                ops.push((k.clone(), Some(v.clone())));
            }
            "del" | "delete" => {
                let Some(k) = it.next() else {
                    bail!("`del` needs a key: del KEY");
                };
                ops.push((k.clone(), None));
            }
            other => bail!("unknown transaction step `{other}`: use `put KEY VALUE` or `del KEY`"),
        }
    }
    Ok(ops)
}

/// Runs `lugh kv`; returns the exit code.
pub fn run(args: KvArgs) -> anyhow::Result<i32> {
    let Some(dir) = args
        .data
        .or_else(|| std::env::var_os("LUGH_DATA").map(PathBuf::from))
    else {
        bail!("no data directory: pass --data DIR (or set LUGH_DATA)");
    };
    let (store, report) = Store::open(&dir, Options::default())
        .with_context(|| format!("cannot open the data directory {}", dir.display()))?;
    if report.cut_at.is_some() && !matches!(args.action, KvAction::Recover) {
        eprintln!(
            "warning: {}: the log was damaged ({}); it was cut at byte {} ({} bytes dropped, {} incomplete transactions discarded)",
            dir.display(),
            report.damage.as_deref().unwrap_or("unknown"),
            report.cut_at.unwrap_or(0),
            report.bytes_cut,
            report.incomplete
        );
    }
    let out = |v: serde_json::Value, text: String| {
        if args.json {
            println!("{v}");
        } else {
            println!("{text}");
        }
    };
    let commit = |ops: Vec<(String, Option<String>)>, abort: bool| -> anyhow::Result<()> {
        let mut t = store.begin();
        for (k, v) in &ops {
            match v {
                Some(v) => t.put(k.as_bytes(), v.as_bytes()),
                None => t.delete(k.as_bytes()),
            }
            .with_context(|| format!("key `{k}`"))?;
        }
        let id = t.id;
        if abort {
            store.abort(t)?;
            out(
                json!({"txn": id, "aborted": true, "writes": ops.len()}),
                format!("transaction {id} aborted ({} writes discarded)", ops.len()),
            );
        } else {
            let c = store.commit(t)?;
            out(
                json!({"txn": c.txn, "lsn": c.lsn, "writes": ops.len()}),
                format!("committed transaction {} ({} writes)", c.txn, ops.len()),
            );
        }
        Ok(())
    };
    match args.action {
        KvAction::Put { key, value } => commit(vec![(key, Some(value))], false)?,
        KvAction::Del { key } => commit(vec![(key, None)], false)?,
        KvAction::Txn { ops, abort } => commit(parse_ops(&ops)?, abort)?,
        KvAction::Get { key } => {
            let v = store.get(key.as_bytes());
            let text = v.as_ref().map(|v| String::from_utf8_lossy(v).into_owned());
            if args.json {
                println!(
                    "{}",
                    json!({"key": key, "found": v.is_some(), "value": text})
                );
            } else if let Some(t) = &text {
                println!("{t}");
            } else {
                eprintln!("{key}: not found");
            }
            return Ok(if v.is_some() { 0 } else { 1 });
        }
        KvAction::Scan { prefix, limit } => {
            print_scan(&store.scan(prefix.as_bytes(), limit), args.json)
        }
        KvAction::Rollback { txn, force } => {
            let c = store.rollback(txn, force)?;
            out(
                json!({"txn": c.txn, "lsn": c.lsn, "reverted": txn}),
                format!("transaction {txn} rolled back by transaction {}", c.txn),
            );
        }
        KvAction::Recover => out(serde_json::to_value(&report)?, recover_line(&dir, &report)),
        KvAction::Log { limit } => print_history(&store.history(limit), args.json),
    }
    Ok(0)
}

fn print_scan(entries: &[(Vec<u8>, Vec<u8>)], json: bool) {
    if json {
        let list: Vec<_> = entries
            .iter()
            .map(|(k, v)| {
                json!({"key": String::from_utf8_lossy(k), "value": String::from_utf8_lossy(v)})
            })
            .collect();
        println!("{}", json!({"count": list.len(), "entries": list}));
    } else {
        for (k, v) in entries {
            println!(
                "{}\t{}",
                String::from_utf8_lossy(k),
                String::from_utf8_lossy(v)
            );
        }
    }
}

/// What `lugh kv recover` found, in one line.
fn recover_line(dir: &std::path::Path, report: &lugh_kv::RecoveryReport) -> String {
    format!(
        "recovered {} in {:.1} ms: snapshot at LSN {}, {} log records, {} committed, {} aborted, {} incomplete discarded, {} keys{}",
        dir.display(),
        report.duration_ms,
        report.snapshot_lsn,
        report.log_records,
        report.committed,
        report.aborted,
        report.incomplete,
        report.keys,
        match report.cut_at {
            Some(at) => format!(
                "; log cut at byte {at} ({}, {} bytes dropped)",
                report.damage.as_deref().unwrap_or("damage"),
                report.bytes_cut
            ),
            None => "; log intact".into(),
        }
    )
}

/// `lugh kv log`: one line per transaction, newest first.
fn print_history(history: &[lugh_kv::TxnInfo], json: bool) {
    if json {
        println!("{}", json!({"transactions": history}));
        return;
    }
    for t in history {
        let what: Vec<String> = t
            .writes
            .iter()
            .map(|w| match &w.after {
                Some(v) => format!(
                    "put {}={}",
                    String::from_utf8_lossy(&w.key),
                    String::from_utf8_lossy(v)
                ),
                None => format!("del {}", String::from_utf8_lossy(&w.key)),
            })
            .collect();
        let mut line = format!("txn {:>6}  {}", t.txn, what.join(", "));
        if t.reverts != 0 {
            line.push_str(&format!("  (rolls back {})", t.reverts));
        }
        if t.reverted_by != 0 {
            line.push_str(&format!("  [rolled back by {}]", t.reverted_by));
        }
        println!("{line}");
    }
}
