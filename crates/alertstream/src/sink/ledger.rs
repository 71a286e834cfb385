//! What sinks that hand alerts to other threads share: how many alerts of
//! each sealed batch are still in flight, and the first failure that makes
//! them unsafe. A batch is released (its checkpoint returned) once none of
//! its alerts, nor of any batch before it, is in flight.

use super::Checkpoint;
use std::collections::{HashMap, VecDeque};

/// Alerts in flight per batch number; see the module documentation.
#[derive(Debug, Default)]
pub struct Ledger {
    pending: HashMap<u64, usize>,
    failed: Option<String>,
}

impl Ledger {
    /// `n` more alerts of `batch` in flight.
    pub fn add(&mut self, batch: u64, n: usize) {
        *self.pending.entry(batch).or_default() += n;
    }

    /// One alert of each of `batches` settled (accepted, or kept aside).
    pub fn settle(&mut self, batches: &[u64]) {
        for batch in batches {
            if let Some(n) = self.pending.get_mut(batch) {
                *n = n.saturating_sub(1);
            }
        }
    }

    /// Records the first failure.
    pub fn fail(&mut self, reason: String) {
        self.failed.get_or_insert(reason);
    }

    pub fn failed(&self) -> Option<&str> {
        self.failed.as_deref()
    }

    /// The checkpoints of the sealed batches, oldest first, with nothing
    /// in flight.
    pub fn release(&mut self, sealed: &mut VecDeque<(Checkpoint, u64)>) -> Vec<Checkpoint> {
        let mut safe = Vec::new();
        while let Some((_, batch)) = sealed.front() {
            if self.pending.get(batch).is_some_and(|n| *n > 0) {
                break;
            }
            self.pending.remove(batch);
            if let Some((checkpoint, _)) = sealed.pop_front() {
                safe.push(checkpoint);
            }
        }
        safe
    }
}
