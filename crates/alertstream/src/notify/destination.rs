//! Where notifications go: Slack incoming webhooks, Telegram chats (Bot
//! API), generic JSON webhooks. Secrets (a Slack webhook's path, a bot
//! token, a webhook's query) never appear in what a destination displays.

use crate::error::{Error, Result};
use crate::notify::rate::Rate;
use std::fmt;

/// The environment variable holding a Telegram bot's token.
pub const TELEGRAM_TOKEN_ENV: &str = "ALERTSTREAM_TELEGRAM_TOKEN";
/// The environment variable holding a Slack webhook URL, for `slack` alone.
pub const SLACK_WEBHOOK_ENV: &str = "ALERTSTREAM_SLACK_WEBHOOK_URL";
/// The environment variable that points Telegram's Bot API elsewhere (a
/// local Bot API server, or a test).
pub const TELEGRAM_API_ENV: &str = "ALERTSTREAM_TELEGRAM_API";
/// Telegram's Bot API.
pub const TELEGRAM_API: &str = "https://api.telegram.org";

/// The kind of service a destination is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Slack,
    Telegram,
    Webhook,
}

impl Service {
    pub fn name(self) -> &'static str {
        match self {
            Service::Slack => "slack",
            Service::Telegram => "telegram",
            Service::Webhook => "webhook",
        }
    }

    /// What the service accepts without refusing: Slack and Telegram ask
    /// for about one message a second per channel or chat; a webhook has
    /// no stated limit.
    pub fn default_rate(self) -> Option<Rate> {
        match self {
            Service::Slack | Service::Telegram => Some(Rate::per_second(1)),
            Service::Webhook => None,
        }
    }
}

/// One place to notify; see the module documentation.
#[derive(Clone)]
pub struct Destination {
    pub service: Service,
    /// Where to post (Telegram: the bot's base, `<api>/bot<token>`).
    url: String,
    /// Telegram's chat.
    pub chat_id: Option<String>,
    /// At most this many messages; the rest go in a digest.
    pub rate: Option<Rate>,
}

impl Destination {
    /// Parses `slack:URL`, `slack` (the URL from [`SLACK_WEBHOOK_ENV`]),
    /// `telegram:CHAT_ID` (the token from [`TELEGRAM_TOKEN_ENV`], or
    /// `telegram_token` given) or `webhook:URL`. `env` reads the
    /// environment (a closure, so that tests and front ends can supply it).
    ///
    /// ```
    /// use alertstream::notify::{Destination, Service};
    /// let env = |name: &str| (name == "ALERTSTREAM_TELEGRAM_TOKEN").then(|| "123:ABC".to_owned());
    /// let d = Destination::parse("telegram:-100123", None, env)?;
    /// assert_eq!(d.service, Service::Telegram);
    /// assert_eq!(d.to_string(), "telegram:-100123");
    /// assert!(!format!("{d:?}").contains("ABC"));
    /// # Ok::<(), alertstream::Error>(())
    /// ```
    pub fn parse(
        spec: &str,
        telegram_token: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Destination> {
        let (kind, rest) = spec.split_once(':').unwrap_or((spec, ""));
        let bad = |why: String| {
            Error::Config(format!(
                "notification destination '{}': {why}",
                redact_spec(spec)
            ))
        };
        let service = match kind {
            "slack" => Service::Slack,
            "telegram" => Service::Telegram,
            "webhook" => Service::Webhook,
            _ => {
                return Err(bad(
                    "expected slack:URL, telegram:CHAT_ID or webhook:URL".into()
                ))
            }
        };
        let (url, chat_id) = match service {
            Service::Slack => {
                let url = match rest {
                    "" => env(SLACK_WEBHOOK_ENV).ok_or_else(|| {
                        bad(format!(
                            "no webhook URL: give slack:URL or set {SLACK_WEBHOOK_ENV}"
                        ))
                    })?,
                    url => url.to_owned(),
                };
                (url, None)
            }
            Service::Telegram => {
                if rest.is_empty() {
                    return Err(bad(
                        "no chat: give telegram:CHAT_ID (a number, or @channel)".into(),
                    ));
                }
                let token = telegram_token
                    .map(str::to_owned)
                    .or_else(|| env(TELEGRAM_TOKEN_ENV));
                let token = token.ok_or_else(|| {
                    bad(format!("no bot token: set {TELEGRAM_TOKEN_ENV} (BotFather gives it), never on the command line"))
                })?;
                let api = env(TELEGRAM_API_ENV).unwrap_or_else(|| TELEGRAM_API.to_owned());
                (
                    format!("{}/bot{token}", api.trim_end_matches('/')),
                    Some(rest.to_owned()),
                )
            }
            Service::Webhook => (rest.to_owned(), None),
        };
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(bad("the URL must start with https:// or http://".into()));
        }
        Ok(Destination {
            service,
            url,
            chat_id,
            rate: service.default_rate(),
        })
    }

