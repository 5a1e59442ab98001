//! The on-disk record format shared by the write-ahead log and snapshots.
//!
//! A file starts with a 20-byte header: an 8-byte magic, the log sequence
//! number (LSN) of its first record (u64 LE) and a CRC32 of those 16 bytes.
//! Then frames: `len u32 LE | crc32 u32 LE | body`, where the CRC covers the
//! body and the body is a type byte, a transaction id (u64 LE) and the
//! record's fields. A record's LSN is the file's base LSN plus the frame's
//! offset after the header, so LSNs keep growing across log truncations.

use std::io::Write;

pub const HEADER_LEN: usize = 20;
pub const WAL_MAGIC: &[u8; 8] = b"LUGHWAL1";
pub const SNAP_MAGIC: &[u8; 8] = b"LUGHSNP1";

/// Keys up to 1 KiB, values up to 32 KiB.
pub const MAX_KEY: usize = 1024;
pub const MAX_VALUE: usize = 32 * 1024;

/// No frame is larger than an undo record of the largest key and value.
const MAX_BODY: usize = 1 + 8 + 2 + MAX_KEY + 1 + 4 + MAX_VALUE + 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Begin {
        txn: u64,
    },
    Put {
        txn: u64,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Delete {
        txn: u64,
        key: Vec<u8>,
    },
    /// The value `key` had before this transaction wrote it (`None`: absent).
    Undo {
        txn: u64,
        key: Vec<u8>,
        before: Option<Vec<u8>>,
    },
    /// `reverts`: the transaction this one rolled back (0 = none).
    Commit {
        txn: u64,
        reverts: u64,
    },
    Abort {
        txn: u64,
    },
    /// Snapshot only: one key and its value.
    Entry {
        key: Vec<u8>,
        value: Vec<u8>,
    },
    /// Snapshot only: a retained transaction (`reverted_by`, 0 = none);
    /// its writes follow as Undo + Put/Delete records with the same id.
    Txn {
        txn: u64,
        reverts: u64,
        reverted_by: u64,
    },
    /// Snapshot only: the end, with the next transaction id and counts.
    End {
        next_txn: u64,
        entries: u64,
    },
}

const BEGIN: u8 = 1;
const PUT: u8 = 2;
const DELETE: u8 = 3;
const COMMIT: u8 = 4;
const ABORT: u8 = 5;
const UNDO: u8 = 6;
const ENTRY: u8 = 16;
const TXN: u8 = 17;
const END: u8 = 18;

fn put_bytes16(b: &mut Vec<u8>, v: &[u8]) {
    b.extend_from_slice(&(v.len() as u16).to_le_bytes());
    b.extend_from_slice(v);
}

fn put_bytes32(b: &mut Vec<u8>, v: &[u8]) {
    b.extend_from_slice(&(v.len() as u32).to_le_bytes());
    b.extend_from_slice(v);
}

