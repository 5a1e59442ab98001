//! Schedulers behind one trait: round-robin (time slices) and priority
//! (preemptive by priority, earliest deadline first within a level). Both
//! export and import their whole state, which is what a live swap moves
//! from one instance to the next.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

pub type TaskId = u64;

/// Highest priority is 0, lowest 10.
pub const LOWEST: u8 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskState {
    Ready,
    Running,
    Done,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub id: TaskId,
    /// 0 = highest .. 10 = lowest.
    pub priority: u8,
    /// Absolute deadline, milliseconds on the system clock of the run.
    pub deadline_ms: u64,
    pub state: TaskState,
    /// Slices of work left.
    pub remaining: u32,
}

impl Task {
    pub fn new(id: TaskId, priority: u8, deadline_ms: u64, remaining: u32) -> Task {
        Task {
            id,
            priority: priority.min(LOWEST),
            deadline_ms,
            state: TaskState::Ready,
            remaining: remaining.max(1),
        }
    }
}

/// Which algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    #[serde(rename = "rr")]
    RoundRobin,
    Priority,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "rr" | "round-robin" => Some(Kind::RoundRobin),
            "priority" | "prio" => Some(Kind::Priority),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Kind::RoundRobin => "rr",
            Kind::Priority => "priority",
        }
    }
}

/// Everything a scheduler instance holds: the task table in its own order
/// and the round-robin cursor. Algorithm-neutral, so either kind imports
/// what the other exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub kind: Kind,
    pub tasks: Vec<Task>,
    /// Slices handed out so far (monotonic across swaps).
    pub slices: u64,
}

pub trait Scheduler: Send {
    fn kind(&self) -> Kind;
    /// Adds a task (replacing one with the same id).
    fn add(&mut self, task: Task);
    /// The task to run for the next slice, marked running; `None` when idle.
    fn next(&mut self) -> Option<TaskId>;
    /// The end of a slice of `id`: one unit of work done; a finished task
    /// leaves the table and is returned.
    fn end_slice(&mut self, id: TaskId) -> Option<Task>;
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn export(&self) -> State;
}

/// A scheduler of `kind` holding `state`'s tasks.
pub fn build(kind: Kind, state: Option<State>) -> Box<dyn Scheduler> {
    let (tasks, slices) = state.map(|s| (s.tasks, s.slices)).unwrap_or_default();
    match kind {
        Kind::RoundRobin => Box::new(RoundRobin {
            queue: tasks.into(),
            slices,
        }),
        Kind::Priority => Box::new(PriorityEdf { tasks, slices }),
    }
}

/// Time slices in turn.
pub struct RoundRobin {
    queue: VecDeque<Task>,
    slices: u64,
}

impl Scheduler for RoundRobin {
    fn kind(&self) -> Kind {
        Kind::RoundRobin
    }
    fn add(&mut self, task: Task) {
        self.queue.retain(|t| t.id != task.id);
        self.queue.push_back(task);
    }
    fn next(&mut self) -> Option<TaskId> {
        let t = self.queue.front_mut()?;
        t.state = TaskState::Running;
        self.slices += 1;
        Some(t.id)
    }
    fn end_slice(&mut self, id: TaskId) -> Option<Task> {
        let pos = self.queue.iter().position(|t| t.id == id)?;
        let mut t = self.queue.remove(pos)?;
        t.remaining = t.remaining.saturating_sub(1);
        if t.remaining == 0 {
            t.state = TaskState::Done;
            return Some(t);
        }
        t.state = TaskState::Ready;
        self.queue.push_back(t);
        None
    }
    fn len(&self) -> usize {
        self.queue.len()
    }
    fn export(&self) -> State {
        State {
            kind: Kind::RoundRobin,
            tasks: self.queue.iter().cloned().collect(),
            slices: self.slices,
        }
    }
}

/// Highest priority first; within a level the earliest deadline, then the
/// lowest id (deterministic).
pub struct PriorityEdf {
    tasks: Vec<Task>,
    slices: u64,
}

