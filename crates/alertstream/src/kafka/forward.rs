//! Kept alerts republished to another topic as they were received (key,
//! headers, payload) by an idempotent producer: a personal sub-stream any
//! Kafka client can subscribe to. As a [`Sink`], a batch is safe once the
//! broker acknowledged every message of it, so the source offsets are
//! committed after the delivery reports.

use crate::error::{kafka, Error, Result};
use crate::kafka::connection::{Connection, ErrorLog};
use crate::model::alert::Alert;
use crate::sink::{Batches, Checkpoint, Ledger, Sink};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long [`Sink::finish`] waits for the last acknowledgements.
pub const FINISH_TIMEOUT: Duration = Duration::from_secs(30);

/// Messages in flight per batch, and the first delivery that failed.
type Acks = Ledger;

struct Context(Arc<Mutex<Acks>>, ErrorLog);

impl Context {
    fn acks(&self) -> std::sync::MutexGuard<'_, Acks> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

crate::kafka::connection::error_keeping_context!(Context, 1);

impl ProducerContext for Context {
    type DeliveryOpaque = Box<u64>;
    fn delivery(&self, result: &DeliveryResult<'_>, batch: Box<u64>) {
        let mut acks = self.acks();
        match result {
            Ok(_) => acks.settle(&[*batch]),
            Err((e, _)) => acks.fail(e.to_string()),
        }
    }
}

/// Republishes the alerts it takes to one topic; see the module documentation.
pub struct Forwarder {
    producer: BaseProducer<Context>,
    topic: String,
    acks: Arc<Mutex<Acks>>,
    /// Sealed batches not yet returned: their checkpoint and number.
    batches: Batches,
    /// The message last forwarded: a message holding several alerts is
    /// forwarded once, whole.
    last: Option<(String, i32, i64)>,
}

impl std::fmt::Debug for Forwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forwarder")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl Forwarder {
    /// Connects with an idempotent producer and checks that the topic exists.
    pub fn new(conn: &Connection, topic: &str) -> Result<Self> {
        let acks = Arc::new(Mutex::new(Acks::default()));
        let producer: BaseProducer<Context> = conn.open(
            &[
                ("client.id", "alertstream-forward"),
                ("enable.idempotence", "true"),
                ("message.max.bytes", "10485760"),
                ("linger.ms", "5"),
            ],
            || Context(acks.clone(), ErrorLog::default()),
            &[topic.to_owned()],
        )?;
        Ok(Forwarder {
            producer,
            topic: topic.to_owned(),
            acks,
            batches: Batches::default(),
            last: None,
        })
    }

    fn acks(&self) -> std::sync::MutexGuard<'_, Acks> {
        self.acks.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn failure(&self) -> Result<()> {
        match self.acks().failed().map(str::to_owned) {
            Some(reason) => Err(Error::Publish(format!(
                "forwarding to {} failed: {reason}; the alerts not acknowledged are \
                 delivered again at the next run",
                self.topic
            ))),
            None => Ok(()),
        }
    }

    /// Queues a message, waiting while librdkafka's queue is full.
    fn send(&mut self, alert: &Alert) -> Result<()> {
        let meta = alert.kafka();
        let place = meta.map(|m| (m.topic.clone(), m.partition, m.offset));
        if place.is_some() && place == self.last {
            return Ok(());
        }
        let mut headers = OwnedHeaders::new();
        for (key, value) in meta.map_or(&[][..], |m| &m.headers) {
            headers = headers.insert(Header {
                key,
                value: value.as_deref(),
            });
        }
        let key = meta.and_then(|m| m.key.as_deref());
        let batch = self.batches.current();
        self.acks().add(batch, 1);
        loop {
            let mut record = BaseRecord::with_opaque_to(&self.topic, Box::new(batch))
                .payload(&alert.raw()[..])
                .headers(headers.clone());
            if let Some(k) = key {
                record = record.key(k);
            }
            match self.producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    self.producer.poll(Duration::from_millis(20));
                }
                Err((e, _)) => {
                    return Err(kafka(format!("cannot forward to {}", self.topic))(e));
                }
            }
        }
        self.last = place;
        Ok(())
    }
}

impl Sink for Forwarder {
    fn take(&mut self, alert: &Alert) -> Result<()> {
        self.send(alert)?;
        self.batches.take();
        Ok(())
    }

    fn unsealed(&self) -> usize {
        self.batches.unsealed()
    }

    fn seal(&mut self, checkpoint: Checkpoint) -> Result<()> {
        self.batches.seal(checkpoint);
        Ok(())
    }

    fn durable(&mut self) -> Result<Vec<Checkpoint>> {
        self.producer.poll(Duration::ZERO);
        self.failure()?;
        let mut acks = self.acks.lock().unwrap_or_else(|e| e.into_inner());
        Ok(acks.release(&mut self.batches))
    }

    fn finish(&mut self) -> Result<Vec<Checkpoint>> {
        let deadline = Instant::now() + FINISH_TIMEOUT;
        let mut safe = Vec::new();
        loop {
            safe.extend(self.durable()?);
            if self.batches.waiting() == 0 {
                return Ok(safe);
            }
            if Instant::now() >= deadline {
                return Err(Error::Publish(format!(
                    "{} batch(es) not acknowledged by {} within {} s: they are delivered again \
                     at the next run",
                    self.batches.waiting(),
                    self.topic,
                    FINISH_TIMEOUT.as_secs()
                )));
            }
            self.producer.poll(Duration::from_millis(50));
        }
    }
}
