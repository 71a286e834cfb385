//! What a notification says about an alert, and the request each service
//! takes it as: Slack's `{"text"}` (mrkdwn links), Telegram's sendMessage
//! or sendPhoto (the picture from `view`), a webhook's JSON of the facts.

use crate::model::alert::{Alert, Brightness};
use crate::model::portal::{classification, portal_links, Link};
use crate::model::summary::Summary;
use crate::notify::destination::{Destination, Service};
use serde::Serialize;

/// Telegram's longest photo caption, in characters.
const CAPTION_MAX: usize = 1024;
/// Telegram's longest message, in characters.
const TEXT_MAX: usize = 4096;
/// A digest names at most this many objects in its text...
const DIGEST_NAMED: usize = 10;
/// ...and gives a webhook at most this many alerts' facts.
pub(crate) const DIGEST_DETAILED: usize = 1000;

/// The facts of one alert that a notification tells.
#[derive(Debug, Clone, Serialize)]
pub struct Facts {
    pub survey: &'static str,
    pub topic: Option<String>,
    pub partition: Option<i32>,
    pub offset: Option<i64>,
    pub object_id: Option<String>,
    pub alert_id: Option<String>,
    pub time_utc: Option<String>,
    pub band: Option<String>,
    pub mag: Option<f64>,
    pub mag_err: Option<f64>,
    pub flux_njy: Option<f64>,
    pub flux_err_njy: Option<f64>,
    pub class: Option<String>,
    pub watchlist: Vec<String>,
    pub skymap_probdensity: Option<f64>,
    pub links: Vec<Link>,
}

impl Facts {
    pub fn of(alert: &Alert) -> Facts {
        let summary = Summary::of(alert);
        let kafka = alert.kafka();
        let matches = alert.matches();
        let text = |id: Option<crate::model::alert::Id>| id.map(|i| i.to_string());
        Facts {
            survey: alert.survey().name(),
            topic: kafka.map(|k| k.topic.clone()),
            partition: kafka.map(|k| k.partition),
            offset: kafka.map(|k| k.offset),
            object_id: text(alert.object_id()),
            alert_id: text(alert.alert_id()),
            time_utc: summary.time_utc,
            band: summary.band,
            mag: summary.mag,
            mag_err: summary.mag_err,
            flux_njy: summary.flux_njy,
            flux_err_njy: summary.flux_err_njy,
            class: classification(alert),
            watchlist: matches.map(|m| m.targets.clone()).unwrap_or_default(),
            skymap_probdensity: matches.and_then(|m| m.probdensity),
            links: portal_links(alert),
        }
    }

    /// `ZTF21abc` or the alert id, or the message's place.
    pub fn name(&self) -> String {
        self.object_id
            .clone()
            .or_else(|| self.alert_id.clone())
            .unwrap_or_else(|| self.place())
    }

    /// `topic/partition@offset`, or `-`.
    pub fn place(&self) -> String {
        match (&self.topic, self.partition, self.offset) {
            (Some(t), Some(p), Some(o)) => format!("{t}/{p}@{o}"),
            _ => "-".into(),
        }
    }

    fn brightness(&self) -> Option<String> {
        let measured = match (self.mag, self.flux_njy) {
            (Some(mag), _) => Brightness::Magnitude {
                mag,
                err: self.mag_err,
            },
            (None, Some(flux)) => Brightness::FluxNjy {
                flux,
                err: self.flux_err_njy,
            },
            _ => return None,
        };
        Some(match &self.band {
            Some(band) => format!("{band} {measured}"),
            None => measured.to_string(),
        })
    }

    /// The lines of text, with links drawn by `link` (each service its own way).
    fn lines(&self, link: impl Fn(&Link) -> String) -> Vec<String> {
        let mut head = self.name();
        head += &format!(" ({})", self.survey);
        if let Some(id) = self.alert_id.as_ref().filter(|_| self.object_id.is_some()) {
            head += &format!(" · alert {id}");
        }
        let mut lines = vec![head];
        let when: Vec<String> = [self.time_utc.clone(), self.brightness()]
            .into_iter()
            .flatten()
            .collect();
        if !when.is_empty() {
            lines.push(when.join(" · "));
        }
        if let Some(class) = &self.class {
            lines.push(format!("class: {class}"));
        }
        if !self.watchlist.is_empty() {
            lines.push(format!("watchlist: {}", self.watchlist.join(", ")));
        }
        if let Some(density) = self.skymap_probdensity {
            lines.push(format!("sky map density: {density:.4e} /sr"));
        }
        if !self.links.is_empty() {
            lines.push(self.links.iter().map(link).collect::<Vec<_>>().join(" · "));
        }
        lines
    }
}

/// What one notification covers: an alert, or a digest of several that
/// came faster than the rate allows.
#[derive(Debug, Clone)]
pub(crate) enum Content {
    One(Box<Facts>),
    Digest { count: usize, facts: Vec<Facts> },
}

