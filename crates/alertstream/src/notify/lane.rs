//! One destination's threads: a dispatcher that applies the rate limit
//! (alerts above it wait in a digest) and queues messages, and delivery
//! threads that post them, write `_undelivered/` files and mark the
//! alerts told. Only the alert's facts wait in the queue; the alert
//! itself (for its picture) only while the queue is short.

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
/// A message waiting behind more than this many goes without its picture.
const PICTURES_QUEUED: usize = 64;
/// How often the dispatcher looks again while messages wait for a thread.
const HANDOFF_POLL: Duration = Duration::from_millis(5);

/// An alert to tell.
struct Note {
    batch: u64,
    facts: Facts,
    alert: Option<Alert>,
}

/// A message for a delivery thread: what it covers, one batch per alert.
struct Job {
    content: Content,
    batches: Vec<u64>,
    alert: Option<Alert>,
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
            .build();
        let destination = Arc::new(destination);
        let name = destination.to_string();
        for i in 0..threads {
            let worker = Worker {
                destination: destination.clone(),
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
            facts: facts.clone(),
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

/// Takes notes as they come: within the rate they queue for a delivery
/// thread, above it they wait in the digest, sent when the rate allows.
fn dispatch(inbox: &Receiver<Note>, jobs: &SyncSender<Job>, mut bucket: Bucket) {
    let mut queue: VecDeque<Job> = VecDeque::new();
    let mut digest: Vec<Note> = Vec::new();
    let mut open = true;
    while open || !queue.is_empty() || !digest.is_empty() {
        let now = Instant::now();
        if !digest.is_empty() && bucket.take(now) {
            queue.push_back(digest_job(std::mem::take(&mut digest)));
        }
        // Hand what waits to the delivery threads, as many as are free.
        while let Some(job) = queue.pop_front() {
            match jobs.try_send(job) {
                Ok(()) => {}
                Err(TrySendError::Full(job)) => {
                    queue.push_front(job);
                    break;
                }
                Err(TrySendError::Disconnected(_)) => return,
            }
        }
        let wait = match (queue.is_empty(), digest.is_empty()) {
            (false, _) => HANDOFF_POLL,
            (true, false) => bucket.wait(Instant::now()).max(HANDOFF_POLL),
            (true, true) if open => Duration::MAX,
            (true, true) => break,
        };
        let received = match open {
            true if wait == Duration::MAX => {
                inbox.recv().map_err(|_| RecvTimeoutError::Disconnected)
            }
            true => inbox.recv_timeout(wait),
            false => {
                std::thread::sleep(wait);
                Err(RecvTimeoutError::Timeout)
            }
        };
        match received {
            Ok(mut note) => {
                if bucket.take(Instant::now()) && digest.is_empty() {
                    if queue.len() >= PICTURES_QUEUED {
                        note.alert = None;
                    }
                    queue.push_back(Job {
                        content: Content::One(Box::new(note.facts)),
                        batches: vec![note.batch],
                        alert: note.alert,
                    });
                } else {
                    note.alert = None;
                    digest.push(note);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => open = false,
        }
    }
}

fn digest_job(notes: Vec<Note>) -> Job {
    let count = notes.len();
    let batches = notes.iter().map(|n| n.batch).collect();
    let facts = notes
        .into_iter()
        .take(DIGEST_DETAILED)
        .map(|n| n.facts)
        .collect();
    Job {
        content: Content::Digest { count, facts },
        batches,
        alert: None,
    }
}

/// A delivery thread.
struct Worker {
    destination: Arc<Destination>,
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
        let picture = job.alert.as_ref().and_then(picture);
        let request = request(&self.destination, &job.content, picture);
        let outcome = deliver(
            &self.agent,
            self.destination.service,
            &request,
            self.give_up,
        );
        let told = job.batches.len() as u64;
        if let Outcome::Undelivered { .. } = &outcome {
            if let Err(e) = self.keep_undelivered(&job.content, &request.body, &outcome) {
                ledger(&self.ledger).fail(e.to_string());
                return;
            }
            self.tally.undelivered.fetch_add(told, Ordering::Relaxed);
        } else {
            self.tally.notified.fetch_add(told, Ordering::Relaxed);
            if matches!(job.content, Content::Digest { .. }) {
                self.tally.digests.fetch_add(1, Ordering::Relaxed);
            }
        }
        ledger(&self.ledger).settle(&job.batches);
    }

    /// `_undelivered/<service>-<topic>-<partition>-<offset>.json`: where it
    /// was going, what was sent, what the service answered.
    fn keep_undelivered(&self, content: &Content, body: &[u8], outcome: &Outcome) -> Result<()> {
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
        let record = serde_json::json!({
            "destination": self.destination.to_string(),
            "reason": reason,
            "status": status,
            "response": response,
            "attempts": attempts,
            "given_up_at_unix": SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64()),
            "alerts": facts,
            "request": sent,
        });
        std::fs::create_dir_all(&self.undelivered).map_err(|e| Error::io(&self.undelivered, e))?;
        let kind = match content {
            Content::One(_) => self.destination.kind().to_owned(),
            Content::Digest { .. } => format!("{}-digest", self.destination.kind()),
        };
        let name = file_name_part(&format!(
            "{kind}-{}",
            content.place().replace(['/', '@'], "-")
        ));
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
