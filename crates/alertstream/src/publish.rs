//! Publishing alerts to a topic in a broker's wire format: how tests fill
//! topics and how broker developers simulate a survey's stream.

use crate::alert::Alert;
use crate::broker::{
    apply_connection_settings, check_connection, ErrorContext, ErrorLog, Identity,
};
use crate::error::{Error, Result};
use crate::format::Format;
use crate::security::Security;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientContext;
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
            let id = schema_id.or_else(|| confluent_id(alert)).ok_or_else(|| {
                Error::Publish("confluent format needs a schema id: pass --schema-id N".into())
            })?;
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
    first_error: Mutex<Option<String>>,
}

struct Context(Arc<Deliveries>, ErrorLog);

impl ClientContext for Context {
    fn error(&self, _: KafkaError, reason: &str) {
        self.1.record(reason);
    }

    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, _: &str, message: &str) {
        crate::broker::record_log(&self.1, level, message);
    }
}

impl ProducerContext for Context {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, _)) = result {
            self.0.failed.fetch_add(1, Ordering::Relaxed);
            let mut first = self.0.first_error.lock().unwrap_or_else(|e| e.into_inner());
            first.get_or_insert_with(|| e.to_string());
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
    /// `connect_timeout` otherwise).
    pub fn new(
        servers: &str,
        topic: &str,
        security: &Security,
        properties: &[(String, String)],
        connect_timeout: Duration,
    ) -> Result<Self> {
        let deliveries = Arc::new(Deliveries::default());
        let errors = ErrorLog::default();
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", servers)
            .set("client.id", "alertstream-publish")
            .set("message.max.bytes", "10000000")
            .set("linger.ms", "5");
        apply_connection_settings(&mut config, security, properties)?;
        let producer: BaseProducer<Context> = config
            .create_with_context(Context(deliveries.clone(), errors.clone()))
            .map_err(|e| Error::Kafka(format!("cannot create the producer: {e}")))?;
        let identity = Identity::of(security, properties);
        check_connection(
            producer.client(),
            servers,
            &identity,
            &[topic.to_owned()],
            connect_timeout,
            &errors,
            || {
                producer.poll(Duration::from_millis(100));
            },
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
                Err((e, _)) => {
                    return Err(Error::Kafka(format!("cannot send to {}: {e}", self.topic)))
                }
            }
        }
    }

    /// Waits until every queued message is delivered; fails if any was not.
    pub fn flush(&self, timeout: Duration) -> Result<()> {
        self.producer.flush(timeout).map_err(|e| {
            Error::Kafka(format!(
                "messages not delivered to {} in time: {e}",
                self.topic
            ))
        })?;
        let failed = self.deliveries.failed.load(Ordering::Relaxed);
        if failed > 0 {
            let first = self
                .deliveries
                .first_error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            return Err(Error::Kafka(format!(
                "{failed} message(s) not delivered to {}: {}",
                self.topic,
                first.unwrap_or_default()
            )));
        }
        Ok(())
    }
}

/// Creates a topic (replication factor 1). An existing topic is not an error.
pub fn create_topic(
    servers: &str,
    security: &Security,
    properties: &[(String, String)],
    topic: &str,
    partitions: i32,
    timeout: Duration,
) -> Result<()> {
    let errors = ErrorLog::default();
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", servers);
    apply_connection_settings(&mut config, security, properties)?;
    let admin: AdminClient<ErrorContext> = config
        .create_with_context(ErrorContext(errors.clone()))
        .map_err(|e| Error::Kafka(format!("cannot create the admin client: {e}")))?;
    let pause = || std::thread::sleep(Duration::from_millis(100));
    check_connection(
        admin.inner(),
        servers,
        &Identity::of(security, properties),
        &[],
        timeout,
        &errors,
        pause,
    )?;
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let options = AdminOptions::new()
        .operation_timeout(Some(timeout))
        .request_timeout(Some(timeout));
    let results = futures_executor::block_on(admin.create_topics([&new], &options))
        .map_err(|e| Error::Kafka(format!("cannot create topic {topic}: {e}")))?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => {
                return Err(Error::Kafka(format!("cannot create topic {name}: {code}")))
            }
        }
    }
    Ok(())
}
