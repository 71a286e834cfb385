//! `Consumer`: the library's Kafka consumer for Python code. Every wait
//! happens with the GIL released, in slices short enough that Ctrl-C stops
//! it within 100 ms; offsets are committed only when the user says the
//! alerts handed out are processed (`commit()`), or by the library's durable
//! pipeline (`save()`).

use crate::alert::PyAlert;
use crate::errors;
use crate::reader::decoder_options;
use crate::select::CriteriaArgs;
use alertstream::kafka::consumer::Closed;
use alertstream::kafka::security::{Mechanism, Protocol, Secret};
use alertstream::kafka::{Connection, Consumer, ConsumerConfig, Start};
use alertstream::pipeline::{Options, Pipeline, Stats};
use alertstream::select::{Selection, Verdict};
use alertstream::sink::parquet::{ParquetOptions, PartitionBy};
use alertstream::sink::{Layout, Storage, StorageFormat};
use pyo3::exceptions::{PyRuntimeWarning, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The longest stretch spent waiting without the GIL before signals are
/// looked at: Ctrl-C interrupts a wait within this (plus librdkafka's own
/// return, a few ms).
const SLICE: Duration = Duration::from_millis(50);

/// Consumes and decodes alerts from Kafka topics, in a consumer group.
///
/// Nothing is committed until ``commit()`` is called: call it once the
/// alerts returned so far are processed, and a crash before that delivers
/// them again (at-least-once). ``save(dir)`` instead runs the library's
/// durable pipeline: files written and synced, then committed.
#[pyclass(module = "alertstream._native", name = "Consumer")]
pub struct PyConsumer {
    consumer: Mutex<Option<Consumer>>,
    /// An error met by `consume` after it had alerts in hand: raised by the
    /// next call, so that those alerts are returned, not dropped.
    pending: Mutex<Option<PyErr>>,
    servers: String,
    group: String,
    topics: Vec<String>,
    /// How the consumer connected: for listing the cluster's topics and brokers.
    connection: Connection,
    /// What selects the alerts polled (and saved).
    selection: Mutex<Selection>,
    /// A watchlist or a sky map tags the kept alerts (Parquet columns).
    tags: bool,
}

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn closed() -> PyErr {
    PyValueError::new_err("the consumer is closed (close() or save() ended it)")
}

/// A timeout in seconds as fink-client and confluent-kafka take it: None or
/// negative waits without end.
fn deadline(timeout: Option<f64>) -> PyResult<Option<Instant>> {
    match timeout {
        Some(t) if t.is_nan() => Err(PyValueError::new_err("timeout is NaN")),
        Some(t) if t >= 0.0 => Ok(Some(
            Instant::now() + Duration::try_from_secs_f64(t).unwrap_or(Duration::MAX / 2),
        )),
        _ => Ok(None),
    }
}

/// Builds the library's consumer configuration from the constructor's
/// arguments.
struct Settings<'a> {
    topics: Vec<String>,
    group: String,
    servers: String,
    username: Option<String>,
    password: Option<String>,
    protocol: Option<&'a str>,
    mechanism: Option<&'a str>,
    ssl_ca_location: Option<PathBuf>,
    config: Option<Bound<'a, PyDict>>,
    start: &'a str,
    format: Option<&'a str>,
    schema: Option<PathBuf>,
    schema_dir: Option<PathBuf>,
    schema_registry: Option<String>,
    limits: Option<Bound<'a, PyDict>>,
    connect_timeout: f64,
    session_timeout_ms: u32,
    fetch_wait_max_ms: Option<u32>,
    instance_id: Option<String>,
    token_url: Option<String>,
}

