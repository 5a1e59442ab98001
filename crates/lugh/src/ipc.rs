//! Endpoints over real NNG: each receiver listens on one pull socket per
//! priority (deep buffers); an asynchronous receive per socket decodes
//! into the endpoint's [`Inbox`] from NNG's own completion callback (no
//! thread of ours in between: a blocking `recv` per message cost 50 µs here,
//! the callback 4 µs); senders push to the socket of the message's priority.
//! The same code takes `inproc://`, `ipc://` and `tcp://`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use nng::options::{Options, ReconnectMaxTime, ReconnectMinTime, RecvBufferSize, SendBufferSize};
use nng::{Aio, AioResult, Protocol, Socket};

use crate::inbox::{Arrival, Inbox};
use crate::msg::{DecodeError, Message, Op, Priority};

/// NNG's largest socket buffer, in messages.
pub const BUFFER: i32 = 8192;

#[derive(Debug, thiserror::Error)]
pub enum IpcError {
    #[error("{url}: {source}")]
    Nng { url: String, source: nng::Error },
    #[error("payload of {0} bytes is over the 64 KiB limit")]
    TooLarge(usize),
    #[error("{0}: unsupported URL (use inproc://, ipc:// or tcp://host:port)")]
    Url(String),
}

fn nng_err(url: &str) -> impl Fn(nng::Error) -> IpcError + '_ {
    move |source| IpcError::Nng {
        url: url.to_string(),
        source,
    }
}

/// The URL of one priority's socket: a suffix for inproc/ipc, the next
/// ports for tcp (`tcp://h:7000` → 7000, 7001, 7002).
pub fn priority_url(base: &str, p: Priority) -> Result<String, IpcError> {
    if base.starts_with("inproc://") || base.starts_with("ipc://") {
        return Ok(format!("{base}.{}", p.name()));
    }
    if let Some(rest) = base.strip_prefix("tcp://") {
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| IpcError::Url(base.into()))?;
        let port: u16 = port.parse().map_err(|_| IpcError::Url(base.into()))?;
        let port = port
            .checked_add(p.index() as u16)
            .ok_or_else(|| IpcError::Url(base.into()))?;
        return Ok(format!("tcp://{host}:{port}"));
    }
    Err(IpcError::Url(base.into()))
}

/// A receiving endpoint.
pub struct Endpoint {
    pub inbox: Arc<Inbox>,
    sockets: Vec<Socket>,
    aios: Vec<Aio>,
    closing: Arc<AtomicBool>,
}

impl Endpoint {
    /// Listens on the three priority sockets of `base`, for messages of any
    /// operation (tools, tests and benchmarks).
    pub fn bind(base: &str) -> Result<Endpoint, IpcError> {
        Endpoint::bind_accepting(base, |_| true)
    }

    /// Listens on the three priority sockets of `base`, for the operations
    /// `accepts` declares (the endpoint's owner's and the kernel's): any
    /// other is rejected and counted like a corrupt message.
    pub fn bind_accepting(base: &str, accepts: fn(Op) -> bool) -> Result<Endpoint, IpcError> {
        let mut urls = Vec::new();
        for p in Priority::ALL {
            urls.push(priority_url(base, p)?);
        }
        Endpoint::listen(&urls, Arc::new(Inbox::new()), accepts)
    }

    /// One socket for every priority, drained in arrival order: the FIFO
    /// the benchmarks compare against.
    pub fn bind_fifo(base: &str) -> Result<Endpoint, IpcError> {
        Endpoint::listen(&[base.to_string()], Arc::new(Inbox::fifo()), |_| true)
    }

