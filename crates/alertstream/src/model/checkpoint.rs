//! Where a stream stands: the next offset to read of each Kafka partition,
//! handed from the consumer to a sink and back once what it covers is safe.

use std::collections::BTreeMap;

/// Next offsets to commit, per topic and partition.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Checkpoint(BTreeMap<(String, i32), i64>);

impl Checkpoint {
    /// Takes in a later checkpoint: its offsets supersede this one's.
    pub fn extend(&mut self, later: Checkpoint) {
        self.0.extend(later.0);
    }

    /// Sets the next offset to read of a partition.
    pub fn insert(&mut self, topic: &str, partition: i32, next: i64) {
        self.0.insert((topic.to_owned(), partition), next);
    }

    /// The next offset of a partition, if this checkpoint has one.
    pub fn get(&self, topic: &str, partition: i32) -> Option<i64> {
        self.0.get(&(topic.to_owned(), partition)).copied()
    }

    /// (topic, partition) and next offset, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&(String, i32), &i64)> {
        self.0.iter()
    }

    /// True when it holds no offset.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<BTreeMap<(String, i32), i64>> for Checkpoint {
    fn from(offsets: BTreeMap<(String, i32), i64>) -> Self {
        Checkpoint(offsets)
    }
}
