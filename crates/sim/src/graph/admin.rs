//! HTTP admin API under `/_admin/graph` — the same operations as the Rust methods of
//! [`GraphSim`], for the demo and for tests written in other languages.
//!
//! | method and path | does |
//! |---|---|
//! | `POST /base-url` `{url}` | [`GraphSim::set_base_url`] |
//! | `POST /seed-demo` | [`GraphSim::seed_demo`] → `DemoMailbox` |
//! | `POST /mailboxes` `MailboxSpec` | [`GraphSim::create_mailbox`] |
//! | `GET /mailboxes/{email}` | [`GraphSim::mailbox_info`] |
//! | `POST /mailboxes/{email}/calendars` `{name}` | [`GraphSim::add_calendar`] |
//! | `GET /mailboxes/{email}/events` | [`GraphSim::events`] |
//! | `POST /mailboxes/{email}/events?calendar=` event | [`GraphSim::create_event`] → `{id}` |
//! | `GET/PATCH/DELETE /mailboxes/{email}/events/{id}` | [`GraphSim::event`], [`GraphSim::update_event`], [`GraphSim::delete_event`] |
//! | `GET /mailboxes/{email}/calendarView?start=&end=&calendar=` | [`GraphSim::calendar_view`] |
//! | `GET/POST /mailboxes/{email}/contactFolders` (`{name}`) | [`GraphSim::contact_folders`], [`GraphSim::create_contact_folder`] |
//! | `GET/POST /mailboxes/{email}/contacts?folder=` | [`GraphSim::contacts`], [`GraphSim::create_contact`] |
//! | `GET/POST /mailboxes/{email}/messages/{folder}` | [`GraphSim::messages`], [`GraphSim::add_message`] |
//! | `DELETE /mailboxes/{email}/message/{id}` | [`GraphSim::delete_message`] |
//! | `POST /recording` `{on}`, `GET /exchanges` | [`GraphSim::set_recording`], [`GraphSim::take_exchanges`] |
//! | `POST /mailboxes/{email}/expire-delta` | [`GraphSim::expire_delta_tokens`] |
//! | `POST /mailboxes/{email}/revoke-consent`, `/grant-consent`, `/revoke-sessions`, `/expire-access-tokens` | identity |
//! | `GET /mailboxes/{email}/stats`, `POST /stats/reset` | [`GraphSim::stats`], [`GraphSim::reset_stats`] |
//! | `POST /identity/rotate` | [`GraphSim::rotate_signing_key`] → `{kid}` |
//! | `POST /identity/access-token-lifetime` `{seconds}` | [`GraphSim::set_access_token_lifetime`] |
//! | `POST /identity/id-token` `{tenant_id, object_id, email, audience}` | [`GraphSim::mint_id_token`] → `{id_token}` |
//! | `POST /faults` `Fault`, `DELETE /faults`, `DELETE /faults/{id}` | fault injection |
//! | `GET/PUT /throttle` `ThrottleConfig` | [`GraphSim::set_throttle`] |
//! | `POST /notifications` `{paused}` | [`GraphSim::set_notifications_paused`] |
//! | `GET /subscriptions`, `POST /subscriptions/{id}/lifecycle` `{event}` | [`GraphSim::subscriptions`], [`GraphSim::send_lifecycle`] |

use std::collections::HashMap;

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{delete, get, post},
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ops::MailboxSpec;
use super::{Fault, GraphSim, SimError, ThrottleConfig};

fn fail(e: SimError) -> Response {
    (
        StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
        Json(json!({"error": e})),
    )
        .into_response()
}

fn done<T: serde::Serialize>(r: Result<T, SimError>) -> Response {
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) => fail(e),
    }
}

pub fn router(sim: GraphSim) -> Router {
    Router::new()
        .route("/base-url", post(base_url))
        .route("/seed-demo", post(seed_demo))
        .route("/mailboxes", post(create_mailbox))
        .route("/mailboxes/{email}", get(mailbox))
        .route("/mailboxes/{email}/calendars", post(add_calendar))
        .route("/mailboxes/{email}/events", get(events).post(create_event))
        .route(
            "/mailboxes/{email}/events/{id}",
            get(event).patch(update_event).delete(delete_event),
        )
        .route("/mailboxes/{email}/calendarView", get(calendar_view))
        .route(
            "/mailboxes/{email}/contactFolders",
            get(contact_folders).post(create_contact_folder),
        )
        .route("/mailboxes/{email}/message/{id}", delete(delete_message))
        .route("/recording", post(recording))
        .route("/exchanges", get(exchanges))
        .route(
            "/mailboxes/{email}/contacts",
            get(contacts).post(create_contact),
        )
        .route(
            "/mailboxes/{email}/messages/{folder}",
            get(messages).post(add_message),
        )
        .route("/mailboxes/{email}/expire-delta", post(expire_delta))
        .route("/mailboxes/{email}/revoke-consent", post(revoke_consent))
        .route("/mailboxes/{email}/grant-consent", post(grant_consent))
        .route("/mailboxes/{email}/revoke-sessions", post(revoke_sessions))
        .route(
            "/mailboxes/{email}/expire-access-tokens",
            post(expire_access),
        )
        .route("/mailboxes/{email}/stats", get(stats))
        .route("/stats/reset", post(reset_stats))
        .route("/identity/rotate", post(rotate))
        .route("/identity/access-token-lifetime", post(token_lifetime))
        .route("/identity/id-token", post(id_token))
        .route("/faults", post(add_fault).delete(clear_faults))
        .route("/faults/{id}", delete(remove_fault))
        .route("/throttle", get(get_throttle).put(set_throttle))
        .route("/notifications", post(notifications))
        .route("/subscriptions", get(subscriptions))
        .route("/subscriptions/{id}/lifecycle", post(lifecycle))
        .with_state(sim)
}

