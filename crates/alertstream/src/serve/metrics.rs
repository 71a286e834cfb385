//! `/metrics` (Prometheus' text format) and `/health` of a running stream:
//! what the pipeline's progress and the notifier's tally say.

use crate::notify::Tally;
use crate::pipeline::Progress;
use std::fmt::Write;
use std::sync::{Arc, Mutex};

/// A run's latest state, updated by the run and read by the server.
#[derive(Clone, Default)]
pub struct Live(Arc<Mutex<LiveState>>);

#[derive(Default)]
struct LiveState {
    progress: Option<Progress>,
    tally: Option<Arc<Tally>>,
    failed: Option<String>,
}

/// What `/health` answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Health {
    /// Connected and committing.
    Up,
    /// Not yet connected, no broker reachable, or the run failed; why.
    Down(String),
}

impl Live {
    fn state(&self) -> std::sync::MutexGuard<'_, LiveState> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The run's progress (the pipeline's progress callback).
    pub fn update(&self, progress: &Progress) {
        let mut state = self.state();
        state.progress = Some(progress.clone());
    }

    /// The notifier's counts.
    pub fn with_tally(&self, tally: Arc<Tally>) {
        self.state().tally = Some(tally);
    }

    /// The run ended with an error: unhealthy from now on.
    pub fn fail(&self, reason: impl Into<String>) {
        self.state().failed = Some(reason.into());
    }

    pub fn health(&self) -> Health {
        health_of(&self.state())
    }

    /// The metrics in Prometheus' text exposition format.
    pub fn render(&self) -> String {
        let state = self.state();
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, samples: Vec<(String, f64)>| {
            let _ = writeln!(
                out,
                "# HELP alertstream_{name} {help}\n# TYPE alertstream_{name} {kind}"
            );
            for (labels, value) in samples {
                let _ = writeln!(out, "alertstream_{name}{labels} {value}");
            }
        };
        let up = health_of(&state) == Health::Up;
        metric(
            "up",
            "gauge",
            "1 while connected to a broker and committing.",
            vec![(String::new(), f64::from(u8::from(up)))],
        );
        if let Some(p) = &state.progress {
            let per_topic = |get: fn(&crate::pipeline::TopicCount) -> u64| {
                p.topics
                    .iter()
                    .map(|(t, c)| (format!("{{topic=\"{}\"}}", escape(t)), get(c) as f64))
                    .collect()
            };
            metric(
                "alerts_received_total",
                "counter",
                "Alerts received.",
                per_topic(|c| c.seen),
            );
            metric(
                "alerts_kept_total",
                "counter",
                "Alerts kept by the selection.",
                per_topic(|c| c.kept),
            );
            metric(
                "messages_quarantined_total",
                "counter",
                "Undecodable messages quarantined.",
                per_topic(|c| c.quarantined),
            );
            #[cfg(feature = "select")]
            metric(
                "alerts_dropped_total",
                "counter",
                "Alerts dropped by the selection, by criterion.",
                p.dropped
                    .by_criterion()
                    .map(|(c, n)| (format!("{{criterion=\"{c}\"}}"), n as f64))
                    .collect(),
            );
            metric(
                "alerts_committed_total",
                "counter",
                "Kept alerts made safe (saved, notified) and committed.",
                vec![(String::new(), p.committed as f64)],
            );
            metric(
                "consumer_lag",
                "gauge",
                "Messages the broker holds beyond what was fetched, per partition.",
                p.partition_lag
                    .iter()
                    .map(|(t, part, lag)| {
                        (
                            format!("{{topic=\"{}\",partition=\"{part}\"}}", escape(t)),
                            *lag as f64,
                        )
                    })
                    .collect(),
            );
            metric(
                "outage_seconds_total",
                "counter",
                "Seconds without a reachable broker.",
                vec![(String::new(), p.outage_seconds)],
            );
        }
        if let Some(t) = &state.tally {
            metric(
                "alerts_notified_total",
                "counter",
                "Kept alerts accepted by a notification destination.",
                vec![(String::new(), Tally::get(&t.notified) as f64)],
            );
            metric(
                "notifications_undelivered_total",
                "counter",
                "Alerts whose notification was written to _undelivered/.",
                vec![(String::new(), Tally::get(&t.undelivered) as f64)],
            );
            metric(
                "notification_digests_total",
                "counter",
                "Digests sent above a rate limit.",
                vec![(String::new(), Tally::get(&t.digests) as f64)],
            );
        }
        out
    }
}

fn health_of(state: &LiveState) -> Health {
    if let Some(reason) = &state.failed {
        return Health::Down(format!("the run failed: {reason}"));
    }
    match &state.progress {
        None => Health::Down("starting: not connected yet".into()),
        Some(p) => match p.outage {
            Some(seconds) => Health::Down(format!("no broker reachable for {seconds:.0} s")),
            None => Health::Up,
        },
    }
}

/// A label value as Prometheus' text format writes it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