impl Record {
    /// Appends the record's frame to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[0; 8]);
        let (ty, id) = match self {
            Record::Begin { txn } => (BEGIN, *txn),
            Record::Put { txn, .. } => (PUT, *txn),
            Record::Delete { txn, .. } => (DELETE, *txn),
            Record::Undo { txn, .. } => (UNDO, *txn),
            Record::Commit { txn, .. } => (COMMIT, *txn),
            Record::Abort { txn } => (ABORT, *txn),
            Record::Entry { .. } => (ENTRY, 0),
            Record::Txn { txn, .. } => (TXN, *txn),
            Record::End { next_txn, .. } => (END, *next_txn),
        };
        out.push(ty);
        out.extend_from_slice(&id.to_le_bytes());
        match self {
            Record::Begin { .. } | Record::Abort { .. } => {}
            Record::Put { key, value, .. } | Record::Entry { key, value } => {
                put_bytes16(out, key);
                put_bytes32(out, value);
            }
            Record::Delete { key, .. } => put_bytes16(out, key),
            Record::Undo { key, before, .. } => {
                put_bytes16(out, key);
                match before {
                    Some(v) => {
                        out.push(1);
                        put_bytes32(out, v);
                    }
                    None => out.push(0),
                }
            }
            Record::Commit { reverts, .. } => out.extend_from_slice(&reverts.to_le_bytes()),
            Record::Txn {
                reverts,
                reverted_by,
                ..
            } => {
                out.extend_from_slice(&reverts.to_le_bytes());
                out.extend_from_slice(&reverted_by.to_le_bytes());
            }
            Record::End { entries, .. } => out.extend_from_slice(&entries.to_le_bytes()),
        }
        let body_len = (out.len() - start - 8) as u32;
        let crc = crc32fast::hash(&out[start + 8..]);
        out[start..start + 4].copy_from_slice(&body_len.to_le_bytes());
        out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode_into(&mut v);
        v
    }

    fn decode_body(b: &[u8]) -> Option<Record> {
        let mut c = Cursor { b, at: 0 };
        let ty = c.u8()?;
        let id = c.u64()?;
        let r = match ty {
            BEGIN => Record::Begin { txn: id },
            ABORT => Record::Abort { txn: id },
            PUT => Record::Put {
                txn: id,
                key: c.bytes16()?,
                value: c.bytes32()?,
            },
            ENTRY => Record::Entry {
                key: c.bytes16()?,
                value: c.bytes32()?,
            },
            DELETE => Record::Delete {
                txn: id,
                key: c.bytes16()?,
            },
            UNDO => {
                let key = c.bytes16()?;
                let before = match c.u8()? {
                    0 => None,
                    1 => Some(c.bytes32()?),
                    _ => return None,
                };
                Record::Undo {
                    txn: id,
                    key,
                    before,
                }
            }
            COMMIT => Record::Commit {
                txn: id,
                reverts: c.u64()?,
            },
            TXN => Record::Txn {
                txn: id,
                reverts: c.u64()?,
                reverted_by: c.u64()?,
            },
            END => Record::End {
                next_txn: id,
                entries: c.u64()?,
            },
            _ => return None,
        };
        (c.at == b.len()).then_some(r)
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let s = self.b.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn bytes16(&mut self) -> Option<Vec<u8>> {
        let n = u16::from_le_bytes(self.take(2)?.try_into().ok()?) as usize;
        if n > MAX_KEY {
            return None;
        }
        Some(self.take(n)?.to_vec())
    }
    fn bytes32(&mut self) -> Option<Vec<u8>> {
        let n = u32::from_le_bytes(self.take(4)?.try_into().ok()?) as usize;
        if n > MAX_VALUE {
            return None;
        }
        Some(self.take(n)?.to_vec())
    }
}

/// The file header for `magic` at `base` LSN.
pub fn header(magic: &[u8; 8], base: u64) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(magic);
    h[8..16].copy_from_slice(&base.to_le_bytes());
    let crc = crc32fast::hash(&h[..16]);
    h[16..].copy_from_slice(&crc.to_le_bytes());
    h
}

/// The base LSN of a file, if its header is intact and of kind `magic`.
pub fn read_header(magic: &[u8; 8], b: &[u8]) -> Option<u64> {
    let h = b.get(..HEADER_LEN)?;
    if &h[..8] != magic || crc32fast::hash(&h[..16]).to_le_bytes() != h[16..20] {
        return None;
    }
    Some(u64::from_le_bytes(h[8..16].try_into().ok()?))
}

/// Why reading frames stopped before the end of the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Damage {
    /// The last frame is cut short (a crash during a write).
    Truncated,
    /// A length beyond any valid frame.
    Length(u32),
    /// The checksum does not match the body.
    Checksum,
    /// The body is not a record.
    Malformed,
    /// Zeroed bytes where a record should be, with data after them.
    Hole,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Damage::Truncated => write!(f, "a record cut short"),
            Damage::Length(n) => write!(f, "an impossible record length ({n} bytes)"),
            Damage::Checksum => write!(f, "a checksum mismatch"),
            Damage::Malformed => write!(f, "a malformed record"),
            Damage::Hole => write!(f, "zeroed bytes followed by data"),
        }
    }
}

/// Frames from `b` (after the header); yields `(offset, end, record)` and,
/// at the first damage, stops with `Err((offset, damage))`.
pub struct Frames<'a> {
    b: &'a [u8],
    at: usize,
    done: bool,
}

