//! One destination's threads: a dispatcher that hands the waiting alerts
//! to a delivery thread when one is free and the rate allows (one alert
//! alone; several that waited, above the rate, in one digest), and
//! delivery threads that post them, write `_undelivered/` files and mark
//! the alerts told. Waiting alerts keep their facts (their picture only
//! while few wait; where they came from only, beyond `QUEUE_MAX`), so
//! memory stays small however slow the service.

use super::deliver::{deliver, Outcome};
use super::destination::{Destination, Service};
use super::message::{request, Content, Facts, DIGEST_DETAILED};
use super::rate::Bucket;
use super::{ledger, NotifyOptions, SharedLedger, Tally, UNDELIVERED_DIR};
use crate::durable::{file_name_part, write_atomically};
use crate::error::{Error, Result};
use crate::model::alert::Alert;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Delivery threads of a webhook (no rate limit: requests overlap, so a
/// service answering in 50 ms takes 160 alerts a second)...
const WEBHOOK_THREADS: usize = 8;
/// ...and of a chat service (one at a time: messages arrive in order).
const CHAT_THREADS: usize = 1;
/// A message waiting behind more than this many goes without its picture...
const PICTURES_QUEUED: usize = 64;
/// ...behind more than this many, only its place is kept, and a delivery
/// thread takes all that wait in one digest, rate limit or not.
const QUEUE_MAX: usize = 10_000;
/// How often the dispatcher looks again while messages wait for a thread.
const HANDOFF_POLL: Duration = Duration::from_millis(5);

/// An alert to tell: its batch, where it came from, its facts (beyond
/// `QUEUE_MAX` waiting, none) and the alert itself for its picture.
struct Note {
    batch: u64,
    place: String,
    facts: Option<Facts>,
    alert: Option<Alert>,
}

/// A message for a delivery thread: the alerts it tells, in one digest
/// when there are several.
struct Job {
    notes: Vec<Note>,
    digest: bool,
}

/// A destination's dispatcher, fed by [`Lane::send`].
pub(crate) struct Lane {
    notes: Option<Sender<Note>>,
    pictures: bool,
    name: String,
}

impl Lane {
    pub fn start(
        destination: Destination,
        index: usize,
        options: &NotifyOptions,
        ledger: SharedLedger,
        tally: Arc<Tally>,
    ) -> Result<Lane> {
        let (notes, inbox) = mpsc::channel();
        let threads = match destination.service {
            Service::Webhook => WEBHOOK_THREADS,
            _ => CHAT_THREADS,
        };
        let (jobs, work) = mpsc::sync_channel::<Job>(0);
        let work = Arc::new(Mutex::new(work));
        let agent = ureq::AgentBuilder::new()
            .timeout(options.request_timeout)
            .max_idle_connections_per_host(threads)
            // A redirect would turn the POST into a GET without its body:
            // the service would not be told, yet answer 200.
            .redirects(0)
            .build();
        let destination = Arc::new(destination);
        let name = destination.to_string();
        for i in 0..threads {
            let worker = Worker {
                destination: destination.clone(),
                index,
                agent: agent.clone(),
                give_up: options.give_up,
                undelivered: options.folder.join(UNDELIVERED_DIR),
                ledger: ledger.clone(),
                tally: tally.clone(),
            };
            let work = work.clone();
            std::thread::Builder::new()
                .name(format!("notify-{}-{i}", destination.kind()))
                .spawn(move || worker.run(&work))
                .map_err(|e| Error::Config(format!("cannot start a notification thread: {e}")))?;
        }
        let rate = destination.rate;
        std::thread::Builder::new()
            .name(format!("notify-{}", destination.kind()))
            .spawn(move || dispatch(&inbox, &jobs, Bucket::new(rate)))
            .map_err(|e| Error::Config(format!("cannot start a notification thread: {e}")))?;
        Ok(Lane {
            notes: Some(notes),
            pictures: options.pictures && destination.service == Service::Telegram,
            name,
        })
    }

    pub fn send(&self, batch: u64, facts: &Facts, alert: &Alert) -> Result<()> {
        let note = Note {
            batch,
            place: facts.place(),
            facts: Some(facts.clone()),
            alert: self.pictures.then(|| alert.clone()),
        };
        let sent = self.notes.as_ref().map(|n| n.send(note).is_ok());
        match sent {
            Some(true) => Ok(()),
            _ => Err(Error::Config(format!(
                "the notification lane to {} has stopped",
                self.name
            ))),
        }
    }

    /// No more alerts: the dispatcher sends what waits, then ends.
    pub fn close(&mut self) {
        self.notes = None;
    }
}

/// Takes notes as they come, and hands what waits to a free delivery
/// thread as the rate allows: one note alone; all that waited in one
/// digest when they waited for the rate (or beyond `QUEUE_MAX`).
fn dispatch(inbox: &Receiver<Note>, jobs: &SyncSender<Job>, mut bucket: Bucket) {
    let mut queue: VecDeque<Note> = VecDeque::new();
    let mut open = true;
    // Notes waited for a token (not only for a free delivery thread).
    let mut above_rate = false;
    loop {
        let now = Instant::now();
        if !queue.is_empty() && !bucket.ready(now) {
            above_rate = true;
        }
        while !queue.is_empty() && bucket.ready(now) {
            let several = queue.len() > 1 && (above_rate || queue.len() >= QUEUE_MAX);
            let notes: Vec<Note> = match several {
                true => queue.drain(..).collect(),
                false => queue.pop_front().into_iter().collect(),
            };
            let digest = several || notes.iter().any(|n| n.facts.is_none());
            match jobs.try_send(Job { notes, digest }) {
                Ok(()) => {
                    bucket.take(now);
                    above_rate = false;
                }
                // Every delivery thread is busy: the notes wait again.
                Err(TrySendError::Full(job)) => {
                    for note in job.notes.into_iter().rev() {
                        queue.push_front(note);
                    }
                    break;
                }
                Err(TrySendError::Disconnected(_)) => return,
            }
        }
        let wait = match (queue.is_empty(), bucket.ready(now)) {
            (true, _) => None,
            (false, true) => Some(HANDOFF_POLL),
            (false, false) => Some(bucket.wait(now).max(HANDOFF_POLL)),
        };
        let received = match (open, wait) {
            (true, None) => inbox.recv().map_err(|_| RecvTimeoutError::Disconnected),
            (true, Some(wait)) => inbox.recv_timeout(wait),
            (false, None) => return,
            (false, Some(wait)) => {
                std::thread::sleep(wait);
                Err(RecvTimeoutError::Timeout)
            }
        };
        match received {
            Ok(mut note) => {
                if queue.len() >= PICTURES_QUEUED {
                    note.alert = None;
                }
                if queue.len() >= QUEUE_MAX {
                    note.facts = None;
                }
                queue.push_back(note);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => open = false,
        }
    }
}

impl Job {
    /// What the message says: one alert's facts, or a digest of them.
    fn content(&self) -> Content {
        match (
            self.digest,
            self.notes.first().and_then(|n| n.facts.clone()),
        ) {
            (false, Some(facts)) => Content::One(Box::new(facts)),
            _ => Content::Digest {
                count: self.notes.len(),
                facts: self
                    .notes
                    .iter()
                    .filter_map(|n| n.facts.clone())
                    .take(DIGEST_DETAILED)
                    .collect(),
            },
        }
    }

    fn batches(&self) -> Vec<u64> {
        self.notes.iter().map(|n| n.batch).collect()
    }
}

/// A delivery thread.
struct Worker {
    destination: Arc<Destination>,
    /// Which destination of its service (for file names).
    index: usize,
    agent: ureq::Agent,
    give_up: Duration,
    undelivered: PathBuf,
    ledger: SharedLedger,
    tally: Arc<Tally>,
}

impl Worker {
    fn run(&self, work: &Mutex<Receiver<Job>>) {
        loop {
            let job = match work.lock().unwrap_or_else(|e| e.into_inner()).recv() {
                Ok(job) => job,
                Err(_) => return,
            };
            self.deliver(job);
        }
    }

    fn deliver(&self, job: Job) {
        let content = job.content();
        let alert = job
            .notes
            .first()
            .filter(|_| !job.digest)
            .and_then(|n| n.alert.as_ref());
        let request = request(&self.destination, &content, alert.and_then(picture));
        let outcome = deliver(
            &self.agent,
            self.destination.service,
            &request,
            self.give_up,
        );
        let told = job.notes.len() as u64;
        if let Outcome::Undelivered { .. } = &outcome {
            if let Err(e) = self.keep_undelivered(&job, &content, &request.body, &outcome) {
                ledger(&self.ledger).fail(e.to_string());
                return;
            }
            self.tally.undelivered.fetch_add(told, Ordering::Relaxed);
        } else {
            self.tally.notified.fetch_add(told, Ordering::Relaxed);
            if job.digest {
                self.tally.digests.fetch_add(1, Ordering::Relaxed);
            }
        }
        ledger(&self.ledger).settle(&job.batches());
    }

    /// `_undelivered/<service>-<n>-<topic>-<partition>-<offset>.json` (`n`:
    /// which destination of that service): where it was going, what was
    /// sent, what the service answered, and where every alert it told
    /// came from.
    fn keep_undelivered(
        &self,
        job: &Job,
        content: &Content,
        body: &[u8],
        outcome: &Outcome,
    ) -> Result<()> {
        let Outcome::Undelivered {
            status,
            response,
            reason,
            attempts,
        } = outcome
        else {
            return Ok(());
        };
        let sent = serde_json::from_slice::<serde_json::Value>(body)
            .unwrap_or_else(|_| String::from_utf8_lossy(&body[..body.len().min(4096)]).into());
        let facts = match content {
            Content::One(f) => vec![(**f).clone()],
            Content::Digest { facts, .. } => facts.clone(),
        };
        debug_assert!(facts.len() <= job.notes.len());
        let record = serde_json::json!({
            "destination": self.destination.to_string(),
            "reason": reason,
            "status": status,
            "response": response,
            "attempts": attempts,
            "given_up_at_unix": SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64()),
            "alerts": facts,
            "places": job.notes.iter().map(|n| n.place.as_str()).collect::<Vec<_>>(),
            "request": sent,
        });
        std::fs::create_dir_all(&self.undelivered).map_err(|e| Error::io(&self.undelivered, e))?;
        let kind = match job.digest {
            false => format!("{}-{}", self.destination.kind(), self.index),
            true => format!("{}-{}-digest", self.destination.kind(), self.index),
        };
        let first = job.notes.first().map_or("-", |n| n.place.as_str());
        let name = file_name_part(&format!("{kind}-{}", first.replace(['/', '@'], "-")));
        let path = self.undelivered.join(format!("{name}.json"));
        let text = serde_json::to_vec_pretty(&record).unwrap_or_default();
        write_atomically(&path, &text)
    }
}

/// The alert's picture for a service that shows one; a picture that
/// cannot be drawn leaves the message as text.
#[cfg(feature = "picture")]
fn picture(alert: &Alert) -> Option<Vec<u8>> {
    use crate::picture::{render, PictureFormat};
    let stamps = alert.cutouts().unwrap_or_default();
    render(alert, &stamps, PictureFormat::Png).ok()
}

#[cfg(not(feature = "picture"))]
fn picture(_: &Alert) -> Option<Vec<u8>> {
    None
}
