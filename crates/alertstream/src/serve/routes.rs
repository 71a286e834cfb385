//! The web view's HTTP routes (axum): the page and its assets (embedded),
//! the JSON API the page reads, pictures and thumbnails, and a running
//! stream's `/metrics` and `/health`. An alert is found by its id in the
//! index only: no path from a request ever reaches the file system.

use super::index::{Index, Query, Row, SortBy};
use super::metrics::{Health, Live};
use crate::model::alert::Alert;
use crate::model::portal::portal_links;
use crate::model::value::{Datum, Value};
use axum::extract::{Path, Query as QueryString, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use std::sync::Arc;

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const STYLE_CSS: &str = include_str!("assets/style.css");
/// The longest request target served (a filter is a line, not a book).
pub const MAX_URI: usize = 8192;
/// The most rows one page holds.
const MAX_PAGE: usize = 500;
/// Nesting shown in an alert's fields (deeper values are elided).
const MAX_FIELD_DEPTH: usize = 32;

#[derive(Clone)]
pub(super) struct App {
    pub index: Arc<Index>,
    pub live: Option<Live>,
}

pub(super) fn router(app: App) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/alerts/{id}", get(alert_page))
        .route(
            "/assets/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/assets/style.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE_CSS) }),
        )
        .route("/api/status", get(status))
        .route("/api/alerts", get(list))
        .route("/api/alerts/{id}", get(alert))
        .route("/alerts/{id}/picture.svg", get(picture))
        .route("/alerts/{id}/thumb.png", get(thumbnail))
        .route("/metrics", get(metrics))
        .route("/health", get(health))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such page") })
        .layer(axum::middleware::from_fn(bounded))
        .with_state(app)
}

/// Refuses request targets longer than [`MAX_URI`].
async fn bounded(request: Request, next: Next) -> Response {
    if request.uri().to_string().len() > MAX_URI {
        return error(StatusCode::URI_TOO_LONG, "the request is too long");
    }
    next.run(request).await
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

async fn page() -> Response {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

/// The page of an alert the index knows; 404 (the page saying so) else.
async fn alert_page(State(app): State<App>, Path(id): Path<String>) -> Response {
    let status = match app.index.get(&id) {
        Some(_) => StatusCode::OK,
        None => StatusCode::NOT_FOUND,
    };
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        INDEX_HTML,
    )
        .into_response()
}

async fn status(State(app): State<App>) -> Response {
    let (count, newest, complete) = app.index.status();
    Json(serde_json::json!({ "count": count, "newest": newest, "complete": complete }))
        .into_response()
}

#[derive(Deserialize)]
struct ListParams {
    sort: Option<String>,
    order: Option<String>,
    q: Option<String>,
    #[serde(rename = "where")]
    filter: Option<String>,
    offset: Option<usize>,
    limit: Option<usize>,
}

async fn list(
    State(app): State<App>,
    params: Result<QueryString<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let p = match params {
        Ok(QueryString(p)) => p,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("bad query parameters: {e}"),
            )
        }
    };
    let sort = match p.sort.as_deref().unwrap_or("time") {
        "time" => SortBy::Time,
        "mag" => SortBy::Brightness,
        "class" => SortBy::Class,
        other => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("sort by time, mag or class, not '{other}'"),
            )
        }
    };
    let query = Query {
        sort,
        descending: p.order.as_deref() != Some("asc"),
        search: p.q,
        filter: p.filter,
        offset: p.offset.unwrap_or(0),
        limit: p.limit.unwrap_or(50).clamp(1, MAX_PAGE),
    };
    let index = app.index.clone();
    let paged = tokio::task::spawn_blocking(move || index.page(&query)).await;
    let (count, newest, complete) = app.index.status();
    match paged {
        Ok(Ok((total, alerts))) => Json(serde_json::json!({
            "total": total, "count": count, "newest": newest, "complete": complete, "alerts": alerts,
        }))
        .into_response(),
        Ok(Err(e)) => error(StatusCode::BAD_REQUEST, &e.to_string()),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "the filter failed"),
    }
}

