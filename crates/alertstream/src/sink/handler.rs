//! Sinks that keep nothing themselves: a user's function ([`Handler`]), and
//! two sinks fed the same alerts ([`Both`]).

use super::{Checkpoint, Sink};
use crate::error::{PoisonMessage, Result};
use crate::model::alert::Alert;
use std::collections::VecDeque;
use std::path::PathBuf;

/// A user's function as a sink: an alert is safe once the function returned
/// `Ok` for it (fink-client's "handler hooks").
pub struct Handler<F> {
    handle: F,
    unsealed: usize,
    safe: Vec<Checkpoint>,
}

impl<F: FnMut(&Alert) -> Result<()>> Handler<F> {
    pub fn new(handle: F) -> Self {
        Handler {
            handle,
            unsealed: 0,
            safe: Vec::new(),
        }
    }
}

impl<F: FnMut(&Alert) -> Result<()>> Sink for Handler<F> {
    fn take(&mut self, alert: &Alert) -> Result<()> {
        (self.handle)(alert)?;
        self.unsealed += 1;
        Ok(())
    }

    fn unsealed(&self) -> usize {
        self.unsealed
    }

    fn seal(&mut self, checkpoint: Checkpoint) -> Result<()> {
        self.unsealed = 0;
        self.safe.push(checkpoint);
        Ok(())
    }

    fn durable(&mut self) -> Result<Vec<Checkpoint>> {
        Ok(std::mem::take(&mut self.safe))
    }

    fn finish(&mut self) -> Result<Vec<Checkpoint>> {
        self.durable()
    }
}

/// Two sinks fed the same alerts; a batch is safe once both say so.
pub struct Both<A, B> {
    first: A,
    second: B,
    sealed: VecDeque<Checkpoint>,
    /// Batches each sink reported safe and that are not yet returned.
    safe: [usize; 2],
}

impl<A: Sink, B: Sink> Both<A, B> {
    pub fn new(first: A, second: B) -> Self {
        Both {
            first,
            second,
            sealed: VecDeque::new(),
            safe: [0, 0],
        }
    }

    fn release(&mut self, first: usize, second: usize) -> Vec<Checkpoint> {
        self.safe[0] += first;
        self.safe[1] += second;
        let n = self.safe[0].min(self.safe[1]).min(self.sealed.len());
        self.safe = [self.safe[0] - n, self.safe[1] - n];
        self.sealed.drain(..n).collect()
    }
}

impl<A: Sink, B: Sink> Sink for Both<A, B> {
    fn take(&mut self, alert: &Alert) -> Result<()> {
        self.first.take(alert)?;
        self.second.take(alert)
    }

    fn quarantine(&mut self, poison: &PoisonMessage) -> Result<Option<PathBuf>> {
        let first = self.first.quarantine(poison)?;
        let second = self.second.quarantine(poison)?;
        Ok(first.or(second))
    }

    fn unsealed(&self) -> usize {
        self.first.unsealed().max(self.second.unsealed())
    }

    fn seal(&mut self, checkpoint: Checkpoint) -> Result<()> {
        self.sealed.push_back(checkpoint.clone());
        self.first.seal(checkpoint.clone())?;
        self.second.seal(checkpoint)
    }

    fn durable(&mut self) -> Result<Vec<Checkpoint>> {
        let first = self.first.durable()?.len();
        let second = self.second.durable()?.len();
        Ok(self.release(first, second))
    }

    fn finish(&mut self) -> Result<Vec<Checkpoint>> {
        let first = self.first.finish()?.len();
        let second = self.second.finish()?.len();
        Ok(self.release(first, second))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint(offset: i64) -> Checkpoint {
        let mut c = Checkpoint::default();
        c.insert("t", 0, offset);
        c
    }

    #[test]
    fn both_returns_a_batch_once_each_sink_made_it_safe() {
        let mut both = Both::new(
            Handler::new(|_: &Alert| Ok(())),
            Handler::new(|_: &Alert| Ok(())),
        );
        both.seal(checkpoint(1)).unwrap();
        both.seal(checkpoint(2)).unwrap();
        // The second handler has not reported yet: hold its batches back.
        let first = both.first.durable().unwrap().len();
        assert_eq!(both.release(first, 0), vec![]);
        let second = both.second.durable().unwrap().len();
        assert_eq!(both.release(0, second), vec![checkpoint(1), checkpoint(2)]);
        both.seal(checkpoint(3)).unwrap();
        assert_eq!(both.durable().unwrap(), vec![checkpoint(3)]);
    }
}
