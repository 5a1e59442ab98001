//! The storage service: a [`Store`] behind a lugh endpoint. Requests are
//! lugh messages (MEDIUM priority, so they stay in order); each carries a
//! request id, and the answer is a `KvReply` with the same id.
//!
//! - `KvCommit`: `req u64 | n u32 | n × (tag u8: 1 put, 2 delete | klen
//!   u16 | key | [vlen u32 | value])`, a whole transaction; answered once
//!   its commit record is on disk (commits in flight share syncs).
//! - `KvGet`: `req u64 | klen u16 | key`; answered once every commit
//!   before it is durable, so no reader sees what a crash could undo.
//! - `KvRollback`: `req u64 | txn u64 | force u8`.
//!
//! A reply is `req u64 | status u8 | body`: status 0 = ok (body: the txn
//! id for commits and rollbacks, the value for gets), 1 = not found,
//! 2 = error (body: the message).

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::ipc::{Endpoint, IpcError, Sender};
use crate::msg::{Message, Op, Priority, Source};
use lugh_kv::{KvError, Options, Store};

/// The storage service's operations (`KV_BEGIN`, `KV_PUT`, `KV_DELETE` and
/// `KV_ABORT` name the steps a transaction is made of inside `KV_COMMIT`;
/// sent alone they are answered with an error).
pub const KV_BEGIN: Op = Op(32);
pub const KV_PUT: Op = Op(33);
pub const KV_DELETE: Op = Op(34);
pub const KV_COMMIT: Op = Op(35);
pub const KV_ABORT: Op = Op(36);
pub const KV_GET: Op = Op(37);
pub const KV_ROLLBACK: Op = Op(38);
/// The service's answer to a request.
pub const KV_REPLY: Op = Op(39);

/// Whether the storage service (or a client expecting its replies)
/// accepts `op`: the storage operations and the kernel's.
pub fn accepts(op: Op) -> bool {
    (KV_BEGIN.0..=KV_REPLY.0).contains(&op.0) || op.is_kernel()
}

/// The storage service's id in message sources.
pub const STORAGE_ID: u16 = 2;

pub const OK: u8 = 0;
pub const NOT_FOUND: u8 = 1;
pub const ERROR: u8 = 2;

/// One write of a transaction sent to the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnOp {
    Put(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
}

pub fn encode_commit(req: u64, ops: &[TxnOp]) -> Vec<u8> {
    let mut b = req.to_le_bytes().to_vec();
    b.extend_from_slice(&(ops.len() as u32).to_le_bytes());
    for op in ops {
        match op {
            TxnOp::Put(k, v) => {
                b.push(1);
                b.extend_from_slice(&(k.len() as u16).to_le_bytes());
                b.extend_from_slice(k);
                b.extend_from_slice(&(v.len() as u32).to_le_bytes());
                b.extend_from_slice(v);
            }
            TxnOp::Delete(k) => {
                b.push(2);
                b.extend_from_slice(&(k.len() as u16).to_le_bytes());
                b.extend_from_slice(k);
            }
        }
    }
    b
}

struct Rd<'a>(&'a [u8]);

impl<'a> Rd<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.take(2)?.try_into().ok()?))
    }
}

fn decode_commit(b: &[u8]) -> Option<(u64, Vec<TxnOp>)> {
    let mut r = Rd(b);
    let req = r.u64()?;
    let n = r.u32()? as usize;
    let mut ops = Vec::with_capacity(n.min(4096));
    for _ in 0..n {
        let tag = r.take(1)?[0];
        let kl = r.u16()? as usize;
        let k = r.take(kl)?.to_vec();
        ops.push(match tag {
            1 => {
                let vl = r.u32()? as usize;
                TxnOp::Put(k, r.take(vl)?.to_vec())
            }
            2 => TxnOp::Delete(k),
            _ => return None,
        });
    }
    r.0.is_empty().then_some((req, ops))
}

fn reply(req: u64, status: u8, body: &[u8]) -> Vec<u8> {
    let mut b = req.to_le_bytes().to_vec();
    b.push(status);
    b.extend_from_slice(body);
    b
}

/// Decodes a `KvReply` payload: the request id and the outcome.
pub fn decode_reply(b: &[u8]) -> Option<(u64, u8, Vec<u8>)> {
    let req = u64::from_le_bytes(b.get(..8)?.try_into().ok()?);
    Some((req, *b.get(8)?, b[9..].to_vec()))
}

/// Answers (reply payloads) each waiting for the log to be durable up to
/// an LSN, in order; and whether the service is closing.
type Queue = (VecDeque<(u64, Vec<u8>)>, bool);

struct Pending {
    q: Mutex<Queue>,
    cv: Condvar,
}