impl Scheduler for PriorityEdf {
    fn kind(&self) -> Kind {
        Kind::Priority
    }
    fn add(&mut self, task: Task) {
        self.tasks.retain(|t| t.id != task.id);
        self.tasks.push(task);
    }
    fn next(&mut self) -> Option<TaskId> {
        let t = self
            .tasks
            .iter_mut()
            .min_by_key(|t| (t.priority, t.deadline_ms, t.id))?;
        t.state = TaskState::Running;
        self.slices += 1;
        Some(t.id)
    }
    fn end_slice(&mut self, id: TaskId) -> Option<Task> {
        let pos = self.tasks.iter().position(|t| t.id == id)?;
        let t = &mut self.tasks[pos];
        t.remaining = t.remaining.saturating_sub(1);
        if t.remaining == 0 {
            let mut t = self.tasks.remove(pos);
            t.state = TaskState::Done;
            return Some(t);
        }
        t.state = TaskState::Ready;
        None
    }
    fn len(&self) -> usize {
        self.tasks.len()
    }
    fn export(&self) -> State {
        State {
            kind: Kind::Priority,
            tasks: self.tasks.clone(),
            slices: self.slices,
        }
    }
}

/// A value as JSON with a CRC32 trailer, and back; a damaged snapshot is
/// refused rather than half-loaded (scheduler states, swap hand-offs,
/// checkpoints).
pub fn seal<T: Serialize>(value: &T) -> Vec<u8> {
    let mut b = serde_json::to_vec(value).unwrap_or_default();
    let c = crc32fast::hash(&b);
    b.extend_from_slice(&c.to_le_bytes());
    b
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum UnsealError {
    #[error("state snapshot is damaged (checksum mismatch)")]
    Checksum,
    #[error("state snapshot does not parse: {0}")]
    Parse(String),
}

pub fn unseal<T: serde::de::DeserializeOwned>(b: &[u8]) -> Result<T, UnsealError> {
    if b.len() < 4 {
        return Err(UnsealError::Checksum);
    }
    let (body, tail) = b.split_at(b.len() - 4);
    if crc32fast::hash(body).to_le_bytes() != tail {
        return Err(UnsealError::Checksum);
    }
    serde_json::from_slice(body).map_err(|e| UnsealError::Parse(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_all(s: &mut dyn Scheduler) -> Vec<TaskId> {
        let mut order = Vec::new();
        while let Some(id) = s.next() {
            order.push(id);
            s.end_slice(id);
        }
        order
    }

    #[test]
    fn round_robin_takes_turns() {
        let mut s = build(Kind::RoundRobin, None);
        s.add(Task::new(1, 5, 100, 2));
        s.add(Task::new(2, 0, 10, 1));
        s.add(Task::new(3, 9, 50, 2));
        assert_eq!(run_all(s.as_mut()), vec![1, 2, 3, 1, 3]);
    }

    #[test]
    fn priority_then_earliest_deadline() {
        let mut s = build(Kind::Priority, None);
        s.add(Task::new(1, 5, 100, 2));
        s.add(Task::new(2, 0, 90, 1));
        s.add(Task::new(3, 5, 50, 1));
        s.add(Task::new(4, 0, 10, 1));
        assert_eq!(run_all(s.as_mut()), vec![4, 2, 3, 1, 1]);
    }

    #[test]
    fn state_moves_between_kinds_intact() {
        let mut rr = build(Kind::RoundRobin, None);
        for i in 0..5 {
            rr.add(Task::new(i, (5 - i) as u8, 100 - i * 10, 3));
        }
        let id = rr.next().unwrap();
        rr.end_slice(id);
        let sealed = seal(&rr.export());
        let state: State = unseal(&sealed).unwrap();
        let prio = build(Kind::Priority, Some(state.clone()));
        assert_eq!(prio.len(), 5);
        assert_eq!(prio.export().slices, 1);
        let mut ids: Vec<_> = prio
            .export()
            .tasks
            .iter()
            .map(|t| (t.id, t.remaining))
            .collect();
        ids.sort();
        assert_eq!(ids, vec![(0, 2), (1, 3), (2, 3), (3, 3), (4, 3)]);
        let mut damaged = sealed.clone();
        damaged[3] ^= 1;
        assert_eq!(unseal::<State>(&damaged), Err(UnsealError::Checksum));
    }
}
