//! Posting one request until the service accepts it, or giving up: HTTP
//! 429 waits for Retry-After (or Telegram's `parameters.retry_after`), 5xx
//! and network failures retry with exponential backoff, any other refusal
//! (400, 403, 404...) is final. Errors never include the URL (it may hold
//! a secret).

use crate::notify::destination::Service;
use crate::notify::message::Request;
use std::time::{Duration, Instant};

/// The first wait after a failure; each next one doubles...
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// ...up to this.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// The longest Retry-After honoured in one wait.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// How a delivery ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Accepted,
    /// Refused for good, or still failing when the time was up.
    Undelivered {
        status: Option<u16>,
        response: String,
        reason: String,
        attempts: u32,
    },
}

/// One attempt's answer.
enum Answer {
    Accepted,
    /// Worth another try after this long (or the backoff).
    Retry {
        status: Option<u16>,
        response: String,
        reason: String,
        after: Option<Duration>,
    },
    Final {
        status: Option<u16>,
        response: String,
        reason: String,
    },
}

/// Posts `request` until it is accepted or `give_up` has passed.
pub(crate) fn deliver(
    agent: &ureq::Agent,
    service: Service,
    request: &Request,
    give_up: Duration,
) -> Outcome {
    let deadline = Instant::now() + give_up;
    let mut backoff = FIRST_BACKOFF;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let (status, response, reason, after) = match attempt(agent, service, request) {
            Answer::Accepted => return Outcome::Accepted,
            Answer::Final {
                status,
                response,
                reason,
            } => {
                return Outcome::Undelivered {
                    status,
                    response,
                    reason,
                    attempts,
                }
            }
            Answer::Retry {
                status,
                response,
                reason,
                after,
            } => (status, response, reason, after),
        };
        let wait = after.unwrap_or(backoff).min(MAX_RETRY_AFTER);
        backoff = (backoff * 2).min(MAX_BACKOFF);
        if Instant::now() + wait > deadline {
            let reason = format!(
                "{reason}; gave up after {attempts} attempt(s) in {} s",
                give_up.as_secs()
            );
            return Outcome::Undelivered {
                status,
                response,
                reason,
                attempts,
            };
        }
        std::thread::sleep(wait);
    }
}

fn attempt(agent: &ureq::Agent, service: Service, request: &Request) -> Answer {
    let sent = agent
        .post(&request.url)
        .set("Content-Type", &request.content_type)
        .send_bytes(&request.body);
    match sent {
        Ok(response) => {
            let status = response.status();
            let body = response.into_string().unwrap_or_default();
            if !(200..300).contains(&status) {
                return Answer::Final {
                    status: Some(status),
                    response: body,
                    reason: format!("HTTP {status}: redirected; give the URL it moved to"),
                };
            }
            // Telegram answers {"ok": false} with an error code; 200 with
            // anything else than ok:true is not a delivery.
            if service == Service::Telegram && !telegram_ok(&body) {
                return Answer::Final {
                    status: Some(status),
                    response: body,
                    reason: "Telegram did not say ok".into(),
                };
            }
            Answer::Accepted
        }
        Err(ureq::Error::Status(status, response)) => {
            let header = response.header("Retry-After").map(str::to_owned);
            let body = response.into_string().unwrap_or_default();
            let reason = format!("HTTP {status}");
            match status {
                429 => {
                    let after = retry_after(header.as_deref(), &body);
                    Answer::Retry {
                        status: Some(status),
                        response: body,
                        reason,
                        after,
                    }
                }
                500..=599 | 408 => Answer::Retry {
                    status: Some(status),
                    response: body,
                    reason,
                    after: None,
                },
                _ => Answer::Final {
                    status: Some(status),
                    response: body,
                    reason,
                },
            }
        }
        // A transport error's text names the URL: say only its kind.
        Err(ureq::Error::Transport(t)) => Answer::Retry {
            status: None,
            response: String::new(),
            reason: match t.message() {
                Some(m) => format!("{}: {m}", t.kind()),
                None => t.kind().to_string(),
            },
            after: None,
        },
    }
}

fn telegram_ok(body: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(body).is_ok_and(|v| v["ok"] == true)
}

/// Seconds from a Retry-After header, or from Telegram's JSON
/// (`parameters.retry_after`). An HTTP date is not used: the backoff is.
fn retry_after(header: Option<&str>, body: &str) -> Option<Duration> {
    let from_header = header.and_then(|h| h.trim().parse::<f64>().ok());
    let from_body = || {
        let v: serde_json::Value = serde_json::from_str(body).ok()?;
        v["parameters"]["retry_after"].as_f64()
    };
    from_header
        .or_else(from_body)
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s.min(MAX_RETRY_AFTER.as_secs_f64())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_comes_from_the_header_or_telegrams_parameters() {
        assert_eq!(retry_after(Some("3"), ""), Some(Duration::from_secs(3)));
        let telegram = r#"{"ok":false,"error_code":429,"parameters":{"retry_after":2}}"#;
        assert_eq!(retry_after(None, telegram), Some(Duration::from_secs(2)));
        assert_eq!(retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT"), ""), None);
        assert_eq!(retry_after(Some("1e300"), ""), Some(MAX_RETRY_AFTER));
    }
}