    fn listen(
        urls: &[String],
        inbox: Arc<Inbox>,
        accepts: fn(Op) -> bool,
    ) -> Result<Endpoint, IpcError> {
        let mut sockets = Vec::new();
        let mut aios = Vec::new();
        let closing = Arc::new(AtomicBool::new(false));
        for url in urls {
            let s = Socket::new(Protocol::Pull0).map_err(nng_err(url))?;
            s.set_opt::<RecvBufferSize>(BUFFER).map_err(nng_err(url))?;
            s.listen(url).map_err(nng_err(url))?;
            let rx = s.clone();
            let inbox = inbox.clone();
            let stop = closing.clone();
            let aio = Aio::new(move |aio, res| {
                if let AioResult::Recv(Ok(m)) = res {
                    let decoded = Message::decode(&m).and_then(|msg| {
                        if accepts(msg.header.op) {
                            Ok(msg)
                        } else {
                            Err(DecodeError::Op(msg.header.op.0))
                        }
                    });
                    match decoded {
                        Ok(msg) => inbox.push(msg),
                        Err(e) => {
                            inbox.rejected.fetch_add(1, Ordering::Relaxed);
                            tracing::debug!("rejected message: {e}");
                        }
                    }
                    // Re-arm, unless the endpoint is closing.
                    if !stop.load(Ordering::SeqCst) {
                        let _ = rx.recv_async(&aio);
                    }
                }
            })
            .map_err(nng_err(url))?;
            s.recv_async(&aio).map_err(nng_err(url))?;
            aios.push(aio);
            sockets.push(s);
        }
        Ok(Endpoint {
            inbox,
            sockets,
            aios,
            closing,
        })
    }

    pub fn recv(&self, timeout: Duration) -> Option<Arrival> {
        self.inbox.pop(timeout)
    }

    /// Closes the sockets and releases the receive contexts (also done on
    /// drop).
    pub fn close(self) {}
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        // No callback re-arms once `closing` is seen; closing the sockets
        // ends the pending receives. Waiting twice covers a callback that
        // re-armed just before it saw the flag, so no callback is running
        // (and none can free its own context) when the contexts are freed.
        self.closing.store(true, Ordering::SeqCst);
        for s in &self.sockets {
            s.close();
        }
        for _ in 0..2 {
            for a in &self.aios {
                a.cancel();
                a.wait();
            }
        }
        self.inbox.close();
    }
}

/// A sending side: one push socket per priority, dialled to an endpoint.
pub struct Sender {
    sockets: Vec<Socket>,
}

impl Sender {
    pub fn connect(base: &str) -> Result<Sender, IpcError> {
        let mut urls = Vec::new();
        for p in Priority::ALL {
            urls.push(priority_url(base, p)?);
        }
        Sender::dial(&urls)
    }

    /// One socket for all priorities (the FIFO comparison).
    pub fn connect_fifo(base: &str) -> Result<Sender, IpcError> {
        Sender::dial(&[base.to_string()])
    }

    fn dial(urls: &[String]) -> Result<Sender, IpcError> {
        let mut sockets = Vec::new();
        for url in urls {
            let s = Socket::new(Protocol::Push0).map_err(nng_err(url))?;
            s.set_opt::<SendBufferSize>(BUFFER).map_err(nng_err(url))?;
            // A restarted or swapped peer is reached again within milliseconds.
            s.set_opt::<ReconnectMinTime>(Some(Duration::from_millis(1)))
                .map_err(nng_err(url))?;
            s.set_opt::<ReconnectMaxTime>(Some(Duration::from_millis(10)))
                .map_err(nng_err(url))?;
            // Non-blocking: a peer that is not up yet (or restarting) is
            // reached as soon as it listens; messages wait in the buffer.
            s.dial_async(url).map_err(nng_err(url))?;
            sockets.push(s);
        }
        Ok(Sender { sockets })
    }

    /// Sends on the socket of the message's priority; blocks while the
    /// peer's buffers are full (back-pressure, never a drop).
    pub fn send(&self, m: &Message) -> Result<(), IpcError> {
        let bytes = m.encode().map_err(|e| IpcError::TooLarge(e.0))?;
        self.send_raw(m.header.priority, &bytes)
    }

    /// Sends bytes as they are (tests use it for corrupt messages).
    pub fn send_raw(&self, p: Priority, bytes: &[u8]) -> Result<(), IpcError> {
        let s = &self.sockets[if self.sockets.len() == 1 {
            0
        } else {
            p.index()
        }];
        s.send(bytes).map_err(|(_, e)| IpcError::Nng {
            url: "send".into(),
            source: e,
        })
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        for s in &self.sockets {
            s.close();
        }
    }
}