/// The row and decoded alert of a known id, on a blocking thread.
async fn known(app: &App, id: String) -> Result<(Row, Alert), Response> {
    let index = app.index.clone();
    let found = tokio::task::spawn_blocking(move || {
        let row = index.get(&id)?;
        let alert = index.alert(&row)?;
        Some((row, alert))
    })
    .await;
    found
        .ok()
        .flatten()
        .ok_or_else(|| error(StatusCode::NOT_FOUND, "no such alert in this folder"))
}

async fn alert(State(app): State<App>, Path(id): Path<String>) -> Response {
    let (row, alert) = match known(&app, id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let others = row
        .object_id
        .as_deref()
        .map(|o| app.index.of_object(o, &row.id))
        .unwrap_or_default();
    Json(serde_json::json!({
        "row": row,
        "fields": fields_json(alert.record(), 0),
        "links": portal_links(&alert),
        "others": others,
    }))
    .into_response()
}

async fn picture(State(app): State<App>, Path(id): Path<String>) -> Response {
    let (_, alert) = match known(&app, id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let drawn = tokio::task::spawn_blocking(move || {
        let stamps = alert.cutouts().unwrap_or_default();
        crate::picture::render(&alert, &stamps, crate::picture::PictureFormat::Svg)
    })
    .await;
    match drawn {
        Ok(Ok(svg)) => (
            [
                (header::CONTENT_TYPE, "image/svg+xml"),
                (header::CACHE_CONTROL, "max-age=3600"),
            ],
            svg,
        )
            .into_response(),
        _ => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the picture could not be drawn",
        ),
    }
}

async fn thumbnail(State(app): State<App>, Path(id): Path<String>) -> Response {
    let (_, alert) = match known(&app, id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let drawn = tokio::task::spawn_blocking(move || {
        let stamps = alert.cutouts().ok()?;
        let science = stamps.iter().find(|s| s.kind.name() == "science")?;
        crate::picture::stamp_png(science).ok()
    })
    .await;
    match drawn {
        Ok(Some(png)) => (
            [
                (header::CONTENT_TYPE, "image/png"),
                (header::CACHE_CONTROL, "max-age=3600"),
            ],
            png,
        )
            .into_response(),
        _ => error(StatusCode::NOT_FOUND, "this alert has no science cutout"),
    }
}

async fn metrics(State(app): State<App>) -> Response {
    match &app.live {
        Some(live) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            live.render(),
        )
            .into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "metrics come with a running stream; this view serves a folder only",
        ),
    }
}

async fn health(State(app): State<App>) -> Response {
    let health = match &app.live {
        Some(live) => live.health(),
        None => Health::Up,
    };
    match health {
        Health::Up => (StatusCode::OK, "ok\n").into_response(),
        Health::Down(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")).into_response(),
    }
}

/// A record as JSON for the fields tree: bytes (cutouts) replaced by their
/// size, nesting bounded.
fn fields_json(datum: Datum<'_>, depth: usize) -> serde_json::Value {
    use serde_json::Value as J;
    if depth >= MAX_FIELD_DEPTH {
        return J::String("…".into());
    }
    match datum.value() {
        Value::Null => J::Null,
        Value::Boolean(b) => J::Bool(b),
        Value::Int(_) | Value::Long(_) => datum.as_i64().map_or(J::Null, Into::into),
        Value::Float(_) | Value::Double(_) => datum
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(J::Null, J::Number),
        Value::Bytes(_) | Value::Fixed(_) => J::String(format!(
            "<{} bytes>",
            datum.as_bytes().map_or(0, <[u8]>::len)
        )),
        Value::String(_) | Value::Enum { .. } => datum.as_str().map_or(J::Null, Into::into),
        Value::Array(_) => J::Array(datum.items().map(|d| fields_json(d, depth + 1)).collect()),
        Value::Map(_) => J::Object(
            datum
                .entries()
                .map(|(k, d)| (k.to_owned(), fields_json(d, depth + 1)))
                .collect(),
        ),
        Value::Record { .. } => J::Object(
            datum
                .fields()
                .map(|(k, d)| (k.to_owned(), fields_json(d, depth + 1)))
                .collect(),
        ),
    }
}