    /// The URL to post to (for Telegram, a Bot API method's).
    pub(crate) fn url(&self, method: &str) -> String {
        match self.service {
            Service::Telegram => format!("{}/{method}", self.url),
            _ => self.url.clone(),
        }
    }

    /// A short name for file names: the service.
    pub fn kind(&self) -> &'static str {
        self.service.name()
    }
}

/// `scheme://host[:port]` and no more: a Slack webhook's path is its
/// secret, a query or a `user:password@` may hold one.
fn origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    format!("{scheme}://{host}")
}

/// A spec as it may be shown: the URL cut to its origin; anything else
/// after a service's name hidden, but a Telegram chat.
fn redact_spec(spec: &str) -> String {
    match spec.split_once(':') {
        Some(("telegram", chat)) => format!("telegram:{chat}"),
        Some((kind, rest)) if rest.contains("://") => format!("{kind}:{}/***", origin(rest)),
        Some((kind, _)) => format!("{kind}:***"),
        None => spec.to_owned(),
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.service {
            Service::Telegram => write!(f, "telegram:{}", self.chat_id.as_deref().unwrap_or("")),
            service => write!(f, "{}:{}/***", service.name(), origin(&self.url)),
        }
    }
}

impl fmt::Debug for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Destination")
            .field("to", &self.to_string())
            .field("rate", &self.rate)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn secrets_are_not_shown() {
        let d = Destination::parse(
            "slack:https://hooks.slack.com/services/T0/B0/SECRET",
            None,
            none,
        )
        .unwrap();
        assert_eq!(d.to_string(), "slack:https://hooks.slack.com/***");
        assert!(!format!("{d:?}").contains("SECRET"));
        let d =
            Destination::parse("webhook:http://127.0.0.1:9/hook?key=SECRET", None, none).unwrap();
        assert!(!d.to_string().contains("SECRET"));
        let e = Destination::parse("slak:https://x/SECRET", None, none).unwrap_err();
        assert!(!e.to_string().contains("SECRET"), "{e}");
        let e =
            Destination::parse("slack:hooks.slack.com/services/SECRET", None, none).unwrap_err();
        assert!(!e.to_string().contains("SECRET"), "{e}");
        for url in ["https://u:SECRET@host/x", "https://host?key=SECRET"] {
            let d = Destination::parse(&format!("webhook:{url}"), None, none).unwrap();
            assert!(!d.to_string().contains("SECRET"), "{d}");
        }
    }

    #[test]
    fn telegram_needs_a_token_from_outside_the_command_line() {
        let e = Destination::parse("telegram:42", None, none).unwrap_err();
        assert!(e.to_string().contains(TELEGRAM_TOKEN_ENV), "{e}");
        let d = Destination::parse("telegram:42", Some("1:T"), none).unwrap();
        assert_eq!(
            d.url("sendMessage"),
            "https://api.telegram.org/bot1:T/sendMessage"
        );
        assert!(!format!("{d} {d:?}").contains("1:T"));
    }
}