async fn base_url(State(sim): State<GraphSim>, Json(v): Json<Value>) -> Response {
    match v.get("url").and_then(Value::as_str) {
        Some(u) => {
            sim.set_base_url(u);
            StatusCode::NO_CONTENT.into_response()
        }
        None => fail(SimError::new(400, "BadRequest", "url is required")),
    }
}

async fn seed_demo(State(sim): State<GraphSim>) -> Response {
    Json(sim.seed_demo()).into_response()
}

async fn create_mailbox(State(sim): State<GraphSim>, Json(spec): Json<MailboxSpec>) -> Response {
    done(sim.create_mailbox(spec))
}

async fn mailbox(State(sim): State<GraphSim>, Path(email): Path<String>) -> Response {
    done(
        sim.mailbox_info(&email)
            .ok_or_else(|| SimError::not_found("mailbox")),
    )
}

async fn add_calendar(
    State(sim): State<GraphSim>,
    Path(email): Path<String>,
    Json(v): Json<Value>,
) -> Response {
    let name = v
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("Calendar 2");
    done(sim.add_calendar(&email, name).map(|id| json!({"id": id})))
}

async fn events(State(sim): State<GraphSim>, Path(email): Path<String>) -> Response {
    Json(sim.events(&email)).into_response()
}

async fn create_event(
    State(sim): State<GraphSim>,
    Path(email): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    Json(v): Json<Value>,
) -> Response {
    done(
        sim.create_event(&email, q.get("calendar").map(String::as_str), v)
            .map(|id| json!({"id": id})),
    )
}

async fn event(State(sim): State<GraphSim>, Path((email, id)): Path<(String, String)>) -> Response {
    done(
        sim.event(&email, &id)
            .ok_or_else(|| SimError::not_found("event")),
    )
}

async fn update_event(
    State(sim): State<GraphSim>,
    Path((email, id)): Path<(String, String)>,
    Json(v): Json<Value>,
) -> Response {
    done(sim.update_event(&email, &id, v))
}

async fn delete_event(
    State(sim): State<GraphSim>,
    Path((email, id)): Path<(String, String)>,
) -> Response {
    done(sim.delete_event(&email, &id))
}

#[derive(Deserialize)]
struct ViewQ {
    start: String,
    end: String,
    calendar: Option<String>,
}

async fn calendar_view(
    State(sim): State<GraphSim>,
    Path(email): Path<String>,
    Query(q): Query<ViewQ>,
) -> Response {
    let (Some(s), Some(e)) = (
        super::model::parse_instant(&q.start),
        super::model::parse_instant(&q.end),
    ) else {
        return fail(SimError::new(
            400,
            "BadRequest",
            "start and end must be instants",
        ));
    };
    Json(sim.calendar_view(&email, q.calendar.as_deref(), s, e)).into_response()
}

async fn contact_folders(State(sim): State<GraphSim>, Path(email): Path<String>) -> Response {
    Json(sim.contact_folders(&email)).into_response()
}

async fn create_contact_folder(
    State(sim): State<GraphSim>,
    Path(email): Path<String>,
    Json(v): Json<Value>,
) -> Response {
    let name = v.get("name").and_then(Value::as_str).unwrap_or("CRM");
    done(
        sim.create_contact_folder(&email, name)
            .map(|id| json!({"id": id})),
    )
}

async fn delete_message(
    State(sim): State<GraphSim>,
    Path((email, id)): Path<(String, String)>,
) -> Response {
    done(sim.delete_message(&email, &id))
}

async fn recording(State(sim): State<GraphSim>, Json(v): Json<Value>) -> Response {
    sim.set_recording(v.get("on").and_then(Value::as_bool).unwrap_or(true));
    StatusCode::NO_CONTENT.into_response()
}