impl<'a> Frames<'a> {
    pub fn new(b: &'a [u8], start: usize) -> Frames<'a> {
        Frames {
            b,
            at: start,
            done: false,
        }
    }
}

impl Iterator for Frames<'_> {
    type Item = Result<(usize, usize, Record), (usize, Damage)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.at >= self.b.len() {
            return None;
        }
        let at = self.at;
        let fail = |s: &mut Self, d| {
            s.done = true;
            Some(Err((at, d)))
        };
        let Some(head) = self.b.get(at..at + 8) else {
            return fail(self, Damage::Truncated);
        };
        if head == [0; 8] {
            // The log is preallocated with zeros: all zeros from here on is
            // its clean end; zeros with data after them are damage.
            self.done = true;
            if self.b[at..].iter().all(|&x| x == 0) {
                return None;
            }
            return Some(Err((at, Damage::Hole)));
        }
        let len = u32::from_le_bytes(head[..4].try_into().unwrap_or_default());
        let crc = u32::from_le_bytes(head[4..].try_into().unwrap_or_default());
        if len as usize > MAX_BODY || len < 9 {
            return fail(self, Damage::Length(len));
        }
        let Some(body) = self.b.get(at + 8..at + 8 + len as usize) else {
            return fail(self, Damage::Truncated);
        };
        if crc32fast::hash(body) != crc {
            return fail(self, Damage::Checksum);
        }
        let Some(r) = Record::decode_body(body) else {
            return fail(self, Damage::Malformed);
        };
        self.at = at + 8 + len as usize;
        Some(Ok((at, self.at, r)))
    }
}

/// The one way LughOS replaces a file (the store's snapshot and fresh log,
/// the scheduler's hand-off files): `bytes` go to a temporary file beside
/// `path`, which is fsync'd, renamed into place, and the directory
/// fsync'd. Readers see the old file or the new one; once this returns,
/// the new one survives a crash. A failed write leaves no temporary.
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn samples() -> Vec<Record> {
        vec![
            Record::Begin { txn: 1 },
            Record::Undo {
                txn: 1,
                key: b"k".to_vec(),
                before: None,
            },
            Record::Put {
                txn: 1,
                key: b"k".to_vec(),
                value: vec![7; 300],
            },
            Record::Undo {
                txn: 1,
                key: b"j".to_vec(),
                before: Some(b"old".to_vec()),
            },
            Record::Delete {
                txn: 1,
                key: b"j".to_vec(),
            },
            Record::Commit { txn: 1, reverts: 0 },
            Record::Abort { txn: 2 },
            Record::Entry {
                key: vec![],
                value: vec![],
            },
            Record::Txn {
                txn: 9,
                reverts: 3,
                reverted_by: 0,
            },
            Record::End {
                next_txn: 10,
                entries: 1,
            },
        ]
    }

    #[test]
    fn records_round_trip() {
        let mut b = Vec::new();
        for r in samples() {
            r.encode_into(&mut b);
        }
        let back: Vec<Record> = Frames::new(&b, 0).map(|r| r.unwrap().2).collect();
        assert_eq!(back, samples());
    }

    #[test]
    fn header_round_trips_and_rejects_damage() {
        let h = header(WAL_MAGIC, 12345);
        assert_eq!(read_header(WAL_MAGIC, &h), Some(12345));
        assert_eq!(read_header(SNAP_MAGIC, &h), None);
        let mut bad = h;
        bad[9] ^= 1;
        assert_eq!(read_header(WAL_MAGIC, &bad), None);
    }

    proptest! {
        /// Any damage stops the reader at or before the damaged frame, and
        /// every record it yields before that is one that was written.
        #[test]
        fn damage_stops_cleanly(pos in 0usize..2000, bit in 0u8..8, cut in 0usize..2000) {
            let mut b = Vec::new();
            let mut ends = Vec::new();
            for r in samples() {
                r.encode_into(&mut b);
                ends.push(b.len());
            }
            let pos = pos % b.len();
            b[pos] ^= 1 << bit;
            b.truncate(b.len() - cut % b.len());
            let mut good = 0;
            for item in Frames::new(&b, 0) {
                match item {
                    Ok((_, _, r)) => {
                        prop_assert_eq!(&r, &samples()[good]);
                        good += 1;
                    }
                    Err((at, _)) => {
                        prop_assert!(at <= pos || at <= b.len());
                        break;
                    }
                }
            }
            // No frame containing the flipped byte is accepted.
            let damaged_frame = ends.iter().position(|&e| e > pos).unwrap();
            prop_assert!(good <= damaged_frame);
        }
    }
}
