//! Faults injected with librdkafka's mock cluster, beside the real-broker
//! tests: a topic that disappears from the cluster's metadata mid-stream
//! (what Kafka answers for a deleted topic) ends the pipeline with
//! `Error::TopicDeleted`, within seconds, and the safe alerts stay committed.
#![cfg(feature = "kafka")]

use alertstream::kafka::publisher::{Message, Publisher};
use alertstream::kafka::{Connection, Consumer, ConsumerConfig};
use alertstream::pipeline::{Options, Pipeline};
use alertstream::sink::Handler;
use alertstream::{Alert, Error};
use rdkafka::mocking::MockCluster;
use rdkafka::types::RDKafkaRespErr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[test]
fn a_topic_gone_from_the_cluster_ends_the_pipeline_naming_it() {
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic("vanishing", 1, 1).unwrap();
    let mut conn = Connection::new(cluster.bootstrap_servers());
    conn.connect_timeout = Duration::from_secs(10);
    // Metadata is refreshed every second: the loss is seen quickly.
    conn.properties
        .push(("topic.metadata.refresh.interval.ms".into(), "1000".into()));
    let publisher = Publisher::new(&conn, "vanishing").unwrap();
    for i in 0..20 {
        let value = format!(r#"{{"objectId":"ZTF99v{i:03}","candid":{i}}}"#);
        let message = Message {
            key: None,
            value: value.into_bytes(),
        };
        publisher.send(&message).unwrap();
    }
    publisher.flush(Duration::from_secs(10)).unwrap();

    let mut config = ConsumerConfig::new(conn, "g", &["vanishing"]);
    config.session_timeout_ms = 6000;
    let consumer = Consumer::new(config).unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let counted = seen.clone();
    let handler = Handler::new(move |_: &Alert| {
        counted.fetch_add(1, Ordering::Relaxed);
        Ok(())
    });
    let pipeline = std::thread::spawn(move || {
        Pipeline::new(consumer, handler)
            .options(Options::default())
            .run()
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.load(Ordering::Relaxed) < 20 {
        assert!(Instant::now() < deadline, "the alerts did not arrive");
        std::thread::sleep(Duration::from_millis(20));
    }
    let gone = Instant::now();
    cluster
        .topic_error(
            "vanishing",
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
        )
        .unwrap();
    let error = pipeline.join().unwrap().unwrap_err();
    assert!(
        gone.elapsed() < Duration::from_secs(20),
        "took {:?}",
        gone.elapsed()
    );
    assert!(
        matches!(&error, Error::TopicDeleted { topic } if topic == "vanishing"),
        "{error}"
    );
    assert!(
        error.to_string().contains("'vanishing' was deleted"),
        "{error}"
    );
}
