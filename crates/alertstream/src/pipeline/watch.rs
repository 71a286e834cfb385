//! What a run watches besides its alerts: whether a broker is reachable
//! (an outage is reported when it starts, every 30 s, and when it ends) and
//! whether the group gave this member partitions (a member without any is
//! reported while messages wait for the group, and a run with an idle
//! timeout that never gets one ends with [`Error::NoPartitions`]).

use super::{Options, Stats};
use crate::error::{Error, Result};
use crate::kafka::consumer::Health;
use crate::kafka::Consumer;
use std::time::{Duration, Instant};

/// How often an outage, or a member without partitions, is reported.
pub(super) const REMINDER: Duration = Duration::from_secs(30);
/// How long a question to the broker about the group may take.
const QUERY_TIMEOUT: Duration = Duration::from_secs(5);
/// A run with an idle timeout waits at least this many session timeouts
/// for partitions: a crashed member's are handed out after one.
const SESSIONS_TO_WAIT: u32 = 3;

pub(super) struct Watch {
    started: Instant,
    idle_timeout: Option<Duration>,
    /// The outage being waited out and when it was last reported.
    outage: Option<(Instant, Instant)>,
    first_assigned: Option<Instant>,
    /// Since when this member has had no partition, and when that was
    /// last reported.
    unassigned: Option<(Instant, Option<Instant>)>,
    /// The partitions last seen assigned, to log their changes.
    partitions: usize,
}

impl Watch {
    pub fn new(options: &Options) -> Self {
        let now = Instant::now();
        Watch {
            started: now,
            idle_timeout: options.idle_timeout,
            outage: None,
            first_assigned: None,
            unassigned: Some((now, None)),
            partitions: 0,
        }
    }

    /// How long the outage being waited out has lasted (counted in
    /// `Stats::outage_seconds` once it ends).
    pub fn outage(&self) -> Option<f64> {
        self.outage.map(|(since, _)| since.elapsed().as_secs_f64())
    }

    /// When the group first gave this member partitions.
    pub fn first_assigned(&self) -> Option<Instant> {
        self.first_assigned
    }

    /// Looks at the broker's health and the assignment; fails when the
    /// run must end for want of partitions.
    pub fn look(&mut self, consumer: &Consumer, stats: &mut Stats) -> Result<()> {
        self.watch_health(consumer, stats);
        self.watch_assignment(consumer)
    }

    /// Reports an outage when it starts, every 30 s, and when it ends.
    fn watch_health(&mut self, consumer: &Consumer, stats: &mut Stats) {
        match (consumer.health(), self.outage) {
            (Health::Connected, None) => {}
            (Health::Connected, Some((since, _))) => {
                self.outage = None;
                stats.outage_seconds += since.elapsed().as_secs_f64();
                log::warn!(
                    "broker reachable again at {} after {:.0} s (outage {} of this run)",
                    consumer.servers(),
                    since.elapsed().as_secs_f64(),
                    stats.outages
                );
            }
            (Health::Outage { since, reason }, outage) => {
                let due = outage.is_none_or(|(_, told)| told.elapsed() >= REMINDER);
                if outage.is_none() {
                    stats.outages += 1;
                }
                if due {
                    self.outage = Some((since, Instant::now()));
                    let why = reason.map(|r| format!(" ({r})")).unwrap_or_default();
                    log::warn!(
                        "no broker reachable at {} for {:.0} s{why}; waiting for it, Ctrl-C to stop",
                        consumer.servers(),
                        since.elapsed().as_secs_f64()
                    );
                }
            }
        }
    }

    fn watch_assignment(&mut self, consumer: &Consumer) -> Result<()> {
        let assignment = consumer.assignment();
        self.first_assigned = self.first_assigned.or(assignment.since);
        if assignment.partitions != self.partitions {
            self.partitions = assignment.partitions;
            log::debug!(
                "group {} assigned {} partition(s) to this member",
                consumer.group(),
                assignment.partitions
            );
        }
        if assignment.partitions > 0 {
            self.unassigned = None;
            return Ok(());
        }
        let (since, told) = *self.unassigned.get_or_insert((Instant::now(), None));
        if self.first_assigned.is_none() {
            if let Some(timeout) = self.idle_timeout {
                let limit = timeout.max(consumer.session_timeout() * SESSIONS_TO_WAIT);
                if self.started.elapsed() >= limit {
                    return Err(self.no_partitions(consumer, limit));
                }
            }
        }
        let due = since.elapsed() >= REMINDER && told.is_none_or(|t| t.elapsed() >= REMINDER);
        if due {
            self.unassigned = Some((since, Some(Instant::now())));
            self.report_unassigned(consumer, since.elapsed());
        }
        Ok(())
    }

    /// Says so when messages wait for a group that gives this member none.
    fn report_unassigned(&self, consumer: &Consumer, waited: Duration) {
        match consumer.waiting(QUERY_TIMEOUT) {
            Ok(waiting) if waiting.unread > 0 => log::warn!(
                "group {} has assigned no partitions for {:.0} s while {} messages wait in its \
                 topics; a member that stopped without leaving may hold them until its session \
                 times out; the broker may also have stranded the group",
                consumer.group(),
                waited.as_secs_f64(),
                waiting.unread
            ),
            Ok(_) => log::debug!("no partitions, and no message waits for the group"),
            Err(e) => log::debug!("cannot tell what waits for the group: {e}"),
        }
    }

    fn no_partitions(&self, consumer: &Consumer, waited: Duration) -> Error {
        let reason = match consumer.waiting(QUERY_TIMEOUT) {
            Ok(w) if w.topics == 0 => "no topic of the broker matches the subscription".into(),
            Ok(w) if w.unread > 0 => format!(
                "{} messages wait in its topics; other members hold every partition, or a \
                 member that stopped without leaving holds them until its session times out, \
                 or the broker stranded the group",
                w.unread
            ),
            Ok(_) => "the group's other members hold every partition".into(),
            Err(e) => format!("and the broker cannot say why ({e})"),
        };
        Error::NoPartitions {
            group: consumer.group().to_owned(),
            seconds: waited.as_secs(),
            reason,
        }
    }
}
