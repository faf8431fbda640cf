//! Admin HTTP API of the CRM simulator under `/_admin/crm` (plain JSON, no auth; not part of CRM-service).
//!
//! | method and path | body → answer |
//! |---|---|
//! | `POST /_admin/crm/companies` | `{"name"}` → `{"company_id", "api_key"}` |
//! | `POST /_admin/crm/companies/{c}/api-keys` | `{"kind": "outlook"\|"other"}` → `{"api_key"}` |
//! | `DELETE /_admin/crm/api-keys/{key}` | → 204 |
//! | `POST /_admin/crm/companies/{c}/users` | `{"username","password","email","name","locked"?}` → `{"id"}` |
//! | `PATCH /_admin/crm/companies/{c}/users/{username}` | `{"locked"?, "password"?}` → 204 |
//! | `GET /_admin/crm/companies/{c}/records/{module}` | → `[record…]` (flat JSON, relations as id arrays) |
//! | `POST /_admin/crm/companies/{c}/records/{module}` | flat record → stored record (201) |
//! | `GET/PATCH/DELETE /_admin/crm/companies/{c}/records/{module}/{id}` | read / change / delete as a CRM user would |
//! | `PATCH /_admin/crm/companies/{c}` | `{"time_zone": "Europe/Helsinki"}` → 204 |
//! | `POST /_admin/crm/companies/{c}/custom-fields/{module}` | `{"name": "cf_…", "type", "label"}` → 204 |
//! | `DELETE /_admin/crm/companies/{c}/fields/{module}/{field}` | → 204 (this CRM lacks that field) |
//! | `GET /_admin/crm/clock` | → `{"now_utc", "offset_secs"}` |
//! | `POST /_admin/crm/clock` | `{"advance_secs"}` or `{"offset_secs"}` → same as GET |
//! | `POST /_admin/crm/tokens/expire` | → 204 (every user token now gets 401) |
//! | `GET /_admin/crm/faults`, `POST` a [`FaultRule`] → `{"id"}`, `DELETE` all, `DELETE /faults/{id}` | |
//! | `GET /_admin/crm/requests` | → `{"<route key>": count}`; `DELETE` resets |
//! | `POST /_admin/crm/seed-demo` | → [`DemoCrm`](super::DemoCrm) |

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::schema::FieldType;
use super::{ApiKeyKind, CompanyId, CrmSim, FaultRule, NewUser, Refusal};

pub(crate) fn router(sim: CrmSim) -> Router {
    Router::new()
        .route("/_admin/crm/companies", post(create_company))
        .route("/_admin/crm/companies/{c}", patch(patch_company))
        .route("/_admin/crm/companies/{c}/api-keys", post(add_key))
        .route("/_admin/crm/api-keys/{key}", delete(revoke_key))
        .route("/_admin/crm/companies/{c}/users", post(add_user))
        .route(
            "/_admin/crm/companies/{c}/users/{username}",
            patch(patch_user),
        )
        .route(
            "/_admin/crm/companies/{c}/records/{module}",
            get(list_records).post(insert_record),
        )
        .route(
            "/_admin/crm/companies/{c}/records/{module}/{id}",
            get(get_record).patch(update_record).delete(delete_record),
        )
        .route(
            "/_admin/crm/companies/{c}/custom-fields/{module}",
            post(add_custom_field),
        )
        .route(
            "/_admin/crm/companies/{c}/fields/{module}/{field}",
            delete(hide_field),
        )
        .route("/_admin/crm/clock", get(clock).post(set_clock))
        .route("/_admin/crm/tokens/expire", post(expire_tokens))
        .route(
            "/_admin/crm/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/_admin/crm/faults/{id}", delete(remove_fault))
        .route("/_admin/crm/requests", get(requests).delete(reset_requests))
        .route("/_admin/crm/seed-demo", post(seed_demo))
        .with_state(sim)
}

struct AdminError(Refusal);

impl From<Refusal> for AdminError {
    fn from(r: Refusal) -> Self {
        AdminError(r)
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::BAD_REQUEST);
        (
            status,
            Json(json!({"error": self.0.message, "field": self.0.field})),
        )
            .into_response()
    }
}

type AdminResult<T> = Result<T, AdminError>;

#[derive(Deserialize)]
struct CompanyBody {
    name: String,
}

async fn create_company(
    State(sim): State<CrmSim>,
    Json(b): Json<CompanyBody>,
) -> impl IntoResponse {
    (StatusCode::CREATED, Json(sim.create_company(&b.name)))
}

#[derive(Deserialize)]
struct KeyBody {
    #[serde(default)]
    kind: ApiKeyKind,
}

async fn add_key(
    State(sim): State<CrmSim>,
    Path(c): Path<CompanyId>,
    Json(b): Json<KeyBody>,
) -> AdminResult<impl IntoResponse> {
    let key = sim.add_api_key(c, b.kind)?;
    Ok((StatusCode::CREATED, Json(json!({"api_key": key}))))
}

