//! Publishing alerts to a topic in a broker's wire format: how tests fill
//! topics and how broker developers simulate a survey's stream.

use crate::error::{kafka, Error, Result};
use crate::kafka::connection::{Connection, ErrorLog};
use crate::model::alert::Alert;
use crate::model::format::Format;
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One Kafka message: key and value bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub key: Option<Vec<u8>>,
    pub value: Vec<u8>,
}

/// Encodes an alert as a message of `format`. `schema_id` is the Confluent id
/// to announce (default: the id the alert was read with).
pub fn encode(alert: &Alert, format: Format, schema_id: Option<u32>) -> Result<Message> {
    let no_schema = || {
        Error::Publish(format!(
            "a {} alert has no Avro schema: it cannot be sent as {format}",
            alert.format()
        ))
    };
    let avro = || alert.schema().zip(alert.avro_datum()).ok_or_else(no_schema);
    Ok(match format {
        Format::Ztf => Message {
            key: None,
            value: alert.to_container().ok_or_else(no_schema)?,
        },
        Format::Fink => {
            let (schema, datum) = avro()?;
            Message {
                key: Some(schema.text().as_bytes().to_vec()),
                value: datum.to_vec(),
            }
        }
        Format::Confluent => {
            let (_, datum) = avro()?;
            let id = schema_id
                .or_else(|| confluent_id(alert))
                .ok_or_else(|| Error::MissingSchemaId)?;
            let mut value = Vec::with_capacity(5 + datum.len());
            value.push(0);
            value.extend_from_slice(&id.to_be_bytes());
            value.extend_from_slice(&datum);
            Message { key: None, value }
        }
        Format::Antares if alert.format() == Format::Antares => Message {
            key: None,
            value: alert.raw().to_vec(),
        },
        Format::Antares => {
            let json: serde_json::Value =
                serde_json::to_value(alert.record()).map_err(|e| Error::Publish(e.to_string()))?;
            let doc = bson::to_document(&json).map_err(|e| Error::Publish(format!("BSON: {e}")))?;
            let mut raw = Vec::new();
            doc.to_writer(&mut raw)
                .map_err(|e| Error::Publish(format!("BSON: {e}")))?;
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            z.write_all(&raw)
                .map_err(|e| Error::Publish(e.to_string()))?;
            Message {
                key: None,
                value: z.finish().map_err(|e| Error::Publish(e.to_string()))?,
            }
        }
        Format::Json => Message {
            key: None,
            value: alert.to_json().into_bytes(),
        },
        Format::Text => Message {
            key: None,
            value: alert.raw().to_vec(),
        },
    })
}

fn confluent_id(alert: &Alert) -> Option<u32> {
    match (alert.format(), alert.raw().get(1..5)) {
        (Format::Confluent, Some(id)) => id.try_into().ok().map(u32::from_be_bytes),
        _ => None,
    }
}

/// Counts delivery failures and keeps the first error.
#[derive(Default)]
struct Deliveries {
    failed: AtomicUsize,
    first_error: Mutex<Option<KafkaError>>,
}

struct Context(Arc<Deliveries>, ErrorLog);

crate::kafka::connection::error_keeping_context!(Context, 1);

impl ProducerContext for Context {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, _)) = result {
            self.0.failed.fetch_add(1, Ordering::Relaxed);
            let mut first = self.0.first_error.lock().unwrap_or_else(|e| e.into_inner());
            first.get_or_insert_with(|| e.clone());
        }
    }
}

/// Sends messages to one topic; [`Publisher::flush`] reports any that failed.
pub struct Publisher {
    producer: BaseProducer<Context>,
    topic: String,
    deliveries: Arc<Deliveries>,
}

impl Publisher {
    /// Connects and checks that the topic exists (a clear error within
    /// the connection's `connect_timeout` otherwise).
    pub fn new(conn: &Connection, topic: &str) -> Result<Self> {
        let deliveries = Arc::new(Deliveries::default());
        let producer: BaseProducer<Context> = conn.open(
            &[
                ("client.id", "alertstream-publish"),
                ("message.max.bytes", "10000000"),
                ("linger.ms", "5"),
            ],
            || Context(deliveries.clone(), ErrorLog::default()),
            &[topic.to_owned()],
        )?;
        Ok(Publisher {
            producer,
            topic: topic.to_owned(),
            deliveries,
        })
    }

    /// Queues a message, waiting while librdkafka's queue is full.
    pub fn send(&self, message: &Message) -> Result<()> {
        loop {
            let mut record = BaseRecord::to(&self.topic).payload(&message.value);
            if let Some(k) = &message.key {
                record = record.key(k);
            }
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    self.producer.poll(Duration::from_millis(20));
                }
                Err((e, _)) => return Err(kafka(format!("cannot send to {}", self.topic))(e)),
            }
        }
    }

    /// Waits until every queued message is delivered; fails if any was not.
    pub fn flush(&self, timeout: Duration) -> Result<()> {
        self.producer.flush(timeout).map_err(kafka(format!(
            "messages not delivered to {} in time",
            self.topic
        )))?;
        let failed = self.deliveries.failed.load(Ordering::Relaxed);
        if failed > 0 {
            let first = self
                .deliveries
                .first_error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            let context = format!("{failed} message(s) not delivered to {}", self.topic);
            let first = first.unwrap_or(KafkaError::MessageProduction(RDKafkaErrorCode::Unknown));
            return Err(kafka(context)(first));
        }
        Ok(())
    }
}
