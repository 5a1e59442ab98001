//! The kernel's side of one service: numbered priority streams and the
//! messages not yet acknowledged, replayed to a new instance after a swap
//! or a restart.

use std::collections::BTreeMap;

use crate::ipc::{IpcError, Sender};
use crate::msg::{Message, Op, Priority, Source};

/// The kernel's side of one service: numbered streams and the messages not
/// yet acknowledged.
pub struct Channel {
    sender: Sender,
    source: Source,
    next: [u64; 3],
    unacked: [BTreeMap<u64, Message>; 3],
}

impl Channel {
    pub fn connect(service_url: &str, source: Source) -> Result<Channel, IpcError> {
        Ok(Channel {
            sender: Sender::connect(service_url)?,
            source,
            next: [1; 3],
            unacked: Default::default(),
        })
    }

    /// Numbers, remembers and sends a message; returns its sequence number.
    pub fn send(&mut self, p: Priority, op: Op, payload: Vec<u8>) -> Result<u64, IpcError> {
        let i = p.index();
        let seq = self.next[i];
        self.next[i] += 1;
        let m = Message::new(p, op, self.source, seq, payload);
        self.sender.send(&m)?;
        self.unacked[i].insert(seq, m);
        Ok(seq)
    }

    /// Points the channel at another instance's address. The old sockets
    /// close; whatever they still held is unacknowledged and is replayed to
    /// the new instance.
    pub fn redirect(&mut self, service_url: &str) -> Result<(), IpcError> {
        self.sender = Sender::connect(service_url)?;
        Ok(())
    }

    /// An unnumbered control message (swap requests).
    pub fn control(&self, op: Op, payload: Vec<u8>) -> Result<(), IpcError> {
        self.sender
            .send(&Message::new(Priority::High, op, self.source, 0, payload))
    }

    /// Everything up to `ack` in stream `p` has been processed.
    pub fn acknowledge(&mut self, p: Priority, ack: u64) {
        let q = &mut self.unacked[p.index()];
        while let Some((&seq, _)) = q.first_key_value() {
            if seq > ack {
                break;
            }
            q.pop_first();
        }
    }

    /// Sends every unacknowledged message again, in order.
    pub fn replay(&self) -> Result<usize, IpcError> {
        let mut n = 0;
        for q in &self.unacked {
            for m in q.values() {
                self.sender.send(m)?;
                n += 1;
            }
        }
        Ok(n)
    }

    pub fn unacked(&self) -> usize {
        self.unacked.iter().map(BTreeMap::len).sum()
    }
}