async fn revoke_key(State(sim): State<CrmSim>, Path(key): Path<String>) -> StatusCode {
    if sim.revoke_api_key(&key) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

async fn add_user(
    State(sim): State<CrmSim>,
    Path(c): Path<CompanyId>,
    Json(u): Json<NewUser>,
) -> AdminResult<impl IntoResponse> {
    let id = sim.add_user(c, u)?;
    Ok((StatusCode::CREATED, Json(json!({"id": id.to_string()}))))
}

#[derive(Deserialize)]
struct UserPatch {
    locked: Option<bool>,
    password: Option<String>,
}

async fn patch_user(
    State(sim): State<CrmSim>,
    Path((c, username)): Path<(CompanyId, String)>,
    Json(p): Json<UserPatch>,
) -> AdminResult<StatusCode> {
    if let Some(l) = p.locked {
        sim.set_user_locked(c, &username, l)?;
    }
    if let Some(pw) = p.password {
        sim.set_user_password(c, &username, &pw)?;
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn list_records(
    State(sim): State<CrmSim>,
    Path((c, module)): Path<(CompanyId, String)>,
) -> Json<Vec<Value>> {
    Json(sim.list(c, &module))
}

async fn insert_record(
    State(sim): State<CrmSim>,
    Path((c, module)): Path<(CompanyId, String)>,
    Json(rec): Json<Value>,
) -> AdminResult<impl IntoResponse> {
    Ok((StatusCode::CREATED, Json(sim.insert(c, &module, rec)?)))
}

async fn get_record(
    State(sim): State<CrmSim>,
    Path((c, module, id)): Path<(CompanyId, String, u64)>,
) -> AdminResult<Json<Value>> {
    sim.get(c, &module, id)
        .map(Json)
        .ok_or_else(|| AdminError(Refusal::new(404, format!("{module} {id} not found"))))
}

async fn update_record(
    State(sim): State<CrmSim>,
    Path((c, module, id)): Path<(CompanyId, String, u64)>,
    Json(changes): Json<Value>,
) -> AdminResult<Json<Value>> {
    Ok(Json(sim.update(c, &module, id, changes)?))
}

async fn delete_record(
    State(sim): State<CrmSim>,
    Path((c, module, id)): Path<(CompanyId, String, u64)>,
) -> AdminResult<StatusCode> {
    sim.delete(c, &module, id)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct CustomField {
    name: String,
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    label: String,
}

async fn add_custom_field(
    State(sim): State<CrmSim>,
    Path((c, module)): Path<(CompanyId, String)>,
    Json(f): Json<CustomField>,
) -> AdminResult<StatusCode> {
    let ty = FieldType::from_wire(&f.ty)
        .ok_or_else(|| AdminError(Refusal::new(400, format!("unknown type {}", f.ty))))?;
    sim.add_custom_field(c, &module, &f.name, ty, &f.label)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct CompanyPatch {
    time_zone: Option<String>,
}

async fn patch_company(
    State(sim): State<CrmSim>,
    Path(c): Path<CompanyId>,
    Json(p): Json<CompanyPatch>,
) -> AdminResult<StatusCode> {
    if let Some(tz) = p.time_zone {
        let tz: chrono_tz::Tz = tz
            .parse()
            .map_err(|_| AdminError(Refusal::new(400, format!("unknown time zone {tz}"))))?;
        sim.set_time_zone(c, tz)?;
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn hide_field(
    State(sim): State<CrmSim>,
    Path((c, module, field)): Path<(CompanyId, String, String)>,
) -> AdminResult<StatusCode> {
    sim.hide_field(c, &module, &field)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn clock(State(sim): State<CrmSim>) -> Json<Value> {
    Json(json!({
        "now_utc": sim.now_utc().to_rfc3339(),
        "offset_secs": sim.clock_offset().num_seconds(),
    }))
}

#[derive(Deserialize)]
struct ClockBody {
    advance_secs: Option<i64>,
    offset_secs: Option<i64>,
}

async fn set_clock(State(sim): State<CrmSim>, Json(b): Json<ClockBody>) -> Json<Value> {
    if let Some(o) = b.offset_secs {
        sim.set_clock_offset(chrono::Duration::seconds(o));
    }
    if let Some(a) = b.advance_secs {
        sim.advance_clock(chrono::Duration::seconds(a));
    }
    clock(State(sim)).await
}

async fn expire_tokens(State(sim): State<CrmSim>) -> StatusCode {
    sim.expire_tokens();
    StatusCode::NO_CONTENT
}

async fn list_faults(State(sim): State<CrmSim>) -> Json<Value> {
    let faults = sim.inner.faults.lock();
    Json(json!(
        faults
            .iter()
            .map(|f| json!({"id": f.id, "rule": f.rule}))
            .collect::<Vec<_>>()
    ))
}

async fn add_fault(State(sim): State<CrmSim>, Json(rule): Json<FaultRule>) -> impl IntoResponse {
    (
        StatusCode::CREATED,
        Json(json!({"id": sim.inject_fault(rule)})),
    )
}

async fn clear_faults(State(sim): State<CrmSim>) -> StatusCode {
    sim.clear_faults();
    StatusCode::NO_CONTENT
}

async fn remove_fault(State(sim): State<CrmSim>, Path(id): Path<u64>) -> StatusCode {
    if sim.remove_fault(id) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

async fn requests(State(sim): State<CrmSim>) -> Json<Value> {
    Json(json!(sim.request_counts()))
}

async fn reset_requests(State(sim): State<CrmSim>) -> StatusCode {
    sim.reset_request_counts();
    StatusCode::NO_CONTENT
}

async fn seed_demo(State(sim): State<CrmSim>) -> impl IntoResponse {
    (StatusCode::CREATED, Json(sim.seed_demo()))
}
