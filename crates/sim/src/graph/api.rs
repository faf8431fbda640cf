//! The `/v1.0` routes.

use std::collections::HashMap;
use std::sync::Arc;

use axum::{
    Extension, Router,
    body::{Body, Bytes, to_bytes},
    extract::{Path, RawQuery, State},
    http::{HeaderMap, Request, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use chrono::Duration;
use serde_json::{Value, json};
use tower::ServiceExt as _;

use super::model::{
    ExpandExt, Kind, Mailbox, ext_key, new_id, parse_instant, render_event,
    render_partial_occurrence,
};
use super::mw::{BatchInner, Caller, odata_error};
use super::ops::Change;
use super::{DeltaKind, DeltaState, GraphSim, SimError, notify};

pub(crate) fn routes() -> Router<GraphSim> {
    Router::new()
        .route("/v1.0/me", get(me))
        .route("/v1.0/me/mailboxSettings", get(mailbox_settings))
        .route(
            "/v1.0/me/calendars",
            get(list_calendars).post(create_calendar),
        )
        .route("/v1.0/me/calendars/{cal}", get(get_calendar))
        .route("/v1.0/me/calendar", get(get_default_calendar))
        .route("/v1.0/me/calendarView", get(view_default))
        .route("/v1.0/me/calendars/{cal}/calendarView", get(view_cal))
        .route("/v1.0/me/calendarView/delta", get(delta_default))
        .route("/v1.0/me/calendarView/delta()", get(delta_default))
        .route(
            "/v1.0/me/calendars/{cal}/calendarView/delta",
            get(delta_cal),
        )
        .route(
            "/v1.0/me/calendars/{cal}/calendarView/delta()",
            get(delta_cal),
        )
        .route(
            "/v1.0/me/events",
            get(list_events_all).post(create_event_default),
        )
        .route(
            "/v1.0/me/calendars/{cal}/events",
            get(list_events_cal).post(create_event_cal),
        )
        .route(
            "/v1.0/me/events/{id}",
            get(get_event).patch(patch_event).delete(delete_event),
        )
        .route("/v1.0/me/events/{id}/instances", get(instances))
        .route(
            "/v1.0/me/contactFolders",
            get(list_contact_folders).post(create_contact_folder),
        )
        .route("/v1.0/me/contactFolders/{f}", get(get_contact_folder))
        .route(
            "/v1.0/me/contactFolders/{f}/contacts",
            get(list_contacts).post(create_contact),
        )
        .route(
            "/v1.0/me/contactFolders/{f}/contacts/{c}",
            get(get_contact).patch(patch_contact).delete(delete_contact),
        )
        .route("/v1.0/me/contacts", get(list_all_contacts))
        .route("/v1.0/me/messages/{id}", get(get_message))
        .route("/v1.0/me/messages/{id}/attachments", get(list_attachments))
        .route(
            "/v1.0/me/messages/{id}/attachments/{aid}",
            get(get_attachment),
        )
        .route(
            "/v1.0/me/messages/{id}/attachments/{aid}/$value",
            get(attachment_value),
        )
        .route("/v1.0/me/mailFolders", get(list_mail_folders))
        .route("/v1.0/me/mailFolders/{f}/messages", get(list_messages))
        .route(
            "/v1.0/me/mailFolders/{f}/messages/delta",
            get(messages_delta),
        )
        .route(
            "/v1.0/me/mailFolders/{f}/messages/delta()",
            get(messages_delta),
        )
        .route(
            "/v1.0/subscriptions",
            get(notify::list_subs).post(notify::create_sub),
        )
        .route(
            "/v1.0/subscriptions/{id}",
            get(notify::get_sub)
                .patch(notify::patch_sub)
                .delete(notify::delete_sub),
        )
        .route("/v1.0/$batch", post(batch))
}

pub(crate) fn err(e: SimError) -> Response {
    odata_error(e.status, &e.code, &e.message)
}

pub(crate) fn ok_json(status: StatusCode, v: Value) -> Response {
    (status, axum::Json(v)).into_response()
}

/// Query string with case-insensitive keys (Graph accepts `startdatetime` as well).
pub(crate) struct Q(Vec<(String, String)>);

impl Q {
    pub fn parse(raw: &Option<String>) -> Q {
        Q(raw
            .as_deref()
            .map(|r| {
                url::form_urlencoded::parse(r.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default())
    }
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.as_str())
    }
    fn without(&self, keys: &[&str]) -> Vec<(String, String)> {
        self.0
            .iter()
            .filter(|(k, _)| !keys.iter().any(|x| x.eq_ignore_ascii_case(k)))
            .cloned()
            .collect()
    }
}

fn parse_json(bytes: &Bytes) -> Result<Value, SimError> {
    if bytes.is_empty() {
        return Err(SimError::new(
            400,
            "BadRequest",
            "Empty Payload, JSON content expected",
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        SimError::new(
            400,
            "BadRequest",
            format!("Unable to read JSON request payload: {e}"),
        )
    })
}

/// Extracts the single-quoted literals of an OData expression (`''` is an escaped quote).
pub(crate) fn quoted(s: &str) -> Vec<String> {
    let mut out = vec![];
    let mut cur: Option<String> = None;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match (&mut cur, c) {
            (None, '\'') => cur = Some(String::new()),
            (Some(buf), '\'') => {
                if chars.peek() == Some(&'\'') {
                    buf.push('\'');
                    chars.next();
                } else {
                    out.push(cur.take().expect("open"));
                }
            }
            (Some(buf), c) => buf.push(c),
            (None, _) => {}
        }
    }
    out
}

/// The `$filter` forms the product uses.
#[derive(Debug)]
pub(crate) enum Filter {
    Ext { id: String, value: String },
    Email(String),
    DisplayName(String),
}

pub(crate) fn parse_filter(f: &str) -> Result<Filter, SimError> {
    let lower = f.to_ascii_lowercase().replace(' ', "");
    let q = quoted(f);
    if lower.starts_with("singlevalueextendedproperties/any(")
        && lower.contains("/ideq'")
        && lower.contains("/valueeq'")
        && q.len() == 2
    {
        return Ok(Filter::Ext {
            id: q[0].clone(),
            value: q[1].clone(),
        });
    }
    if lower.starts_with("emailaddresses/any(") && lower.contains("/addresseq'") && q.len() == 1 {
        return Ok(Filter::Email(q[0].clone()));
    }
    if lower.starts_with("displaynameeq'") && q.len() == 1 {
        return Ok(Filter::DisplayName(q[0].clone()));
    }
    Err(SimError::new(
        400,
        "ErrorInvalidUrlQueryFilter",
        format!("The query filter contains one or more invalid nodes: '{f}'"),
    ))
}

fn ext_matches(
    ext: &std::collections::BTreeMap<String, (String, String)>,
    id: &str,
    value: &str,
) -> bool {
    ext.get(&ext_key(id)).is_some_and(|(_, v)| v == value)
}

pub(crate) fn parse_expand(q: &Q) -> Result<ExpandExt, SimError> {
    let Some(e) = q.get("$expand") else {
        return Ok(ExpandExt::None);
    };
    let lower = e.to_ascii_lowercase();
    if !lower.starts_with("singlevalueextendedproperties") {
        return Err(SimError::new(
            400,
            "BadRequest",
            format!(
                "Parsing OData Select and Expand failed: Could not find a property named '{e}'."
            ),
        ));
    }
    let ids = quoted(e);
    Ok(if ids.is_empty() {
        ExpandExt::All
    } else {
        ExpandExt::Ids(ids)
    })
}

/// One page of a plain collection with `$top`/`$skip` and an absolute `@odata.nextLink`.
fn paged(c: &Caller, path: &str, q: &Q, items: Vec<Value>, context: &str) -> Response {
    let top = q
        .get("$top")
        .and_then(|t| t.parse::<usize>().ok())
        .or(c.max_page_size)
        .unwrap_or(10)
        .clamp(1, 1000);
    let skip = q
        .get("$skip")
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(0);
    let end = (skip + top).min(items.len());
    let page: Vec<Value> = items
        .get(skip.min(items.len())..end)
        .unwrap_or(&[])
        .to_vec();
    let mut body =
        json!({"@odata.context": format!("{}/v1.0/$metadata#{context}", c.base), "value": page});
    if end < items.len() {
        let mut pairs = q.without(&["$skip", "$top"]);
        pairs.push(("$top".into(), top.to_string()));
        pairs.push(("$skip".into(), end.to_string()));
        let qs = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        body["@odata.nextLink"] = json!(format!("{}{path}?{qs}", c.base));
    }
    ok_json(StatusCode::OK, body)
}

async fn me(State(sim): State<GraphSim>, Extension(c): Extension<Caller>) -> Response {
    match sim.with_mailbox(&c.email, |mb| {
        json!({
            "@odata.context": format!("{}/v1.0/$metadata#users/$entity", c.base),
            "id": mb.user_id,
            "displayName": mb.display_name,
            "mail": mb.email,
            "userPrincipalName": mb.email,
            "businessPhones": [],
            "preferredLanguage": "fi-FI",
        })
    }) {
        Ok(v) => ok_json(StatusCode::OK, v),
        Err(e) => err(e),
    }
}

async fn mailbox_settings(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
) -> Response {
    match sim.with_mailbox(
        &c.email,
        |mb| json!({"timeZone": mb.time_zone, "language": {"locale": "fi-FI"}}),
    ) {
        Ok(v) => ok_json(StatusCode::OK, v),
        Err(e) => err(e),
    }
}

async fn list_calendars(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = Q::parse(&raw);
    match sim.with_mailbox(&c.email, |mb| {
        mb.calendars
            .iter()
            .map(|cal| cal.render(&mb.display_name, &mb.email))
            .collect::<Vec<_>>()
    }) {
        Ok(items) => paged(&c, "/v1.0/me/calendars", &q, items, "users('me')/calendars"),
        Err(e) => err(e),
    }
}

async fn create_calendar(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> Response {
    let v = match parse_json(&body) {
        Ok(v) => v,
        Err(e) => return err(e),
    };
    let Some(name) = v.get("name").and_then(Value::as_str) else {
        return err(SimError::new(
            400,
            "ErrorInvalidRequest",
            "name is required",
        ));
    };
    match sim.add_calendar(&c.email, name) {
        Ok(id) => {
            let r = sim.with_mailbox(&c.email, |mb| {
                let cal = mb.calendars.iter().find(|x| x.id == id).expect("created");
                cal.render(&mb.display_name, &mb.email)
            });
            match r {
                Ok(v) => ok_json(StatusCode::CREATED, v),
                Err(e) => err(e),
            }
        }
        Err(e) => err(e),
    }
}

fn render_calendar(sim: &GraphSim, c: &Caller, id: Option<&str>) -> Response {
    match sim.with_mailbox(&c.email, |mb| {
        mb.calendar(id).map(|cal| {
            let mut v = cal.render(&mb.display_name, &mb.email);
            v["@odata.context"] = json!(format!(
                "{}/v1.0/$metadata#users('me')/calendars/$entity",
                c.base
            ));
            v
        })
    }) {
        Ok(Some(v)) => ok_json(StatusCode::OK, v),
        Ok(None) => err(SimError::not_found("calendar")),
        Err(e) => err(e),
    }
}

async fn get_calendar(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
    Path(cal): Path<String>,
) -> Response {
    render_calendar(&sim, &c, Some(&cal))
}

async fn get_default_calendar(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
) -> Response {
    render_calendar(&sim, &c, None)
}

/// Validates and returns the window of a calendar view.
fn window(
    q: &Q,
) -> Result<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>), SimError> {
    let (Some(s), Some(e)) = (q.get("startDateTime"), q.get("endDateTime")) else {
        return Err(SimError::new(
            400,
            "ErrorInvalidParameter",
            "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.",
        ));
    };
    let (Some(s), Some(e)) = (parse_instant(s), parse_instant(e)) else {
        return Err(SimError::new(
            400,
            "ErrorInvalidParameter",
            "StartDateTime or EndDateTime is not a valid date.",
        ));
    };
    if e <= s {
        return Err(SimError::new(
            400,
            "ErrorInvalidParameter",
            "EndDateTime must be after StartDateTime.",
        ));
    }
    if e - s > Duration::days(1825) {
        return Err(SimError::new(
            400,
            "ErrorInvalidParameter",
            "The time window may not exceed 1825 days.",
        ));
    }
    Ok((s, e))
}

fn calendar_view(
    sim: &GraphSim,
    c: &Caller,
    cal: Option<String>,
    raw: Option<String>,
    path: &str,
) -> Response {
    let q = Q::parse(&raw);
    let (from, to) = match window(&q) {
        Ok(w) => w,
        Err(e) => return err(e),
    };
    let expand = match parse_expand(&q) {
        Ok(x) => x,
        Err(e) => return err(e),
    };
    let filter = match q.get("$filter").map(parse_filter).transpose() {
        Ok(f) => f,
        Err(e) => return err(e),
    };
    let r = sim.with_mailbox(&c.email, |mb| {
        if cal
            .as_deref()
            .is_some_and(|id| mb.calendar(Some(id)).is_none())
        {
            return Err(SimError::not_found("calendar"));
        }
        let cal_id = cal.clone().unwrap_or(mb.default_calendar().id.clone());
        let ctx = mb.render_ctx(c.tz, &c.tz_name, &expand);
        Ok(mb
            .view(Some(&cal_id), from, to)
            .iter()
            .filter(|i| match &filter {
                Some(Filter::Ext { id, value }) => {
                    let ev = &mb.events[&i.master_id];
                    let own = i
                        .date
                        .filter(|_| i.kind == Kind::Exception)
                        .and_then(|d| ev.exceptions.get(&d))
                        .and_then(|x| x.ext.get(&ext_key(id)));
                    own.or_else(|| ev.ext.get(&ext_key(id)))
                        .is_some_and(|(_, v)| v == value)
                }
                _ => true,
            })
            .map(|i| render_event(&mb.events[&i.master_id], Some(i), &ctx))
            .collect::<Vec<_>>())
    });
    match r {
        Ok(Ok(items)) => paged(c, path, &q, items, "Collection(event)"),
        Ok(Err(e)) | Err(e) => err(e),
    }
}

async fn view_default(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Response {
    calendar_view(&sim, &c, None, raw, "/v1.0/me/calendarView")
}

async fn view_cal(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
    Path(cal): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let path = format!("/v1.0/me/calendars/{cal}/calendarView");
    calendar_view(&sim, &c, Some(cal), raw, &path)
}

/// 410 for a lost sync state. Graph spells the code differently per resource; so do we.
fn gone_with(code: &str) -> Response {
    odata_error(
        410,
        code,
        "The sync state generation is not found. Please restart the synchronization without a delta or skip token.",
    )
}

fn gone() -> Response {
    gone_with("SyncStateNotFound")
}

fn gone_mail() -> Response {
    gone_with("syncStateNotFound")
}

/// Renders what changed between `snapshot` (None = first round) and now.
fn calendar_round(
    mb: &Mailbox,
    calendar_id: Option<&str>,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
    snapshot: Option<&HashMap<String, String>>,
    c: &Caller,
) -> (Vec<Value>, HashMap<String, String>) {
    let ctx = mb.render_ctx(c.tz, &c.tz_name, &ExpandExt::None);
    let view = mb.view(calendar_id, from, to);
    let mut current: HashMap<String, String> = HashMap::new();
    let mut items = vec![];
    let changed = |id: &str, version: &str| {
        snapshot.is_none_or(|s| s.get(id).map(String::as_str) != Some(version))
    };
    let mut masters_seen = std::collections::BTreeSet::new();
    for inst in &view {
        if inst.kind != Kind::Single && masters_seen.insert(inst.master_id.clone()) {
            let ev = &mb.events[&inst.master_id];
            current.insert(ev.id.clone(), ev.change_key.clone());
            if changed(&ev.id, &ev.change_key) {
                items.push(render_event(ev, None, &ctx));
            }
        }
    }
    for inst in &view {
        current.insert(inst.id.clone(), inst.version.clone());
        if changed(&inst.id, &inst.version) {
            let ev = &mb.events[&inst.master_id];
            items.push(match inst.kind {
                Kind::Occurrence => render_partial_occurrence(ev, inst, &ctx),
                _ => render_event(ev, Some(inst), &ctx),
            });
        }
    }
    if let Some(s) = snapshot {
        let mut gone: Vec<&String> = s.keys().filter(|id| !current.contains_key(*id)).collect();
        gone.sort();
        for id in gone {
            items.push(json!({"@odata.type": "#microsoft.graph.event", "id": id, "@removed": {"reason": "deleted"}}));
        }
    }
    (items, current)
}

fn messages_round(
    mb: &Mailbox,
    folder_id: &str,
    received_from: Option<chrono::DateTime<chrono::Utc>>,
    expand: &ExpandExt,
    snapshot: Option<&HashMap<String, String>>,
) -> (Vec<Value>, HashMap<String, String>) {
    let mut current = HashMap::new();
    let mut items = vec![];
    let in_scope = |m: &&super::model::MessageRec| {
        m.folder_id == folder_id
            && received_from.is_none_or(|from| {
                m.fields
                    .get("receivedDateTime")
                    .and_then(Value::as_str)
                    .and_then(parse_instant)
                    .is_some_and(|t| t >= from)
            })
    };
    for m in mb.messages.values().filter(in_scope) {
        current.insert(m.id.clone(), m.change_key.clone());
        if snapshot.is_none_or(|s| s.get(&m.id) != Some(&m.change_key)) {
            items.push(m.render(expand));
        }
    }
    if let Some(s) = snapshot {
        let mut gone: Vec<&String> = s.keys().filter(|id| !current.contains_key(*id)).collect();
        gone.sort();
        for id in gone {
            items.push(json!({"@odata.type": "#microsoft.graph.message", "id": id, "@removed": {"reason": "deleted"}}));
        }
    }
    (items, current)
}

const DELTA_DEFAULT_PAGE: usize = 10;

/// Serves one page of a delta round and stores the token for the next request.
fn delta_page(
    sim: &GraphSim,
    c: &Caller,
    path: &str,
    mut state: DeltaState,
    context: &str,
) -> Response {
    let items = state.pending.clone().unwrap_or_default();
    let page_size = c.max_page_size.unwrap_or(state.page_size).clamp(1, 1000);
    let end = (state.offset + page_size).min(items.len());
    let page: Vec<Value> = items[state.offset.min(items.len())..end].to_vec();
    let token = new_id("");
    let mut body =
        json!({"@odata.context": format!("{}/v1.0/$metadata#{context}", c.base), "value": page});
    let link = if end < items.len() {
        state.offset = end;
        state.page_size = page_size;
        body["@odata.nextLink"] = json!(format!("{}{path}?$skiptoken={token}", c.base));
        state
    } else {
        body["@odata.deltaLink"] = json!(format!("{}{path}?$deltatoken={token}", c.base));
        DeltaState {
            pending: None,
            offset: 0,
            ..state
        }
    };
    let mut st = sim.inner.state.lock();
    st.delta_serial += 1;
    let serial = st.delta_serial;
    st.delta.insert(token, DeltaState { serial, ..link });
    if st.delta.len() > super::MAX_DELTA_TOKENS {
        let cut = serial - (super::MAX_DELTA_TOKENS as u64 / 2);
        st.delta.retain(|_, d| d.serial > cut);
    }
    drop(st);
    ok_json(StatusCode::OK, body)
}

fn delta(
    sim: &GraphSim,
    c: &Caller,
    cal: Option<String>,
    raw: Option<String>,
    path: &str,
) -> Response {
    let q = Q::parse(&raw);
    for bad in ["$select", "$filter", "$expand", "$orderby", "$search"] {
        if q.get(bad).is_some() {
            return err(SimError::new(
                400,
                "ErrorInvalidUrlQuery",
                format!(
                    "The following parameters are not supported with change tracking over the 'Events' resource: '{bad}'."
                ),
            ));
        }
    }
    let token = q
        .get("$skiptoken")
        .or(q.get("$deltatoken"))
        .map(str::to_string);
    let is_skip = q.get("$skiptoken").is_some();
    if let Some(tok) = token {
        let Some(state) = sim.inner.state.lock().delta.get(&tok).cloned() else {
            return gone();
        };
        if state.expired || state.email != c.email {
            return gone();
        }
        if is_skip {
            return delta_page(sim, c, path, state, "Collection(event)");
        }
        let DeltaKind::CalendarView {
            calendar_id,
            from,
            to,
        } = &state.kind
        else {
            return gone();
        };
        let r = sim.with_mailbox(&c.email, |mb| {
            calendar_round(
                mb,
                calendar_id.as_deref(),
                *from,
                *to,
                Some(&state.snapshot),
                c,
            )
        });
        return match r {
            Ok((items, snap)) => delta_page(
                sim,
                c,
                path,
                DeltaState {
                    snapshot: snap,
                    pending: Some(Arc::new(items)),
                    offset: 0,
                    page_size: state.page_size,
                    ..state
                },
                "Collection(event)",
            ),
            Err(e) => err(e),
        };
    }
    let (from, to) = match window(&q) {
        Ok(w) => w,
        Err(e) => return err(e),
    };
    let r = sim.with_mailbox(&c.email, |mb| {
        let cal_id = match &cal {
            Some(id) => mb
                .calendar(Some(id))
                .map(|x| x.id.clone())
                .ok_or_else(|| SimError::not_found("calendar"))?,
            None => mb.default_calendar().id.clone(),
        };
        let (items, snap) = calendar_round(mb, Some(&cal_id), from, to, None, c);
        Ok::<_, SimError>((cal_id, items, snap))
    });
    match r {
        Ok(Ok((cal_id, items, snap))) => delta_page(
            sim,
            c,
            path,
            DeltaState {
                email: c.email.clone(),
                kind: DeltaKind::CalendarView {
                    calendar_id: Some(cal_id),
                    from,
                    to,
                },
                snapshot: snap,
                pending: Some(Arc::new(items)),
                offset: 0,
                page_size: c.max_page_size.unwrap_or(DELTA_DEFAULT_PAGE),
                expired: false,
                serial: 0,
            },
            "Collection(event)",
        ),
        Ok(Err(e)) | Err(e) => err(e),
    }
}

async fn delta_default(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Response {
    delta(&sim, &c, None, raw, "/v1.0/me/calendarView/delta")
}

async fn delta_cal(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
    Path(cal): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let path = format!("/v1.0/me/calendars/{cal}/calendarView/delta");
    delta(&sim, &c, Some(cal), raw, &path)
}

fn list_events(
    sim: &GraphSim,
    c: &Caller,
    cal: Option<String>,
    raw: Option<String>,
    path: &str,
) -> Response {
    let q = Q::parse(&raw);
    let expand = match parse_expand(&q) {
        Ok(x) => x,
        Err(e) => return err(e),
    };
    let filter = match q.get("$filter").map(parse_filter).transpose() {
        Ok(f) => f,
        Err(e) => return err(e),
    };
    if matches!(
        filter,
        Some(Filter::Email(_)) | Some(Filter::DisplayName(_))
    ) {
        return err(SimError::new(
            400,
            "ErrorInvalidUrlQueryFilter",
            "Unsupported filter on events.",
        ));
    }
    let r = sim.with_mailbox(&c.email, |mb| {
        if cal
            .as_deref()
            .is_some_and(|id| mb.calendar(Some(id)).is_none())
        {
            return Err(SimError::not_found("calendar"));
        }
        let ctx = mb.render_ctx(c.tz, &c.tz_name, &expand);
        Ok(mb
            .events
            .values()
            .filter(|e| cal.as_deref().is_none_or(|id| e.calendar_id == id))
            .filter(|e| match &filter {
                Some(Filter::Ext { id, value }) => ext_matches(&e.ext, id, value),
                _ => true,
            })
            .map(|e| render_event(e, None, &ctx))
            .collect::<Vec<_>>())
    });
    match r {
        Ok(Ok(items)) => paged(c, path, &q, items, "users('me')/events"),
        Ok(Err(e)) | Err(e) => err(e),
    }
}

async fn list_events_all(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Response {
    list_events(&sim, &c, None, raw, "/v1.0/me/events")
}

async fn list_events_cal(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
    Path(cal): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let path = format!("/v1.0/me/calendars/{cal}/events");
    list_events(&sim, &c, Some(cal), raw, &path)
}

fn create_event(sim: &GraphSim, c: &Caller, cal: Option<String>, body: Bytes) -> Response {
    let v = match parse_json(&body) {
        Ok(v) => v,
        Err(e) => return err(e),
    };
    let r = sim.with_mailbox(&c.email, |mb| {
        let cal_id = match &cal {
            Some(id) => mb
                .calendar(Some(id))
                .map(|x| x.id.clone())
                .ok_or_else(|| SimError::not_found("calendar"))?,
            None => mb.default_calendar().id.clone(),
        };
        let (id, created) = mb.create_event(&cal_id, &v)?;
        let ctx = mb.render_ctx(c.tz, &c.tz_name, &ExpandExt::All);
        let mut out = render_event(&mb.events[&id], None, &ctx);
        out["@odata.context"] = json!(format!(
            "{}/v1.0/$metadata#users('me')/events/$entity",
            c.base
        ));
        let ck = mb.events[&id].change_key.clone();
        Ok::<_, SimError>((id, created, out, cal_id, ck))
    });
    match r {
        Ok(Ok((id, created, out, cal_id, ck))) => {
            if created {
                sim.dispatch(vec![Change {
                    email: c.email.clone(),
                    collection: "Events",
                    calendar_id: Some(cal_id),
                    folder_id: None,
                    id,
                    change_key: ck,
                    change_type: "created",
                }]);
            }
            ok_json(StatusCode::CREATED, out)
        }
        Ok(Err(e)) | Err(e) => err(e),
    }
}

async fn create_event_default(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> Response {
    create_event(&sim, &c, None, body)
}

async fn create_event_cal(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
    Path(cal): Path<String>,
    body: Bytes,
) -> Response {
    create_event(&sim, &c, Some(cal), body)
}

async fn get_event(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = Q::parse(&raw);
    let expand = match parse_expand(&q) {
        Ok(x) => x,
        Err(e) => return err(e),
    };
    match sim.with_mailbox(&c.email, |mb| {
        let ctx = mb.render_ctx(c.tz, &c.tz_name, &expand);
        mb.render_by_id(&id, &ctx)
    }) {
        Ok(Some(mut v)) => {
            v["@odata.context"] = json!(format!(
                "{}/v1.0/$metadata#users('me')/events/$entity",
                c.base
            ));
            ok_json(StatusCode::OK, v)
        }
        Ok(None) => err(SimError::not_found("event")),
        Err(e) => err(e),
    }
}

async fn patch_event(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let v = match parse_json(&body) {
        Ok(v) => v,
        Err(e) => return err(e),
    };
    let if_match = headers
        .get(header::IF_MATCH)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string);
    let r = sim.with_mailbox(&c.email, |mb| {
        let (changed, ck) = mb.patch_event(&id, &v, if_match.as_deref())?;
        let ctx = mb.render_ctx(c.tz, &c.tz_name, &ExpandExt::All);
        let out = mb.render_by_id(&changed, &ctx).unwrap_or(Value::Null);
        let cal = mb
            .resolve(&changed)
            .and_then(|(m, _)| mb.events.get(&m))
            .map(|e| e.calendar_id.clone());
        Ok::<_, SimError>((changed, ck, out, cal))
    });
    match r {
        Ok(Ok((changed, ck, out, cal))) => {
            sim.dispatch(vec![Change {
                email: c.email.clone(),
                collection: "Events",
                calendar_id: cal,
                folder_id: None,
                id: changed,
                change_key: ck,
                change_type: "updated",
            }]);
            ok_json(StatusCode::OK, out)
        }
        Ok(Err(e)) | Err(e) => err(e),
    }
}

async fn delete_event(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let if_match = headers
        .get(header::IF_MATCH)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string);
    let r = sim.with_mailbox(&c.email, |mb| {
        let cal = mb
            .resolve(&id)
            .and_then(|(m, _)| mb.events.get(&m))
            .map(|e| e.calendar_id.clone());
        mb.delete_event(&id, if_match.as_deref()).map(|_| cal)
    });
    match r {
        Ok(Ok(cal)) => {
            sim.dispatch(vec![Change {
                email: c.email.clone(),
                collection: "Events",
                calendar_id: cal,
                folder_id: None,
                id,
                change_key: String::new(),
                change_type: "deleted",
            }]);
            StatusCode::NO_CONTENT.into_response()
        }
        Ok(Err(e)) | Err(e) => err(e),
    }
}

async fn instances(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = Q::parse(&raw);
    let (from, to) = match window(&q) {
        Ok(w) => w,
        Err(e) => return err(e),
    };
    let expand = match parse_expand(&q) {
        Ok(x) => x,
        Err(e) => return err(e),
    };
    let r = sim.with_mailbox(&c.email, |mb| {
        let ev = mb
            .events
            .get(&id)
            .ok_or_else(|| SimError::not_found("event"))?;
        let ctx = mb.render_ctx(c.tz, &c.tz_name, &expand);
        Ok::<_, SimError>(
            ev.instances(from, to)
                .iter()
                .map(|i| render_event(ev, Some(i), &ctx))
                .collect::<Vec<_>>(),
        )
    });
    let path = format!("/v1.0/me/events/{id}/instances");
    match r {
        Ok(Ok(items)) => paged(&c, &path, &q, items, "Collection(event)"),
        Ok(Err(e)) | Err(e) => err(e),
    }
}

fn render_folder(f: &super::model::ContactFolder) -> Value {
    json!({"id": f.id, "displayName": f.name, "parentFolderId": f.parent})
}

async fn list_contact_folders(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = Q::parse(&raw);
    let filter = match q.get("$filter").map(parse_filter).transpose() {
        Ok(f) => f,
        Err(e) => return err(e),
    };
    match sim.with_mailbox(&c.email, |mb| {
        // Like Graph, the collection holds the folders inside the default Contacts folder, not
        // that folder itself.
        mb.contact_folders
            .iter()
            .skip(1)
            .filter(|f| match &filter {
                Some(Filter::DisplayName(n)) => f.name.eq_ignore_ascii_case(n),
                _ => true,
            })
            .map(render_folder)
            .collect::<Vec<_>>()
    }) {
        Ok(items) => paged(
            &c,
            "/v1.0/me/contactFolders",
            &q,
            items,
            "users('me')/contactFolders",
        ),
        Err(e) => err(e),
    }
}

async fn create_contact_folder(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> Response {
    let v = match parse_json(&body) {
        Ok(v) => v,
        Err(e) => return err(e),
    };
    let Some(name) = v.get("displayName").and_then(Value::as_str) else {
        return err(SimError::new(
            400,
            "ErrorInvalidRequest",
            "displayName is required",
        ));
    };
    match sim.create_contact_folder(&c.email, name) {
        Ok(id) => match sim.with_mailbox(&c.email, |mb| {
            mb.contact_folders
                .iter()
                .find(|f| f.id == id)
                .map(render_folder)
        }) {
            Ok(Some(mut v)) => {
                v["@odata.context"] = json!(format!(
                    "{}/v1.0/$metadata#users('me')/contactFolders/$entity",
                    c.base
                ));
                ok_json(StatusCode::CREATED, v)
            }
            _ => err(SimError::not_found("contact folder")),
        },
        Err(e) => err(e),
    }
}

async fn get_contact_folder(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
    Path(f): Path<String>,
) -> Response {
    match sim.with_mailbox(&c.email, |mb| {
        mb.contact_folders
            .iter()
            .find(|x| x.id == f)
            .map(render_folder)
    }) {
        Ok(Some(v)) => ok_json(StatusCode::OK, v),
        Ok(None) => err(SimError::not_found("contact folder")),
        Err(e) => err(e),
    }
}

fn contacts_filtered(
    sim: &GraphSim,
    c: &Caller,
    folder: Option<&str>,
    q: &Q,
) -> Result<Vec<Value>, SimError> {
    let expand = parse_expand(q)?;
    let filter = q.get("$filter").map(parse_filter).transpose()?;
    sim.with_mailbox(&c.email, |mb| {
        if folder.is_some_and(|f| !mb.contact_folders.iter().any(|x| x.id == f)) {
            return Err(SimError::not_found("contact folder"));
        }
        Ok(mb
            .contacts
            .values()
            .filter(|x| folder.is_none_or(|f| x.folder_id == f))
            .filter(|x| match &filter {
                Some(Filter::Ext { id, value }) => ext_matches(&x.ext, id, value),
                Some(Filter::Email(a)) => x
                    .fields
                    .get("emailAddresses")
                    .and_then(Value::as_array)
                    .is_some_and(|arr| {
                        arr.iter().any(|e| {
                            e["address"]
                                .as_str()
                                .is_some_and(|s| s.eq_ignore_ascii_case(a))
                        })
                    }),
                Some(Filter::DisplayName(n)) => {
                    x.fields.get("displayName").and_then(Value::as_str) == Some(n.as_str())
                }
                None => true,
            })
            .map(|x| x.render(&expand))
            .collect())
    })?
}

async fn list_contacts(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
    Path(f): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = Q::parse(&raw);
    let path = format!("/v1.0/me/contactFolders/{f}/contacts");
    match contacts_filtered(&sim, &c, Some(&f), &q) {
        Ok(items) => paged(
            &c,
            &path,
            &q,
            items,
            "users('me')/contactFolders('id')/contacts",
        ),
        Err(e) => err(e),
    }
}

async fn list_all_contacts(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = Q::parse(&raw);
    match contacts_filtered(&sim, &c, None, &q) {
        Ok(items) => paged(&c, "/v1.0/me/contacts", &q, items, "users('me')/contacts"),
        Err(e) => err(e),
    }
}

async fn create_contact(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
    Path(f): Path<String>,
    body: Bytes,
) -> Response {
    let v = match parse_json(&body) {
        Ok(v) => v,
        Err(e) => return err(e),
    };
    let r = sim.with_mailbox(&c.email, |mb| {
        if !mb.contact_folders.iter().any(|x| x.id == f) {
            return Err(SimError::not_found("contact folder"));
        }
        let id = mb.create_contact(&f, &v)?;
        Ok(mb.contacts[&id].render(&ExpandExt::All))
    });
    match r {
        Ok(Ok(v)) => ok_json(StatusCode::CREATED, v),
        Ok(Err(e)) | Err(e) => err(e),
    }
}

async fn get_contact(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
    Path((f, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = Q::parse(&raw);
    let expand = match parse_expand(&q) {
        Ok(x) => x,
        Err(e) => return err(e),
    };
    match sim.with_mailbox(&c.email, |mb| {
        mb.contacts
            .get(&id)
            .filter(|x| x.folder_id == f)
            .map(|x| x.render(&expand))
    }) {
        Ok(Some(v)) => ok_json(StatusCode::OK, v),
        Ok(None) => err(SimError::not_found("contact")),
        Err(e) => err(e),
    }
}

async fn patch_contact(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
    Path((f, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let v = match parse_json(&body) {
        Ok(v) => v,
        Err(e) => return err(e),
    };
    let r = sim.with_mailbox(&c.email, |mb| {
        if mb.contacts.get(&id).is_none_or(|x| x.folder_id != f) {
            return Err(SimError::not_found("contact"));
        }
        mb.patch_contact(&id, &v)?;
        Ok(mb.contacts[&id].render(&ExpandExt::All))
    });
    match r {
        Ok(Ok(v)) => ok_json(StatusCode::OK, v),
        Ok(Err(e)) | Err(e) => err(e),
    }
}

async fn delete_contact(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
    Path((f, id)): Path<(String, String)>,
) -> Response {
    let r = sim.with_mailbox(&c.email, |mb| {
        if mb.contacts.get(&id).is_none_or(|x| x.folder_id != f) {
            return Err(SimError::not_found("contact"));
        }
        mb.contacts.remove(&id);
        Ok(())
    });
    match r {
        Ok(Ok(())) => StatusCode::NO_CONTENT.into_response(),
        Ok(Err(e)) | Err(e) => err(e),
    }
}

async fn get_message(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let expand = match parse_expand(&Q::parse(&raw)) {
        Ok(e) => e,
        Err(e) => return err(e),
    };
    match sim.with_mailbox(&c.email, |mb| {
        mb.messages.get(&id).map(|m| m.render(&expand))
    }) {
        Ok(Some(mut v)) => {
            v["@odata.context"] = json!(format!(
                "{}/v1.0/$metadata#users('me')/messages/$entity",
                c.base
            ));
            ok_json(StatusCode::OK, v)
        }
        Ok(None) => err(SimError::not_found("message")),
        Err(e) => err(e),
    }
}

async fn list_mail_folders(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = Q::parse(&raw);
    match sim.with_mailbox(&c.email, |mb| {
        mb.mail_folders
            .iter()
            .map(|f| {
                let n = mb.messages.values().filter(|m| m.folder_id == f.id).count();
                json!({"id": f.id, "displayName": f.name, "parentFolderId": Value::Null, "childFolderCount": 0, "totalItemCount": n, "unreadItemCount": 0})
            })
            .collect::<Vec<_>>()
    }) {
        Ok(items) => paged(&c, "/v1.0/me/mailFolders", &q, items, "users('me')/mailFolders"),
        Err(e) => err(e),
    }
}

async fn list_messages(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
    Path(f): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = Q::parse(&raw);
    let path = format!("/v1.0/me/mailFolders/{f}/messages");
    match sim.with_mailbox(&c.email, |mb| {
        let fid = mb.folder_by_name_or_id(&f).map(|x| x.id.clone())?;
        Some(
            mb.messages
                .values()
                .filter(|m| m.folder_id == fid)
                .map(|m| m.render(&ExpandExt::None))
                .collect::<Vec<_>>(),
        )
    }) {
        Ok(Some(items)) => paged(&c, &path, &q, items, "users('me')/messages"),
        Ok(None) => err(SimError::not_found("mail folder")),
        Err(e) => err(e),
    }
}

async fn messages_delta(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
    Path(f): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = Q::parse(&raw);
    let path = format!("/v1.0/me/mailFolders/{f}/messages/delta");
    let is_skip = q.get("$skiptoken").is_some();
    if let Some(tok) = q.get("$skiptoken").or(q.get("$deltatoken")) {
        let Some(state) = sim.inner.state.lock().delta.get(tok).cloned() else {
            return gone_mail();
        };
        if state.expired || state.email != c.email {
            return gone_mail();
        }
        if is_skip {
            return delta_page(&sim, &c, &path, state, "Collection(message)");
        }
        let DeltaKind::Messages {
            folder_id,
            received_from,
            expand,
        } = &state.kind
        else {
            return gone_mail();
        };
        let r = sim.with_mailbox(&c.email, |mb| {
            messages_round(mb, folder_id, *received_from, expand, Some(&state.snapshot))
        });
        return match r {
            Ok((items, snap)) => delta_page(
                &sim,
                &c,
                &path,
                DeltaState {
                    snapshot: snap,
                    pending: Some(Arc::new(items)),
                    offset: 0,
                    ..state
                },
                "Collection(message)",
            ),
            Err(e) => err(e),
        };
    }
    let received_from = match q.get("$filter").map(received_filter).transpose() {
        Ok(f) => f,
        Err(e) => return err(e),
    };
    let expand = match parse_expand(&q) {
        Ok(e) => e,
        Err(e) => return err(e),
    };
    let r = sim.with_mailbox(&c.email, |mb| {
        let fid = mb.folder_by_name_or_id(&f).map(|x| x.id.clone())?;
        let (items, snap) = messages_round(mb, &fid, received_from, &expand, None);
        Some((fid, items, snap))
    });
    match r {
        Ok(Some((fid, items, snap))) => delta_page(
            &sim,
            &c,
            &path,
            DeltaState {
                email: c.email.clone(),
                kind: DeltaKind::Messages {
                    folder_id: fid,
                    received_from,
                    expand,
                },
                snapshot: snap,
                pending: Some(Arc::new(items)),
                offset: 0,
                page_size: c.max_page_size.unwrap_or(DELTA_DEFAULT_PAGE),
                expired: false,
                serial: 0,
            },
            "Collection(message)",
        ),
        Ok(None) => err(SimError::not_found("mail folder")),
        Err(e) => err(e),
    }
}

/// The only `$filter` message delta supports: `receivedDateTime ge {instant}` (or `gt`).
fn received_filter(f: &str) -> Result<chrono::DateTime<chrono::Utc>, SimError> {
    let parts: Vec<&str> = f.split_whitespace().collect();
    let bad = || {
        SimError::new(
            400,
            "ErrorInvalidUrlQueryFilter",
            format!("The query filter is not supported with change tracking over messages: '{f}'"),
        )
    };
    match parts.as_slice() {
        [field, op, value]
            if field.eq_ignore_ascii_case("receivedDateTime")
                && (op.eq_ignore_ascii_case("ge") || op.eq_ignore_ascii_case("gt")) =>
        {
            let t = parse_instant(value.trim_matches('\'')).ok_or_else(bad)?;
            Ok(if op.eq_ignore_ascii_case("gt") {
                t + Duration::milliseconds(1)
            } else {
                t
            })
        }
        _ => Err(bad()),
    }
}

/// `$select` as a list of property names.
fn select_list(q: &Q) -> Option<Vec<String>> {
    q.get("$select").map(|s| {
        s.split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect()
    })
}

async fn list_attachments(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = Q::parse(&raw);
    let select = select_list(&q);
    let path = format!("/v1.0/me/messages/{id}/attachments");
    match sim.with_mailbox(&c.email, |mb| {
        mb.messages.get(&id).map(|m| {
            m.attachments
                .iter()
                .map(|a| a.render(select.as_deref()))
                .collect::<Vec<_>>()
        })
    }) {
        Ok(Some(items)) => paged(&c, &path, &q, items, "users('me')/messages('')/attachments"),
        Ok(None) => err(SimError::not_found("message")),
        Err(e) => err(e),
    }
}

fn find_attachment(
    sim: &GraphSim,
    c: &Caller,
    id: &str,
    aid: &str,
) -> Result<super::model::AttachmentRec, SimError> {
    sim.with_mailbox(&c.email, |mb| {
        let m = mb
            .messages
            .get(id)
            .ok_or_else(|| SimError::not_found("message"))?;
        m.attachments
            .iter()
            .find(|a| a.id == aid)
            .cloned()
            .ok_or_else(|| SimError::not_found("attachment"))
    })?
}

async fn get_attachment(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
    Path((id, aid)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = Q::parse(&raw);
    match find_attachment(&sim, &c, &id, &aid) {
        Ok(a) => ok_json(StatusCode::OK, a.render(select_list(&q).as_deref())),
        Err(e) => err(e),
    }
}

/// The raw content of a file attachment.
async fn attachment_value(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
    Path((id, aid)): Path<(String, String)>,
) -> Response {
    match find_attachment(&sim, &c, &id, &aid) {
        Ok(a) if a.is_file() => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, a.content_type.clone())],
            Body::from(a.bytes.as_ref().clone()),
        )
            .into_response(),
        Ok(_) => err(SimError::new(
            400,
            "ErrorInvalidRequest",
            "Only file attachments have a $value.",
        )),
        Err(e) => err(e),
    }
}

const BATCH_MAX: usize = 20;

async fn batch(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let v = match parse_json(&body) {
        Ok(v) => v,
        Err(e) => return err(e),
    };
    let Some(reqs) = v.get("requests").and_then(Value::as_array) else {
        return err(SimError::new(
            400,
            "BadRequest",
            "Invalid batch payload format.",
        ));
    };
    if reqs.len() > BATCH_MAX {
        return err(SimError::new(
            400,
            "BadRequest",
            "The number of batch requests exceeds the maximum of 20.",
        ));
    }
    let mut seen: Vec<String> = vec![];
    for r in reqs {
        let Some(id) = r.get("id").and_then(Value::as_str) else {
            return err(SimError::new(
                400,
                "BadRequest",
                "Invalid batch payload format: every request needs an id.",
            ));
        };
        if seen.iter().any(|s| s == id) {
            return err(SimError::new(
                400,
                "BadRequest",
                format!("Batch request id '{id}' is not unique."),
            ));
        }
        if r.get("method").and_then(Value::as_str).is_none()
            || r.get("url").and_then(Value::as_str).is_none()
        {
            return err(SimError::new(
                400,
                "BadRequest",
                "Invalid batch payload format: method and url are required.",
            ));
        }
        for d in r
            .get("dependsOn")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !d.as_str().is_some_and(|d| seen.iter().any(|s| s == d)) {
                return err(SimError::new(
                    400,
                    "BadRequest",
                    format!("Request '{id}' depends on an unknown or later request."),
                ));
            }
        }
        let has_ct = r
            .get("headers")
            .and_then(Value::as_object)
            .is_some_and(|h| h.keys().any(|k| k.eq_ignore_ascii_case("content-type")));
        if r.get("body").is_some_and(|b| !b.is_null()) && !has_ct {
            return err(SimError::new(
                400,
                "BadRequest",
                "Content-Type header must be specified for a request with a body.",
            ));
        }
        seen.push(id.to_string());
    }
    let Some(router) = sim.inner.graph_router.get().cloned() else {
        return err(SimError::new(
            500,
            "InternalServerError",
            "router not ready",
        ));
    };
    let mut statuses: HashMap<String, u16> = HashMap::new();
    let mut responses = vec![];
    for r in reqs {
        let id = r["id"].as_str().unwrap_or_default().to_string();
        let failed_dep = r
            .get("dependsOn")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .any(|d| !statuses.get(d).is_some_and(|s| (200..300).contains(s)));
        if failed_dep {
            statuses.insert(id.clone(), 424);
            responses.push(json!({"id": id, "status": 424, "headers": {"Content-Type": "application/json"},
                "body": {"error": {"code": "FailedDependency", "message": "A request this request depends on failed.",
                    "innerError": {"date": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()}}}}));
            continue;
        }
        let method = r["method"].as_str().unwrap_or("GET").to_ascii_uppercase();
        let url = r["url"].as_str().unwrap_or("");
        let url = if url.starts_with('/') {
            url.to_string()
        } else {
            format!("/{url}")
        };
        let mut b = Request::builder()
            .method(method.as_str())
            .uri(format!("/v1.0{url}"));
        for (k, hv) in headers.iter() {
            if [header::AUTHORIZATION, header::HOST].contains(k) || k.as_str() == "prefer" {
                b = b.header(k, hv);
            }
        }
        if let Some(h) = r.get("headers").and_then(Value::as_object) {
            for (k, hv) in h {
                if let Some(s) = hv.as_str() {
                    b = b.header(k.as_str(), s);
                }
            }
        }
        let body = match r.get("body") {
            Some(Value::Null) | None => Body::empty(),
            Some(v) => Body::from(serde_json::to_vec(v).unwrap_or_default()),
        };
        let Ok(mut req) = b.body(body) else {
            statuses.insert(id.clone(), 400);
            responses.push(json!({"id": id, "status": 400, "headers": {}, "body": {"error": {"code": "BadRequest", "message": "Invalid request in batch."}}}));
            continue;
        };
        req.extensions_mut().insert(BatchInner);
        let resp = match router.clone().oneshot(req).await {
            Ok(r) => r,
            Err(e) => match e {},
        };
        let status = resp.status().as_u16();
        let mut hs = serde_json::Map::new();
        for name in [
            header::CONTENT_TYPE,
            header::RETRY_AFTER,
            header::ETAG,
            header::LOCATION,
        ] {
            if let Some(v) = resp.headers().get(&name).and_then(|v| v.to_str().ok()) {
                let key = match name.as_str() {
                    "content-type" => "Content-Type",
                    "retry-after" => "Retry-After",
                    "etag" => "ETag",
                    _ => "Location",
                };
                hs.insert(key.into(), json!(v));
            }
        }
        let bytes = to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        let mut item = json!({"id": id, "status": status, "headers": hs});
        if !bytes.is_empty()
            && let Ok(v) = serde_json::from_slice::<Value>(&bytes)
        {
            item["body"] = v;
        }
        statuses.insert(id, status);
        responses.push(item);
    }
    let _ = &c;
    ok_json(StatusCode::OK, json!({"responses": responses}))
}