impl Settings<'_> {
    fn consumer_config(self) -> PyResult<ConsumerConfig> {
        let mut connection = Connection::new(self.servers);
        let protocol = self
            .protocol
            .map(|p| errors::word::<Protocol>("protocol", p))
            .transpose()?;
        connection.security.protocol = protocol.unwrap_or(if self.username.is_some() {
            Protocol::SaslPlaintext
        } else {
            Protocol::Plaintext
        });
        if let Some(mechanism) = self.mechanism {
            connection.security.mechanism = errors::word::<Mechanism>("mechanism", mechanism)?;
        }
        connection.security.username = self.username;
        connection.security.password = self.password.map(Secret::new);
        connection.security.ssl_ca_location = self.ssl_ca_location;
        connection.security.token_url = self.token_url;
        connection.connect_timeout = Duration::try_from_secs_f64(self.connect_timeout)
            .map_err(|_| PyValueError::new_err("connect_timeout must be a positive number"))?;
        if let Some(config) = self.config {
            for (key, value) in config.iter() {
                connection
                    .properties
                    .push((key.str()?.to_string(), property_value(&value)?));
            }
        }
        let mut config = ConsumerConfig::new(connection, self.group, &[]);
        config.topics = alertstream::kafka::consumer::topic_list(&self.topics);
        config.start = errors::word::<Start>("start", self.start)?;
        config.decoder = decoder_options(
            self.format,
            self.schema,
            self.schema_dir,
            self.limits.as_ref(),
        )?;
        config.instance_id = self.instance_id;
        config.decoder.schema_registry = self.schema_registry;
        config.session_timeout_ms = self.session_timeout_ms;
        config.fetch_wait_max_ms = self.fetch_wait_max_ms;
        Ok(config)
    }
}

/// A librdkafka property value as text: booleans as true/false.
fn property_value(value: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(b) = value.extract::<bool>() {
        return Ok(b.to_string());
    }
    Ok(value.str()?.to_string())
}

impl PyConsumer {
    /// Runs `f` on the consumer with the GIL released.
    fn with_consumer<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut Consumer) -> T + Send,
    ) -> PyResult<T> {
        py.detach(|| locked(&self.consumer).as_mut().map(f))
            .ok_or_else(closed)
    }

    fn take_pending(&self) -> PyResult<()> {
        match locked(&self.pending).take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The next alert before `deadline` (None: no end), in GIL-free slices.
    fn next_alert(&self, py: Python<'_>, deadline: Option<Instant>) -> PyResult<Option<PyAlert>> {
        loop {
            let slice = deadline.map_or(SLICE, |d| {
                d.saturating_duration_since(Instant::now()).min(SLICE)
            });
            match self.with_consumer(py, |c| c.poll(slice))? {
                Ok(Some(mut alert)) => {
                    // A dropped alert counts as handed out: commit() commits it.
                    let verdict = locked(&self.selection).judge(&mut alert);
                    if verdict.map_err(errors::to_py)? == Verdict::Keep {
                        return Ok(Some(PyAlert::new(alert)));
                    }
                }
                Ok(None) => {}
                // librdkafka reconnects by itself: wait, as confluent-kafka does.
                Err(e) if e.is_retriable() => {}
                Err(e) => return Err(errors::to_py(e)),
            }
            py.check_signals()?;
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(None);
            }
        }
    }
}