async fn exchanges(State(sim): State<GraphSim>) -> Response {
    Json(sim.take_exchanges()).into_response()
}

async fn contacts(State(sim): State<GraphSim>, Path(email): Path<String>) -> Response {
    Json(sim.contacts(&email)).into_response()
}

async fn create_contact(
    State(sim): State<GraphSim>,
    Path(email): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    Json(v): Json<Value>,
) -> Response {
    done(
        sim.create_contact(&email, q.get("folder").map(String::as_str), v)
            .map(|id| json!({"id": id})),
    )
}

async fn messages(
    State(sim): State<GraphSim>,
    Path((email, folder)): Path<(String, String)>,
) -> Response {
    Json(sim.messages(&email, &folder)).into_response()
}

async fn add_message(
    State(sim): State<GraphSim>,
    Path((email, folder)): Path<(String, String)>,
    Json(v): Json<Value>,
) -> Response {
    done(
        sim.add_message(&email, &folder, v)
            .map(|id| json!({"id": id})),
    )
}

async fn expire_delta(State(sim): State<GraphSim>, Path(email): Path<String>) -> Response {
    Json(json!({"expired": sim.expire_delta_tokens(&email)})).into_response()
}

async fn revoke_consent(State(sim): State<GraphSim>, Path(email): Path<String>) -> Response {
    sim.revoke_consent(&email);
    StatusCode::NO_CONTENT.into_response()
}

async fn grant_consent(State(sim): State<GraphSim>, Path(email): Path<String>) -> Response {
    sim.grant_consent(&email);
    StatusCode::NO_CONTENT.into_response()
}

async fn revoke_sessions(State(sim): State<GraphSim>, Path(email): Path<String>) -> Response {
    sim.revoke_sessions(&email);
    StatusCode::NO_CONTENT.into_response()
}

async fn expire_access(State(sim): State<GraphSim>, Path(email): Path<String>) -> Response {
    sim.expire_access_tokens(&email);
    StatusCode::NO_CONTENT.into_response()
}

async fn stats(State(sim): State<GraphSim>, Path(email): Path<String>) -> Response {
    Json(sim.stats(&email)).into_response()
}

async fn reset_stats(State(sim): State<GraphSim>) -> Response {
    sim.reset_stats();
    StatusCode::NO_CONTENT.into_response()
}

async fn rotate(State(sim): State<GraphSim>) -> Response {
    Json(json!({"kid": sim.rotate_signing_key()})).into_response()
}

async fn token_lifetime(State(sim): State<GraphSim>, Json(v): Json<Value>) -> Response {
    sim.set_access_token_lifetime(v.get("seconds").and_then(Value::as_i64).unwrap_or(3599));
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct IdTokenReq {
    tenant_id: String,
    object_id: String,
    email: String,
    audience: String,
}

async fn id_token(State(sim): State<GraphSim>, Json(r): Json<IdTokenReq>) -> Response {
    Json(json!({"id_token": sim.mint_id_token(&r.tenant_id, &r.object_id, &r.email, &r.audience)}))
        .into_response()
}

async fn add_fault(State(sim): State<GraphSim>, Json(f): Json<Fault>) -> Response {
    Json(json!({"id": sim.add_fault(f)})).into_response()
}

async fn clear_faults(State(sim): State<GraphSim>) -> Response {
    sim.clear_faults();
    StatusCode::NO_CONTENT.into_response()
}

async fn remove_fault(State(sim): State<GraphSim>, Path(id): Path<u64>) -> Response {
    sim.remove_fault(id);
    StatusCode::NO_CONTENT.into_response()
}

async fn get_throttle(State(sim): State<GraphSim>) -> Response {
    Json(sim.inner.state.lock().throttle.config.clone()).into_response()
}

async fn set_throttle(State(sim): State<GraphSim>, Json(c): Json<ThrottleConfig>) -> Response {
    sim.set_throttle(c);
    StatusCode::NO_CONTENT.into_response()
}

async fn notifications(State(sim): State<GraphSim>, Json(v): Json<Value>) -> Response {
    sim.set_notifications_paused(v.get("paused").and_then(Value::as_bool).unwrap_or(false));
    StatusCode::NO_CONTENT.into_response()
}

async fn subscriptions(State(sim): State<GraphSim>) -> Response {
    Json(sim.subscriptions()).into_response()
}

async fn lifecycle(
    State(sim): State<GraphSim>,
    Path(id): Path<String>,
    Json(v): Json<Value>,
) -> Response {
    let event = v
        .get("event")
        .and_then(Value::as_str)
        .unwrap_or("reauthorizationRequired");
    done(
        sim.send_lifecycle(&id, event)
            .await
            .map(|status| json!({"receiver_status": status})),
    )
}
