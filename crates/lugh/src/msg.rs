//! The message format: a fixed 36-byte little-endian header, then up to
//! 64 KiB of payload, protected by a CRC32 over both.
//!
//! ```text
//!  0..2   magic "LG"          12..20  sequence number (u64)
//!  2      version (1)         20..28  acknowledgement (u64)
//!  3      priority 0..=2      28..32  payload length (u32)
//!  4..6   operation (u16)     32..36  CRC32 of bytes 0..32 and the payload
//!  6..8   source service (u16)
//!  8..12  source generation (u32)
//! ```

use std::fmt;

pub const MAGIC: [u8; 2] = *b"LG";
pub const VERSION: u8 = 1;
pub const HEADER_LEN: usize = 36;
pub const MAX_PAYLOAD: usize = 64 * 1024;

/// Delivery priority: HIGH before MEDIUM before LOW.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Priority {
    High = 0,
    Medium = 1,
    Low = 2,
}

impl Priority {
    pub const ALL: [Priority; 3] = [Priority::High, Priority::Medium, Priority::Low];

    pub fn from_u8(v: u8) -> Option<Priority> {
        match v {
            0 => Some(Priority::High),
            1 => Some(Priority::Medium),
            2 => Some(Priority::Low),
            _ => None,
        }
    }
    pub fn index(self) -> usize {
        self as usize
    }
    pub fn name(self) -> &'static str {
        match self {
            Priority::High => "high",
            Priority::Medium => "medium",
            Priority::Low => "low",
        }
    }
}

/// An operation code. The wire format carries it without reading it: the
/// kernel's own protocol is the constants below, every service declares
/// its own (`services::scheduler`, `services::storage`), and an endpoint
/// bound for an owner accepts only the codes that owner declares (see
/// `ipc::Endpoint::bind_accepting`). Adding a service touches no file of
/// the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Op(pub u16);

impl Op {
    /// A service's heartbeat (payload: its sealed checkpoint, or empty).
    pub const HEARTBEAT: Op = Op(4);
    /// Kernel to service: stop at a message boundary and hand over.
    /// Service to kernel: hello from a new instance (payload: the next
    /// sequence number expected per stream).
    pub const SWAP: Op = Op(5);
    /// A service asks for memory or gives it back (payload: `MemoryOp`).
    pub const MEMORY_REQUEST: Op = Op(6);
    /// A service acknowledges messages up to a sequence number.
    pub const ACK: Op = Op(7);
    /// The addressee's generation is dead (it was restarted).
    pub const DEAD: Op = Op(8);
    /// An error, or a fault injected by a test or `lugh ctl`.
    pub const ERROR: Op = Op(9);
    /// A round trip for the IPC benchmark.
    pub const ECHO: Op = Op(10);
    /// The kernel's answer to a memory request: granted (payload: bytes
    /// now held, u64 LE).
    pub const MEMORY_GRANT: Op = Op(11);
    /// The kernel's answer to a memory request over quota (payload: why).
    pub const MEMORY_REFUSED: Op = Op(12);

    /// The kernel's own operations.
    pub const KERNEL: [Op; 9] = [
        Op::HEARTBEAT,
        Op::SWAP,
        Op::MEMORY_REQUEST,
        Op::ACK,
        Op::DEAD,
        Op::ERROR,
        Op::ECHO,
        Op::MEMORY_GRANT,
        Op::MEMORY_REFUSED,
    ];

    /// Whether this is one of the kernel's own operations.
    pub fn is_kernel(self) -> bool {
        Op::KERNEL.contains(&self)
    }
}

/// Who sent a message: a service id and the generation of its instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Source {
    pub service: u16,
    pub generation: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub priority: Priority,
    pub op: Op,
    pub source: Source,
    pub seq: u64,
    pub ack: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub header: Header,
    pub payload: Vec<u8>,
}

/// Why bytes are not a message. Every variant is counted and the message
/// dropped; none is fatal to the receiver.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("message of {0} bytes is shorter than the {HEADER_LEN}-byte header")]
    Truncated(usize),
    #[error("bad magic {0:02x?}")]
    BadMagic([u8; 2]),
    #[error("unsupported version {0}")]
    Version(u8),
    #[error("invalid priority {0}")]
    Priority(u8),
    /// An operation the receiving endpoint's owner does not declare.
    #[error("unknown operation {0}")]
    Op(u16),
    #[error("payload of {0} bytes exceeds {MAX_PAYLOAD}")]
    TooLarge(usize),
    #[error("payload length {declared} does not match the {actual} bytes received")]
    Length { declared: usize, actual: usize },
    #[error("checksum mismatch (header says {declared:08x}, content is {actual:08x})")]
    Checksum { declared: u32, actual: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("payload of {0} bytes exceeds {MAX_PAYLOAD}")]
pub struct TooLarge(pub usize);

fn crc(head: &[u8], payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(head);
    h.update(payload);
    h.finalize()
}

impl Message {
    pub fn new(priority: Priority, op: Op, source: Source, seq: u64, payload: Vec<u8>) -> Message {
        Message {
            header: Header {
                priority,
                op,
                source,
                seq,
                ack: 0,
            },
            payload,
        }
    }

