//! Everything that talks to a Kafka broker (librdkafka through rdkafka):
//! one [`Connection`] shared by the consumer, the publisher and the admin
//! calls; security settings.

pub mod admin;
pub mod connection;
pub mod consumer;
pub mod forward;
mod oauth;
pub mod publisher;
pub mod security;
#[cfg(feature = "async")]
pub mod stream;
pub mod transfer;

pub use crate::model::checkpoint::Checkpoint;
pub use connection::Connection;
pub use consumer::{Consumer, ConsumerConfig, Start};
pub use forward::Forwarder;
pub use publisher::Publisher;
#[cfg(feature = "async")]
pub use stream::AlertStream;

/// A Kafka broker inside this process (librdkafka's mock cluster), for demos
/// and tests: no server to install. It lives as long as this value.
pub struct EmbeddedBroker(
    rdkafka::mocking::MockCluster<'static, rdkafka::producer::DefaultProducerContext>,
);

impl EmbeddedBroker {
    /// Starts a one-broker cluster with the given topics (one partition each).
    pub fn start(topics: &[&str]) -> crate::Result<Self> {
        let cluster = rdkafka::mocking::MockCluster::new(1)
            .map_err(crate::error::kafka("cannot start the embedded broker"))?;
        for topic in topics {
            cluster
                .create_topic(topic, 1, 1)
                .map_err(crate::error::kafka(format!("cannot create topic {topic}")))?;
        }
        Ok(EmbeddedBroker(cluster))
    }

    /// Its bootstrap address.
    pub fn servers(&self) -> String {
        self.0.bootstrap_servers()
    }
}
