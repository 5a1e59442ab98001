//! Memory accounting: services ask the kernel for memory through IPC; each
//! has a quota, and a request over it is refused with an error, never a
//! crash.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MemoryError {
    #[error("service {service} asked for {requested} bytes with {used} of its {quota}-byte quota in use")]
    OverQuota {
        service: u16,
        requested: u64,
        used: u64,
        quota: u64,
    },
    #[error("malformed memory request ({0} bytes; expected a tag byte and a u64)")]
    Malformed(usize),
    #[error("service {0} has no memory quota")]
    Unknown(u16),
    #[error("service {service} released {released} bytes but holds {used}")]
    OverRelease {
        service: u16,
        released: u64,
        used: u64,
    },
}

/// The payload of an [`Op::MEMORY_REQUEST`](crate::msg::Op::MEMORY_REQUEST):
/// one tag byte (1 = request, 2 = release) and a byte count (u64 LE). A
/// request is answered with `MemoryGrant` or `MemoryRefused`; a release is
/// not answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryOp {
    Request(u64),
    Release(u64),
}

impl MemoryOp {
    pub fn encode(self) -> Vec<u8> {
        let (tag, n) = match self {
            MemoryOp::Request(n) => (1u8, n),
            MemoryOp::Release(n) => (2u8, n),
        };
        let mut b = vec![tag];
        b.extend_from_slice(&n.to_le_bytes());
        b
    }

    pub fn decode(b: &[u8]) -> Option<MemoryOp> {
        let n = u64::from_le_bytes(b.get(1..9)?.try_into().ok()?);
        match b.first()? {
            1 => Some(MemoryOp::Request(n)),
            2 => Some(MemoryOp::Release(n)),
            _ => None,
        }
    }
}

#[derive(Debug, Default, Clone)]
pub struct Accounts {
    quota: BTreeMap<u16, u64>,
    used: BTreeMap<u16, u64>,
    /// Requests refused so far.
    pub refused: u64,
}

impl Accounts {
    pub fn set_quota(&mut self, service: u16, bytes: u64) {
        self.quota.insert(service, bytes);
        self.used.entry(service).or_insert(0);
    }

    pub fn request(&mut self, service: u16, bytes: u64) -> Result<u64, MemoryError> {
        let quota = *self
            .quota
            .get(&service)
            .ok_or(MemoryError::Unknown(service))?;
        let used = self.used.entry(service).or_insert(0);
        if used.saturating_add(bytes) > quota {
            self.refused += 1;
            return Err(MemoryError::OverQuota {
                service,
                requested: bytes,
                used: *used,
                quota,
            });
        }
        *used += bytes;
        Ok(*used)
    }

    pub fn release(&mut self, service: u16, bytes: u64) -> Result<u64, MemoryError> {
        let used = self
            .used
            .get_mut(&service)
            .ok_or(MemoryError::Unknown(service))?;
        if bytes > *used {
            return Err(MemoryError::OverRelease {
                service,
                released: bytes,
                used: *used,
            });
        }
        *used -= bytes;
        Ok(*used)
    }

    /// A restarted service starts from nothing.
    pub fn reset(&mut self, service: u16) {
        if let Some(u) = self.used.get_mut(&service) {
            *u = 0;
        }
    }

    pub fn used(&self, service: u16) -> u64 {
        self.used.get(&service).copied().unwrap_or(0)
    }

    pub fn quota(&self, service: u16) -> u64 {
        self.quota.get(&service).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_ops_round_trip_and_reject_garbage() {
        for op in [MemoryOp::Request(4096), MemoryOp::Release(u64::MAX)] {
            assert_eq!(MemoryOp::decode(&op.encode()), Some(op));
        }
        assert_eq!(MemoryOp::decode(&[]), None);
        assert_eq!(MemoryOp::decode(&[1, 2, 3]), None);
        assert_eq!(MemoryOp::decode(&[9, 0, 0, 0, 0, 0, 0, 0, 0]), None);
    }

    #[test]
    fn quota_is_enforced_without_side_effects() {
        let mut a = Accounts::default();
        a.set_quota(1, 1000);
        assert_eq!(a.request(1, 600), Ok(600));
        assert_eq!(
            a.request(1, 500),
            Err(MemoryError::OverQuota {
                service: 1,
                requested: 500,
                used: 600,
                quota: 1000
            })
        );
        assert_eq!(a.used(1), 600, "a refused request changes nothing");
        assert_eq!(a.refused, 1);
        assert_eq!(a.request(1, 400), Ok(1000));
        assert_eq!(a.release(1, 1000), Ok(0));
        assert!(matches!(
            a.release(1, 1),
            Err(MemoryError::OverRelease { .. })
        ));
        assert_eq!(a.request(9, 1), Err(MemoryError::Unknown(9)));
        assert_eq!(
            a.request(1, u64::MAX),
            Err(MemoryError::OverQuota {
                service: 1,
                requested: u64::MAX,
                used: 0,
                quota: 1000
            })
        );
    }
}