    /// The wire form. Fails only for a payload over 64 KiB.
    pub fn encode(&self) -> Result<Vec<u8>, TooLarge> {
        if self.payload.len() > MAX_PAYLOAD {
            return Err(TooLarge(self.payload.len()));
        }
        let h = &self.header;
        let mut b = Vec::with_capacity(HEADER_LEN + self.payload.len());
        b.extend_from_slice(&MAGIC);
        b.push(VERSION);
        b.push(h.priority as u8);
        b.extend_from_slice(&h.op.0.to_le_bytes());
        b.extend_from_slice(&h.source.service.to_le_bytes());
        b.extend_from_slice(&h.source.generation.to_le_bytes());
        b.extend_from_slice(&h.seq.to_le_bytes());
        b.extend_from_slice(&h.ack.to_le_bytes());
        b.extend_from_slice(&(self.payload.len() as u32).to_le_bytes());
        let c = crc(&b, &self.payload);
        b.extend_from_slice(&c.to_le_bytes());
        b.extend_from_slice(&self.payload);
        Ok(b)
    }

    /// Parses and verifies bytes; never panics on any input.
    pub fn decode(b: &[u8]) -> Result<Message, DecodeError> {
        if b.len() < HEADER_LEN {
            return Err(DecodeError::Truncated(b.len()));
        }
        let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let u64_at = |i: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[i..i + 8]);
            u64::from_le_bytes(a)
        };
        if b[0..2] != MAGIC {
            return Err(DecodeError::BadMagic([b[0], b[1]]));
        }
        if b[2] != VERSION {
            return Err(DecodeError::Version(b[2]));
        }
        let len = u32_at(28) as usize;
        if len > MAX_PAYLOAD {
            return Err(DecodeError::TooLarge(len));
        }
        let actual = b.len() - HEADER_LEN;
        if len != actual {
            return Err(DecodeError::Length {
                declared: len,
                actual,
            });
        }
        let declared = u32_at(32);
        let got = crc(&b[..32], &b[HEADER_LEN..]);
        if declared != got {
            return Err(DecodeError::Checksum {
                declared,
                actual: got,
            });
        }
        let priority = Priority::from_u8(b[3]).ok_or(DecodeError::Priority(b[3]))?;
        let op = Op(u16_at(4));
        Ok(Message {
            header: Header {
                priority,
                op,
                source: Source {
                    service: u16_at(6),
                    generation: u32_at(8),
                },
                seq: u64_at(12),
                ack: u64_at(20),
            },
            payload: b[HEADER_LEN..].to_vec(),
        })
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = &self.header;
        write!(
            f,
            "op {} {} from {}#{} seq {} ack {} ({} bytes)",
            h.op.0,
            h.priority.name(),
            h.source.service,
            h.source.generation,
            h.seq,
            h.ack,
            self.payload.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Message {
        let mut m = Message::new(
            Priority::Medium,
            Op(1),
            Source {
                service: 3,
                generation: 7,
            },
            42,
            b"task".to_vec(),
        );
        m.header.ack = 41;
        m
    }

    #[test]
    fn round_trip_and_limits() {
        let m = sample();
        let b = m.encode().unwrap();
        assert_eq!(b.len(), HEADER_LEN + 4);
        assert_eq!(Message::decode(&b).unwrap(), m);
        let big = Message::new(
            Priority::Low,
            Op(33),
            Source::default(),
            0,
            vec![0; MAX_PAYLOAD + 1],
        );
        assert_eq!(big.encode(), Err(TooLarge(MAX_PAYLOAD + 1)));
        let max = Message::new(
            Priority::Low,
            Op(33),
            Source::default(),
            0,
            vec![7; MAX_PAYLOAD],
        );
        assert_eq!(Message::decode(&max.encode().unwrap()).unwrap(), max);
    }

    #[test]
    fn corruption_is_detected() {
        let b = sample().encode().unwrap();
        let mut bad = b.clone();
        bad[HEADER_LEN] ^= 1;
        assert!(matches!(
            Message::decode(&bad),
            Err(DecodeError::Checksum { .. })
        ));
        let mut bad = b.clone();
        bad[13] ^= 0x80;
        assert!(matches!(
            Message::decode(&bad),
            Err(DecodeError::Checksum { .. })
        ));
        assert_eq!(Message::decode(&b[..10]), Err(DecodeError::Truncated(10)));
        assert!(matches!(
            Message::decode(&b[..b.len() - 1]),
            Err(DecodeError::Length { .. })
        ));
    }

    proptest! {
        // The decoder takes any bytes without panicking.
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Message::decode(&bytes);
        }

        // Any single flipped bit of a valid message is rejected.
        #[test]
        fn every_bit_flip_is_rejected(payload in proptest::collection::vec(any::<u8>(), 0..300), bit in 0usize..10_000) {
            let m = Message::new(Priority::High, Op(3), Source { service: 1, generation: 2 }, 9, payload);
            let mut b = m.encode().unwrap();
            let bit = bit % (b.len() * 8);
            b[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(Message::decode(&b).is_err());
        }

        #[test]
        fn round_trips(prio in 0u8..3, seq in any::<u64>(), ack in any::<u64>(), service in any::<u16>(), generation in any::<u32>(), payload in proptest::collection::vec(any::<u8>(), 0..1000)) {
            let mut m = Message::new(Priority::from_u8(prio).unwrap(), Op(2), Source { service, generation }, seq, payload);
            m.header.ack = ack;
            prop_assert_eq!(Message::decode(&m.encode().unwrap()).unwrap(), m);
        }
    }
}