#[pymethods]
impl PyConsumer {
    /// Connects (raising within ``connect_timeout`` seconds when the broker
    /// cannot be reached, refuses the credentials or lacks a topic), joins
    /// ``group`` and subscribes to ``topics`` (names, or ``^regex``).
    ///
    /// ``config`` holds further librdkafka properties (they win over the
    /// arguments). ``mechanism="OAUTHBEARER"`` with ``token_url`` exchanges
    /// ``username`` (the client id) and ``password`` (the client secret) at
    /// that OIDC token endpoint for tokens (GCN's Kafka). ``format`` forces a payload format (``ztf``, ``fink``,
    /// ``confluent``, ``antares``, ``json``); by default each message's is
    /// detected. ``schema``, ``schema_dir`` and ``schema_registry`` give
    /// writer schemas that messages do not carry.
    #[new]
    #[pyo3(signature = (
        topics, group, servers = "127.0.0.1:9092".to_owned(), *, username = None, password = None,
        protocol = None, mechanism = None, ssl_ca_location = None, config = None,
        start = "earliest", format = None, schema = None, schema_dir = None,
        schema_registry = None, limits = None, connect_timeout = 30.0,
        session_timeout_ms = 10_000, fetch_wait_max_ms = None, instance_id = None,
        token_url = None, r#where = None, cone = None, moc = None, skymap = None, credible = 0.9,
        watchlist = None, match_radius = None, dedupe = false, once_per_object = None,
        state = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        topics: Bound<'_, PyAny>,
        group: String,
        servers: String,
        username: Option<String>,
        password: Option<String>,
        protocol: Option<&str>,
        mechanism: Option<&str>,
        ssl_ca_location: Option<PathBuf>,
        config: Option<Bound<'_, PyDict>>,
        start: &str,
        format: Option<&str>,
        schema: Option<PathBuf>,
        schema_dir: Option<PathBuf>,
        schema_registry: Option<String>,
        limits: Option<Bound<'_, PyDict>>,
        connect_timeout: f64,
        session_timeout_ms: u32,
        fetch_wait_max_ms: Option<u32>,
        instance_id: Option<String>,
        token_url: Option<String>,
        r#where: Option<String>,
        cone: Option<Bound<'_, PyAny>>,
        moc: Option<Bound<'_, PyAny>>,
        skymap: Option<PathBuf>,
        credible: f64,
        watchlist: Option<PathBuf>,
        match_radius: Option<Bound<'_, PyAny>>,
        dedupe: bool,
        once_per_object: Option<&str>,
        state: Option<&str>,
    ) -> PyResult<Self> {
        // What selects, first: a bad expression raises before connecting.
        let criteria = CriteriaArgs {
            where_: r#where,
            cone,
            moc,
            skymap,
            credible,
            watchlist,
            match_radius,
        };
        let selection = Selection {
            criteria: criteria.criteria()?,
            once: crate::select::once(dedupe, once_per_object, state, &group)?,
        };
        let topics: Vec<String> = match topics.extract::<String>() {
            Ok(one) => vec![one],
            Err(_) => topics.extract()?,
        };
        let settings = Settings {
            topics,
            group,
            servers,
            username,
            password,
            protocol,
            mechanism,
            ssl_ca_location,
            config,
            start,
            format,
            schema,
            schema_dir,
            schema_registry,
            limits,
            connect_timeout,
            session_timeout_ms,
            fetch_wait_max_ms,
            instance_id,
            token_url,
        };
        let config = settings.consumer_config()?;
        let (servers, group, topics, connection) = (
            config.connection.servers.clone(),
            config.group.clone(),
            config.topics.clone(),
            config.connection.clone(),
        );
        let consumer = py
            .detach(move || Consumer::new(config))
            .map_err(errors::to_py)?;
        Ok(PyConsumer {
            consumer: Mutex::new(Some(consumer)),
            pending: Mutex::new(None),
            servers,
            group,
            topics,
            connection,
            selection: Mutex::new(selection),
            tags: criteria.tags(),
        })
    }

    /// The next alert, waiting at most ``timeout`` seconds (None or negative:
    /// no limit); None when none came. A message that cannot be decoded
    /// raises ``PoisonMessageError`` (with its topic, partition, offset and
    /// bytes); the next poll goes on after it.
    #[pyo3(signature = (timeout = None))]
    fn poll(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<PyAlert>> {
        self.take_pending()?;
        self.next_alert(py, deadline(timeout)?)
    }

    /// Up to ``num_alerts`` alerts, waiting at most ``timeout`` seconds in all.
    /// A poison message met after some alerts is raised by the next call, so
    /// that the alerts before it are returned.
    #[pyo3(signature = (num_alerts = 1, timeout = None))]
    fn consume<'py>(
        &self,
        py: Python<'py>,
        num_alerts: usize,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyList>> {
        self.take_pending()?;
        let deadline = deadline(timeout)?;
        let alerts = PyList::empty(py);
        while alerts.len() < num_alerts {
            match self.next_alert(py, deadline) {
                Ok(Some(alert)) => alerts.append(Bound::new(py, alert)?)?,
                Ok(None) => break,
                Err(e)
                    if alerts.is_empty()
                        || e.is_instance_of::<pyo3::exceptions::PyKeyboardInterrupt>(py) =>
                {
                    return Err(e)
                }
                Err(e) => {
                    *locked(&self.pending) = Some(e);
                    break;
                }
            }
        }
        Ok(alerts)
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    /// Waits for the next alert without a time limit (Ctrl-C stops it).
    fn __next__(&self, py: Python<'_>) -> PyResult<Option<PyAlert>> {
        self.take_pending()?;
        self.next_alert(py, None)
    }

    /// Marks every alert returned so far as processed: their offsets are
    /// committed in the background (never blocking), and they will not be
    /// delivered to the group again.
    fn commit(&self, py: Python<'_>) -> PyResult<()> {
        self.with_consumer(py, |c| c.commit())?
            .map_err(errors::to_py)
    }

    /// Leaves the group, committing what ``commit()`` marked, waiting at most
    /// ``timeout`` seconds for the broker. Returns True when the broker
    /// acknowledged every marked offset; otherwise warns (those alerts will be
    /// delivered again, none is lost) and returns False.
    #[pyo3(signature = (timeout = 10.0))]
    fn close(&self, py: Python<'_>, timeout: f64) -> PyResult<bool> {
        let wait = Duration::try_from_secs_f64(timeout.max(0.0)).unwrap_or(Duration::MAX / 2);
        let closed = py.detach(|| {
            locked(&self.consumer)
                .take()
                .map(|mut c| c.close_within(wait))
        });
        match closed {
            Some(Closed::NotCommitted(e)) => {
                PyErr::warn(
                    py,
                    &py.get_type::<PyRuntimeWarning>(),
                    &std::ffi::CString::new(e.to_string()).unwrap_or_default(),
                    1,
                )?;
                Ok(false)
            }
            _ => Ok(true),
        }
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.close(py, 10.0)?;
        Ok(false)
    }

    /// Runs the library's durable pipeline until ``max_alerts`` alerts,
    /// ``idle`` seconds without one, or Ctrl-C: every alert is written under
    /// ``dir`` and synced before its offset is committed. The GIL is released
    /// meanwhile. The consumer is closed afterwards.
    ///
    /// ``format``: ``avro`` (one file per alert, fink-client's names with
    /// ``layout="fink"``, ``DIR/<topic>/`` with ``layout="topic"``), ``json``,
    /// or ``parquet`` (rolling files of ``roll`` alerts or ``roll_seconds``,
    /// Hive folders by ``partition_by``: any of "date", "topic", "class";
    /// ``cutouts=False`` leaves the stamps out). Returns the run's figures.
    #[pyo3(signature = (
        dir, *, format = "avro", layout = "fink", max_alerts = None, idle = None,
        roll = 100_000, roll_seconds = 300.0, partition_by = Vec::new(), cutouts = true
    ))]
    #[allow(clippy::too_many_arguments)]
    fn save<'py>(
        &self,
        py: Python<'py>,
        dir: PathBuf,
        format: &str,
        layout: &str,
        max_alerts: Option<u64>,
        idle: Option<f64>,
        roll: u64,
        roll_seconds: f64,
        partition_by: Vec<String>,
        cutouts: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let storage = storage(
            format,
            layout,
            roll,
            roll_seconds,
            &partition_by,
            cutouts,
            self.tags,
        )?;
        let selection = std::mem::take(&mut *locked(&self.selection));
        let mut options = Options::default();
        options.limit = max_alerts;
        options.idle_timeout = idle.map(|s| Duration::from_secs_f64(s.max(0.0)));
        let consumer = locked(&self.consumer).take().ok_or_else(closed)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let run = std::thread::Builder::new()
            .name("alertstream-save".into())
            .spawn(move || -> alertstream::Result<Stats> {
                let sink = storage.open(&dir)?;
                Pipeline::new(consumer, sink)
                    .options(options)
                    .select(selection)
                    .stop_on(stopping)
                    .run()
            })
            .map_err(|e| PyValueError::new_err(format!("cannot start the saving thread: {e}")))?;
        let mut interrupted = None;
        while !run.is_finished() {
            py.detach(|| std::thread::sleep(SLICE));
            if let Err(e) = py.check_signals() {
                // Finish the batch in hand and commit it, then raise.
                stop.store(true, Ordering::Relaxed);
                interrupted.get_or_insert(e);
            }
        }
        let stats = py
            .detach(|| run.join())
            .map_err(|_| PyValueError::new_err("the saving thread panicked"))?
            .map_err(errors::to_py)?;
        if let Some(e) = interrupted {
            return Err(e);
        }
        let out = PyDict::new(py);
        out.set_item("seen", stats.seen)?;
        out.set_item("alerts", stats.alerts)?;
        let dropped = PyDict::new(py);
        dropped.set_item("where", stats.dropped.by_where)?;
        dropped.set_item("region", stats.dropped.by_region)?;
        dropped.set_item("watchlist", stats.dropped.by_watchlist)?;
        dropped.set_item("duplicate", stats.dropped.duplicates)?;
        out.set_item("dropped", dropped)?;
        out.set_item("quarantined", stats.quarantined)?;
        out.set_item("bytes", stats.bytes)?;
        out.set_item("seconds", stats.seconds)?;
        out.set_item("streaming_seconds", stats.streaming_seconds)?;
        out.set_item("outages", stats.outages)?;
        Ok(out)
    }

    /// Messages the broker holds beyond what was fetched (librdkafka's
    /// figure, about once a second), or None before the first report.
    /// The topics the broker has (internal ones left out), sorted.
    fn list_topics(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        let connection = self.connection.clone();
        let topics = py
            .detach(move || alertstream::kafka::admin::topics(&connection))
            .map_err(errors::to_py)?;
        Ok(topics.into_iter().map(|t| t.topic).collect())
    }

    /// The cluster's brokers as ``(id, host, port)`` tuples, by id.
    fn list_brokers(&self, py: Python<'_>) -> PyResult<Vec<(i32, String, i32)>> {
        let connection = self.connection.clone();
        let brokers = py
            .detach(move || alertstream::kafka::admin::brokers(&connection))
            .map_err(errors::to_py)?;
        Ok(brokers
            .into_iter()
            .map(|b| (b.id, b.host, b.port))
            .collect())
    }

    #[getter]
    fn lag(&self) -> Option<i64> {
        locked(&self.consumer).as_ref().and_then(Consumer::lag)
    }

    #[getter]
    fn servers(&self) -> &str {
        &self.servers
    }

    #[getter]
    fn group(&self) -> &str {
        &self.group
    }

    #[getter]
    fn topics(&self) -> Vec<String> {
        self.topics.clone()
    }

    #[getter]
    fn closed(&self) -> bool {
        locked(&self.consumer).is_none()
    }

    fn __repr__(&self) -> String {
        format!(
            "<Consumer servers={:?} group={:?} topics={:?}{}>",
            self.servers,
            self.group,
            self.topics,
            if self.closed() { " closed" } else { "" }
        )
    }
}

fn storage(
    format: &str,
    layout: &str,
    roll: u64,
    roll_seconds: f64,
    partition_by: &[String],
    cutouts: bool,
    tags: bool,
) -> PyResult<Storage> {
    let layout = errors::word::<Layout>("layout", layout)?;
    Ok(match errors::word::<StorageFormat>("format", format)? {
        StorageFormat::Parquet => {
            let partition_by = partition_by
                .iter()
                .map(|k| errors::word::<PartitionBy>("partition_by", k))
                .collect::<PyResult<Vec<_>>>()?;
            Storage::Parquet(
                ParquetOptions::default()
                    .with_roll(roll, Duration::from_secs_f64(roll_seconds.max(0.0)))
                    .with_partition_by(partition_by)
                    .with_cutouts(cutouts)
                    .with_matches(tags),
            )
        }
        format => Storage::named(format, layout).map_err(errors::to_py)?,
    })
}