/// Runs the storage service until `stop`: opens `data`, listens at
/// `listen`, answers to `reply_to`.
pub fn serve(
    data: &Path,
    opts: Options,
    listen: &str,
    reply_to: &str,
    generation: u32,
    stop: Arc<AtomicBool>,
) -> Result<(), ServeError> {
    let (store, report) = Store::open(data, opts)?;
    tracing::debug!("storage recovered: {report:?}");
    let store = Arc::new(store);
    let ep = Endpoint::bind_accepting(listen, accepts)?;
    let out = Arc::new(Sender::connect(reply_to)?);
    let me = Source {
        service: STORAGE_ID,
        generation,
    };
    let pending = Arc::new(Pending {
        q: Mutex::new((VecDeque::new(), false)),
        cv: Condvar::new(),
    });
    // The syncer: one sync covers every commit written before it began.
    let syncer = {
        let (store, out, pending) = (store.clone(), out.clone(), pending.clone());
        std::thread::spawn(move || loop {
            let batch: Vec<(u64, Vec<u8>)> = {
                let mut g = pending.q.lock().unwrap_or_else(|e| e.into_inner());
                while g.0.is_empty() && !g.1 {
                    g = pending.cv.wait(g).unwrap_or_else(|e| e.into_inner());
                }
                if g.0.is_empty() {
                    return;
                }
                g.0.drain(..).collect()
            };
            let upto = batch.iter().map(|(l, _)| *l).max().unwrap_or(0);
            let ok = store.sync_to(upto);
            for (_, body) in batch {
                let body = match &ok {
                    Ok(()) => body,
                    Err(e) => {
                        let req = u64::from_le_bytes(body[..8].try_into().unwrap_or_default());
                        reply(req, ERROR, e.to_string().as_bytes())
                    }
                };
                let _ = out.send(&Message::new(Priority::Medium, KV_REPLY, me, 0, body));
            }
        })
    };
    let defer = |lsn: u64, body: Vec<u8>| {
        let mut g = pending.q.lock().unwrap_or_else(|e| e.into_inner());
        g.0.push_back((lsn, body));
        pending.cv.notify_one();
    };
    let now = |body: Vec<u8>| {
        let _ = out.send(&Message::new(Priority::Medium, KV_REPLY, me, 0, body));
    };
    while !stop.load(Ordering::SeqCst) {
        let Some(a) = ep.recv(Duration::from_millis(20)) else {
            continue;
        };
        let m = a.message;
        let req = m
            .payload
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
            .unwrap_or(0);
        match m.header.op {
            KV_COMMIT => {
                let Some((req, ops)) = decode_commit(&m.payload) else {
                    now(reply(req, ERROR, b"malformed commit request"));
                    continue;
                };
                let mut t = store.begin();
                let built = ops.iter().try_for_each(|op| match op {
                    TxnOp::Put(k, v) => t.put(k, v),
                    TxnOp::Delete(k) => t.delete(k),
                });
                let r = built.and_then(|()| store.commit_nowait(t));
                match r {
                    Ok(c) => defer(c.lsn, reply(req, OK, &c.txn.to_le_bytes())),
                    Err(e) => now(reply(req, ERROR, e.to_string().as_bytes())),
                }
            }
            KV_GET => {
                let mut r = Rd(&m.payload[m.payload.len().min(8)..]);
                let key = r.u16().and_then(|n| r.take(n as usize)).map(<[u8]>::to_vec);
                let Some(key) = key else {
                    now(reply(req, ERROR, b"malformed get request"));
                    continue;
                };
                let body = match store.get(&key) {
                    Some(v) => reply(req, OK, &v),
                    None => reply(req, NOT_FOUND, b""),
                };
                defer(store.end_lsn(), body);
            }
            KV_ROLLBACK => {
                let mut r = Rd(&m.payload[m.payload.len().min(8)..]);
                let (Some(txn), Some(force)) = (r.u64(), r.take(1).map(|b| b[0] != 0)) else {
                    now(reply(req, ERROR, b"malformed rollback request"));
                    continue;
                };
                match store.rollback(txn, force) {
                    Ok(c) => now(reply(req, OK, &c.txn.to_le_bytes())),
                    Err(e) => now(reply(req, ERROR, e.to_string().as_bytes())),
                }
            }
            Op::HEARTBEAT => {
                now(reply(req, OK, b""));
            }
            _ => now(reply(
                req,
                ERROR,
                b"unsupported storage operation (use KvCommit, KvGet or KvRollback)",
            )),
        }
    }
    pending.q.lock().unwrap_or_else(|e| e.into_inner()).1 = true;
    pending.cv.notify_all();
    let _ = syncer.join();
    ep.close();
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Kv(#[from] KvError),
    #[error(transparent)]
    Ipc(#[from] IpcError),
}

/// A client of the storage service: sends requests, matches replies.
pub struct Client {
    ep: Endpoint,
    tx: Sender,
    next: u64,
    me: Source,
    early: Vec<(u64, u8, Vec<u8>)>,
}

/// What the service answered.
pub type Answer = (u8, Vec<u8>);

impl Client {
    /// Listens at `listen` for replies and sends to the service at `service`.
    pub fn connect(listen: &str, service: &str) -> Result<Client, IpcError> {
        Ok(Client {
            ep: Endpoint::bind_accepting(listen, accepts)?,
            tx: Sender::connect(service)?,
            next: 1,
            me: Source {
                service: 0,
                generation: 1,
            },
            early: Vec::new(),
        })
    }

    fn send(&mut self, op: Op, body: impl FnOnce(u64) -> Vec<u8>) -> Result<u64, IpcError> {
        let req = self.next;
        self.next += 1;
        self.tx
            .send(&Message::new(Priority::Medium, op, self.me, 0, body(req)))?;
        Ok(req)
    }

    /// Sends from now on to another service address (a restarted
    /// generation); replies keep arriving at this client's endpoint.
    pub fn redirect(&mut self, service: &str) -> Result<(), IpcError> {
        self.tx = Sender::connect(service)?;
        Ok(())
    }

    /// Sends a transaction without waiting; returns the request id.
    pub fn send_commit(&mut self, ops: &[TxnOp]) -> Result<u64, IpcError> {
        self.send(KV_COMMIT, |req| encode_commit(req, ops))
    }

    pub fn send_get(&mut self, key: &[u8]) -> Result<u64, IpcError> {
        self.send(KV_GET, |req| {
            let mut b = req.to_le_bytes().to_vec();
            b.extend_from_slice(&(key.len() as u16).to_le_bytes());
            b.extend_from_slice(key);
            b
        })
    }

    pub fn send_rollback(&mut self, txn: u64, force: bool) -> Result<u64, IpcError> {
        self.send(KV_ROLLBACK, |req| {
            let mut b = req.to_le_bytes().to_vec();
            b.extend_from_slice(&txn.to_le_bytes());
            b.push(force as u8);
            b
        })
    }

    /// The next reply, whichever request it answers.
    pub fn next_reply(&mut self, timeout: Duration) -> Option<(u64, u8, Vec<u8>)> {
        if !self.early.is_empty() {
            return Some(self.early.remove(0));
        }
        self.recv_reply(Instant::now() + timeout)
    }

    /// Waits for the reply to `req`; others that arrive first are kept.
    pub fn wait(&mut self, req: u64, timeout: Duration) -> Option<Answer> {
        if let Some(i) = self.early.iter().position(|r| r.0 == req) {
            let r = self.early.remove(i);
            return Some((r.1, r.2));
        }
        let deadline = Instant::now() + timeout;
        loop {
            let r = self.recv_reply(deadline)?;
            if r.0 == req {
                return Some((r.1, r.2));
            }
            self.early.push(r);
        }
    }

    /// The next well-formed `KvReply` off the endpoint, until `deadline`.
    fn recv_reply(&mut self, deadline: Instant) -> Option<(u64, u8, Vec<u8>)> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let a = self.ep.recv(left)?;
            if a.message.header.op == KV_REPLY {
                if let Some(r) = decode_reply(&a.message.payload) {
                    return Some(r);
                }
            }
            if left.is_zero() {
                return None;
            }
        }
    }

    /// Commits and waits: the transaction id, or the service's error.
    pub fn commit(&mut self, ops: &[TxnOp], timeout: Duration) -> Result<u64, String> {
        let req = self.send_commit(ops).map_err(|e| e.to_string())?;
        match self.wait(req, timeout) {
            Some((OK, b)) if b.len() == 8 => {
                Ok(u64::from_le_bytes(b.try_into().unwrap_or_default()))
            }
            Some((_, b)) => Err(String::from_utf8_lossy(&b).into_owned()),
            None => Err("no answer from the storage service".into()),
        }
    }

    pub fn get(&mut self, key: &[u8], timeout: Duration) -> Result<Option<Vec<u8>>, String> {
        let req = self.send_get(key).map_err(|e| e.to_string())?;
        match self.wait(req, timeout) {
            Some((OK, b)) => Ok(Some(b)),
            Some((NOT_FOUND, _)) => Ok(None),
            Some((_, b)) => Err(String::from_utf8_lossy(&b).into_owned()),
            None => Err("no answer from the storage service".into()),
        }
    }
}