impl Content {
    fn text(&self, link: impl Fn(&Link) -> String) -> String {
        match self {
            Content::One(facts) => facts.lines(link).join("\n"),
            Content::Digest { count, facts } => {
                let names: Vec<String> = facts.iter().take(DIGEST_NAMED).map(Facts::name).collect();
                let more = count.saturating_sub(names.len());
                let mut text = format!(
                    "{count} more alert(s), together to keep within the rate: {}",
                    names.join(", ")
                );
                if more > 0 {
                    text += &format!(" and {more} more");
                }
                text
            }
        }
    }
}

/// An HTTP request, ready to post.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub url: String,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// The request `destination` takes for `content`, with a picture for a
/// service that shows one.
pub(crate) fn request(
    destination: &Destination,
    content: &Content,
    picture: Option<Vec<u8>>,
) -> Request {
    let json = |url: String, value: serde_json::Value| Request {
        url,
        content_type: "application/json".into(),
        body: value.to_string().into_bytes(),
    };
    match destination.service {
        Service::Slack => {
            let text = content.text(|l| format!("<{}|{}>", l.url, l.name));
            json(
                destination.url(""),
                serde_json::json!({ "text": text, "unfurl_links": false }),
            )
        }
        Service::Telegram => {
            let chat = destination.chat_id.clone().unwrap_or_default();
            let text = content.text(|l| format!("{}: {}", l.name, l.url));
            match picture {
                Some(png) => photo(destination, &chat, &cut(&text, CAPTION_MAX), &png),
                None => json(
                    destination.url("sendMessage"),
                    serde_json::json!({
                        "chat_id": chat,
                        "text": cut(&text, TEXT_MAX),
                        "link_preview_options": { "is_disabled": true },
                    }),
                ),
            }
        }
        Service::Webhook => {
            let text = content.text(|l| format!("{}: {}", l.name, l.url));
            let value = match content {
                Content::One(facts) => {
                    let mut v = serde_json::to_value(facts).unwrap_or_default();
                    v["text"] = text.into();
                    v
                }
                Content::Digest { count, facts } => serde_json::json!({
                    "text": text,
                    "digest": true,
                    "count": count,
                    "alerts": facts,
                }),
            };
            json(destination.url(""), value)
        }
    }
}

/// Telegram's sendPhoto as multipart/form-data.
fn photo(destination: &Destination, chat: &str, caption: &str, png: &[u8]) -> Request {
    let boundary = format!("alertstream-{:016x}", xxhash_rust::xxh3::xxh3_64(png));
    let mut body = Vec::with_capacity(png.len() + 512);
    for (name, value) in [("chat_id", chat), ("caption", caption)] {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"alert.png\"\r\n\
             Content-Type: image/png\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(png);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Request {
        url: destination.url("sendPhoto"),
        content_type: format!("multipart/form-data; boundary={boundary}"),
        body,
    }
}

/// At most `max` characters, an ellipsis at the end when cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts {
            survey: "ztf",
            topic: Some("ztf_public".into()),
            partition: Some(0),
            offset: Some(7),
            object_id: Some("ZTF21aaxtctv".into()),
            alert_id: Some("1549473362115015004".into()),
            time_utc: Some("2021-04-12T11:20:27Z".into()),
            band: Some("g".into()),
            mag: Some(17.5),
            mag_err: Some(0.05),
            flux_njy: None,
            flux_err_njy: None,
            class: Some("SN candidate".into()),
            watchlist: vec!["SN2021abc".into()],
            skymap_probdensity: None,
            links: vec![Link {
                name: "Fink",
                url: "https://fink-portal.org/ZTF21aaxtctv".into(),
            }],
        }
    }

    #[test]
    fn a_slack_message_names_the_object_brightness_class_match_and_portal() {
        let d =
            Destination::parse("slack:https://hooks.slack.com/services/x", None, |_| None).unwrap();
        let r = request(&d, &Content::One(Box::new(facts())), None);
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        let text = v["text"].as_str().unwrap();
        for part in [
            "ZTF21aaxtctv",
            "alert 1549473362115015004",
            "g 17.500",
            "SN candidate",
            "SN2021abc",
            "<https://fink-portal.org/ZTF21aaxtctv|Fink>",
        ] {
            assert!(text.contains(part), "{part} not in {text}");
        }
    }

    #[test]
    fn a_digest_counts_what_it_does_not_name() {
        let facts: Vec<Facts> = (0..12).map(|_| facts()).collect();
        let text = Content::Digest { count: 12, facts }.text(|l| l.url.clone());
        assert!(text.starts_with("12 more alert(s)"), "{text}");
        assert!(text.ends_with("and 2 more"), "{text}");
    }

    #[test]
    fn captions_are_cut_to_telegrams_limit() {
        let long = "é".repeat(CAPTION_MAX + 5);
        assert_eq!(cut(&long, CAPTION_MAX).chars().count(), CAPTION_MAX);
    }
}
