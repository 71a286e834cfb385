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
    pub fn release(&mut self, batches: &mut Batches) -> Vec<Checkpoint> {
        let mut safe = Vec::new();
        while let Some((_, batch)) = batches.sealed.front() {
            if self.pending.get(batch).is_some_and(|n| *n > 0) {
                break;
            }
            self.pending.remove(batch);
            if let Some((checkpoint, _)) = batches.sealed.pop_front() {
                safe.push(checkpoint);
            }
        }
        safe
    }
}

/// The sink's own side of the ledger: the batch being filled, numbered,
/// and the sealed batches not released yet.
#[derive(Debug, Default)]
pub struct Batches {
    sealed: VecDeque<(Checkpoint, u64)>,
    current: u64,
    unsealed: usize,
}

impl Batches {
    /// The number of the batch being filled.
    pub fn current(&self) -> u64 {
        self.current
    }

    /// Counts an alert in the batch being filled; returns its number.
    pub fn take(&mut self) -> u64 {
        self.unsealed += 1;
        self.current
    }

    /// Alerts taken since the last seal.
    pub fn unsealed(&self) -> usize {
        self.unsealed
    }

    /// Ends the batch being filled; `checkpoint` holds the offsets after it.
    pub fn seal(&mut self, checkpoint: Checkpoint) {
        self.sealed.push_back((checkpoint, self.current));
        self.current += 1;
        self.unsealed = 0;
    }

    /// Sealed batches not released yet.
    pub fn waiting(&self) -> usize {
        self.sealed.len()
    }
}
