//! The CRM-service REST API under `/api/v1` (see `crmservice-api.md`).
//!
//! Errors are plain-text bodies with the status (the vendor's client prints the body as the message),
//! except validation failures (422), which are JSON:API `errors` with a `source.pointer` per field.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use super::store::{Company, ListParams, Refusal, StoredFile, WriteParts, id_of};
use super::{
    ApiKeyKind, CompanyId, CrmSim, DEFAULT_PAGE_SIZE, MAX_FILE_BYTES, MAX_PAGE_SIZE,
    TOKEN_TTL_SECS, TokenInfo, random_hex,
};

pub const JSONAPI: &str = "application/vnd.api+json";

pub(crate) fn router(sim: CrmSim) -> Router {
    let api = Router::new()
        .route("/", get(index))
        .route("/auth", post(auth))
        .route("/user", get(current_user))
        .route("/schema/{module}", get(schema))
        .route("/reporting", post(reporting))
        .route("/{module}", get(list).post(create))
        .route("/{module}/{id}", get(fetch).patch(update).delete(remove))
        .route(
            "/{module}/{id}/files",
            post(upload).layer(DefaultBodyLimit::max(MAX_FILE_BYTES + 1024 * 1024)),
        )
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            sim.clone(),
            super::faults::layer,
        ))
        .with_state(sim.clone());
    Router::new()
        .nest("/api/v1", api)
        .route(
            "/api/v1/",
            get(index).layer(middleware::from_fn_with_state(
                sim.clone(),
                super::faults::layer,
            )),
        )
        .with_state(sim)
}

struct ApiError(Refusal);

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        ApiError(r)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let r = self.0;
        let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if r.status == 422 {
            let pointer = r
                .field
                .as_ref()
                .map(|f| format!("/data/attributes/{f}"))
                .unwrap_or_else(|| "/data".into());
            let body = json!({"errors": [{
                "status": "422",
                "title": "Validation failed",
                "detail": r.message,
                "source": {"pointer": pointer},
            }]});
            let mut resp = (status, body.to_string()).into_response();
            resp.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSONAPI));
            return resp;
        }
        (status, r.message).into_response()
    }
}

type ApiResult = Result<Response, ApiError>;

fn jsonapi(status: StatusCode, body: Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSONAPI));
    r
}

async fn not_found() -> ApiError {
    ApiError(Refusal::new(404, "Not found"))
}

/// Who is calling: an API key (integration scope) or a logged-in user.
#[derive(Debug, Clone)]
struct Caller {
    company: CompanyId,
    user: Option<u64>,
}

fn bearer(headers: &HeaderMap) -> Result<&str, Refusal> {
    let h = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| Refusal::new(401, "Missing bearer token"))?;
    let s = h
        .to_str()
        .map_err(|_| Refusal::new(401, "Invalid bearer token"))?;
    let token = s
        .strip_prefix("Bearer ")
        .ok_or_else(|| Refusal::new(401, "Authorization must be a Bearer token"))?
        .trim();
    if token.is_empty() {
        return Err(Refusal::new(401, "Missing bearer token"));
    }
    Ok(token)
}

impl CrmSim {
    fn caller(&self, headers: &HeaderMap) -> Result<Caller, Refusal> {
        let token = bearer(headers)?;
        let now = self.now_utc();
        let st = self.inner.state.lock();
        if let Some(t) = st.tokens.get(token) {
            if t.expires <= now {
                return Err(Refusal::new(401, "Token expired"));
            }
            let locked = st
                .companies
                .get(&t.company)
                .and_then(|c| c.users.get(&t.username))
                .is_none_or(|u| u.locked);
            if locked {
                return Err(Refusal::new(403, "User is locked"));
            }
            return Ok(Caller {
                company: t.company,
                user: Some(t.user_id),
            });
        }
        if let Some(k) = st.keys.get(token) {
            return Ok(Caller {
                company: k.company,
                user: None,
            });
        }
        Err(Refusal::new(401, "Invalid token"))
    }
}

fn require_jsonapi(headers: &HeaderMap) -> Result<(), Refusal> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ct.trim() != JSONAPI {
        return Err(Refusal::new(
            415,
            format!("Content-Type must be {JSONAPI}, got {ct:?}"),
        ));
    }
    Ok(())
}

fn parse_json(body: &Bytes) -> Result<Value, Refusal> {
    serde_json::from_slice(body).map_err(|e| Refusal::new(400, format!("invalid JSON body: {e}")))
}

async fn index(State(sim): State<CrmSim>, headers: HeaderMap) -> ApiResult {
    let caller = sim.caller(&headers)?;
    let st = sim.inner.state.lock();
    let c = &st.companies[&caller.company];
    let base = base_url(&headers);
    let mut links = Map::new();
    links.insert("self".into(), json!(format!("{base}/api/v1/")));
    for m in c.module_names() {
        links.insert(
            m.into(),
            json!({"href": format!("{base}/api/v1/{m}"), "type": "module"}),
        );
    }
    Ok(jsonapi(
        StatusCode::OK,
        json!({"links": links, "meta": {"company": c.name, "version": "1"}}),
    ))
}

async fn auth(State(sim): State<CrmSim>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let token = bearer(&headers)?;
    require_jsonapi(&headers)?;
    let v = parse_json(&body)?;
    let (Some(username), Some(password)) = (
        v.get("username").and_then(Value::as_str),
        v.get("password").and_then(Value::as_str),
    ) else {
        return Err(Refusal::new(400, "username and password are required").into());
    };
    let now = sim.now_utc();
    let mut st = sim.inner.state.lock();
    let key = st
        .keys
        .get(token)
        .cloned()
        .ok_or_else(|| Refusal::new(401, "Invalid API key"))?;
    if key.kind != ApiKeyKind::Outlook {
        return Err(Refusal::new(403, "API key is not of type Outlook").into());
    }
    let c = &st.companies[&key.company];
    let user = c
        .users
        .get(username)
        .filter(|u| u.password == password)
        .cloned()
        .ok_or_else(|| Refusal::new(401, "Invalid username or password"))?;
    if user.locked {
        return Err(Refusal::new(403, "User is locked").into());
    }
    let token = random_hex(24);
    st.tokens.insert(
        token.clone(),
        TokenInfo {
            company: key.company,
            user_id: user.user_id,
            username: username.to_owned(),
            expires: now + chrono::Duration::seconds(TOKEN_TTL_SECS),
        },
    );
    Ok(jsonapi(StatusCode::OK, Value::String(token)))
}

async fn current_user(State(sim): State<CrmSim>, headers: HeaderMap) -> ApiResult {
    let caller = sim.caller(&headers)?;
    let user = caller
        .user
        .ok_or_else(|| Refusal::new(403, "An API key has no current user; log in first"))?;
    let st = sim.inner.state.lock();
    let c = &st.companies[&caller.company];
    let m = c.module("users").expect("users module");
    Ok(jsonapi(
        StatusCode::OK,
        json!({"data": c.render(&m, user, None)}),
    ))
}

async fn schema(
    State(sim): State<CrmSim>,
    headers: HeaderMap,
    Path(module): Path<String>,
) -> ApiResult {
    let caller = sim.caller(&headers)?;
    let st = sim.inner.state.lock();
    let m = st.companies[&caller.company]
        .module(&module)
        .ok_or_else(|| Refusal::new(400, format!("Unknown module {module:?}")))?;
    Ok(jsonapi(StatusCode::OK, m.to_json()))
}

fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

fn parse_list_params(query: Option<&str>) -> Result<ListParams, Refusal> {
    let mut p = ListParams {
        page_number: 1,
        page_size: DEFAULT_PAGE_SIZE,
        ..Default::default()
    };
    let num = |k: &str, v: &str| -> Result<u64, Refusal> {
        v.parse()
            .map_err(|_| Refusal::new(400, format!("{k} must be a positive integer")))
    };
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "page[number]" => {
                p.page_number = num(&k, &v)?;
                if p.page_number < 1 {
                    return Err(Refusal::new(400, "page[number] starts at 1"));
                }
            }
            "page[size]" => {
                p.page_size = num(&k, &v)?;
                if !(1..=MAX_PAGE_SIZE).contains(&p.page_size) {
                    return Err(Refusal::new(
                        400,
                        format!("page[size] must be between 1 and {MAX_PAGE_SIZE}"),
                    ));
                }
            }
            "offset" => p.offset = Some(num(&k, &v)?),
            "filter" => {
                let f: Value = serde_json::from_str(&v)
                    .map_err(|e| Refusal::new(400, format!("filter is not valid JSON: {e}")))?;
                p.filter = Some(f);
            }
            "include" => {
                p.include = v
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            }
            "sort" => {
                for s in v.split(',').map(str::trim) {
                    match s.strip_prefix('-') {
                        Some(f) if !f.is_empty() => p.sort.push((f.to_owned(), true)),
                        None if !s.is_empty() => p.sort.push((s.to_owned(), false)),
                        _ => return Err(Refusal::new(400, format!("invalid sort {v:?}"))),
                    }
                }
            }
            k => {
                if let Some(module) = k.strip_prefix("fields[").and_then(|r| r.strip_suffix(']')) {
                    p.fields.insert(
                        module.to_owned(),
                        v.split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned)
                            .collect(),
                    );
                } else {
                    return Err(Refusal::new(400, format!("unknown query parameter {k:?}")));
                }
            }
        }
    }
    Ok(p)
}

fn page_link(base: &str, path: &str, query: Option<&str>, number: u64) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if k != "page[number]" && k != "offset" {
            ser.append_pair(&k, &v);
        }
    }
    ser.append_pair("page[number]", &number.to_string());
    format!("{base}{path}?{}", ser.finish())
}

fn module_of(c: &Company, module: &str) -> Result<super::schema::ModuleDef, Refusal> {
    c.module(module)
        .ok_or_else(|| Refusal::new(400, format!("Unknown module {module:?}")))
}

async fn list(
    State(sim): State<CrmSim>,
    headers: HeaderMap,
    Path(module): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let caller = sim.caller(&headers)?;
    let params = parse_list_params(query.as_deref())?;
    let now = sim.now_local(caller.company);
    let st = sim.inner.state.lock();
    let c = &st.companies[&caller.company];
    let m = module_of(c, &module)?;
    for (fm, fs) in &params.fields {
        c.check_fields(fm, fs)?;
    }
    let filter = params
        .filter
        .as_ref()
        .map(|f| c.parse_filter(&m, f, now))
        .transpose()?;
    let ids = c.select(&m, filter.as_ref(), &params.sort)?;
    let total = ids.len() as u64;
    let start = params
        .offset
        .unwrap_or((params.page_number - 1) * params.page_size);
    let page: Vec<u64> = ids
        .iter()
        .skip(usize::try_from(start).unwrap_or(usize::MAX))
        .take(params.page_size as usize)
        .copied()
        .collect();
    let data: Vec<Value> = page
        .iter()
        .map(|id| c.render(&m, *id, params.fields.get(&module)))
        .collect();
    let included = c.included(&m, &page, &params.include, &params.fields)?;
    let base = base_url(&headers);
    let path = format!("/api/v1/{module}");
    let q = query.as_deref();
    let last = total.div_ceil(params.page_size).max(1);
    let current = start / params.page_size + 1;
    let mut links = json!({
        "self": page_link(&base, &path, q, current),
        "first": page_link(&base, &path, q, 1),
        "last": page_link(&base, &path, q, last),
        "prev": Value::Null,
        "next": Value::Null,
    });
    if current > 1 {
        links["prev"] = json!(page_link(&base, &path, q, current - 1));
    }
    if start + (page.len() as u64) < total {
        links["next"] = json!(page_link(&base, &path, q, current + 1));
    }
    let mut body = json!({
        "data": data,
        "meta": {"total": total, "page": current, "page_size": params.page_size},
        "links": links,
    });
    if !params.include.is_empty() {
        body["included"] = Value::Array(included);
    }
    Ok(jsonapi(StatusCode::OK, body))
}

fn parse_id(id: &str) -> Result<u64, Refusal> {
    id.parse()
        .map_err(|_| Refusal::new(404, format!("Not found: id {id:?} is not numeric")))
}

async fn fetch(
    State(sim): State<CrmSim>,
    headers: HeaderMap,
    Path((module, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let caller = sim.caller(&headers)?;
    let params = parse_list_params(query.as_deref())?;
    let st = sim.inner.state.lock();
    let c = &st.companies[&caller.company];
    let m = module_of(c, &module)?;
    let id = parse_id(&id)?;
    for (fm, fs) in &params.fields {
        c.check_fields(fm, fs)?;
    }
    if c.row(&module, id).is_none() {
        return Err(Refusal::new(404, format!("{module} {id} not found")).into());
    }
    let mut body = json!({"data": c.render(&m, id, params.fields.get(&module))});
    if !params.include.is_empty() {
        body["included"] = Value::Array(c.included(&m, &[id], &params.include, &params.fields)?);
    }
    Ok(jsonapi(StatusCode::OK, body))
}

/// Reads `{"data": {"type", "id"?, "attributes", "relationships"?}}`.
fn parse_resource(body: &Bytes, module: &str, id: Option<u64>) -> Result<WriteParts, Refusal> {
    let v = parse_json(body)?;
    let data = v
        .get("data")
        .and_then(Value::as_object)
        .ok_or_else(|| Refusal::new(400, "body must be {\"data\": {…}}"))?;
    if data.get("type").and_then(Value::as_str) != Some(module) {
        return Err(Refusal::new(409, format!("data.type must be {module:?}")));
    }
    if let (Some(want), Some(got)) = (id, data.get("id"))
        && id_of(got) != Some(want)
    {
        return Err(Refusal::new(409, "data.id does not match the URL"));
    }
    let attrs = match data.get("attributes") {
        None => Map::new(),
        Some(Value::Object(a)) => a.clone(),
        Some(_) => return Err(Refusal::new(400, "data.attributes must be an object")),
    };
    let mut links = BTreeMap::new();
    if let Some(rels) = data.get("relationships") {
        let rels = rels
            .as_object()
            .ok_or_else(|| Refusal::new(400, "data.relationships must be an object"))?;
        for (name, rel) in rels {
            let items = rel.get("data").and_then(Value::as_array).ok_or_else(|| {
                Refusal::new(400, format!("relationships.{name}.data must be an array"))
            })?;
            let ids = items
                .iter()
                .map(|i| {
                    i.get("id")
                        .and_then(id_of)
                        .ok_or_else(|| Refusal::new(400, format!("relationships.{name}: bad id")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            links.insert(name.clone(), ids);
        }
    }
    Ok((attrs, links))
}

fn writable(c: &Company, module: &str) -> Result<super::schema::ModuleDef, Refusal> {
    let m = module_of(c, module)?;
    if !m.writable {
        return Err(Refusal::new(
            403,
            format!("{module} cannot be changed through the API"),
        ));
    }
    Ok(m)
}

async fn create(
    State(sim): State<CrmSim>,
    headers: HeaderMap,
    Path(module): Path<String>,
    body: Bytes,
) -> ApiResult {
    let caller = sim.caller(&headers)?;
    require_jsonapi(&headers)?;
    let now = sim.now_local(caller.company);
    let mut st = sim.inner.state.lock();
    let c = st
        .companies
        .get_mut(&caller.company)
        .expect("caller's company");
    let m = writable(c, &module)?;
    let (attrs, links) = parse_resource(&body, &module, None)?;
    let id = c.insert(&module, &attrs, &links, now, caller.user, false)?;
    let mut resp = jsonapi(StatusCode::CREATED, json!({"data": c.render(&m, id, None)}));
    if let Ok(loc) = HeaderValue::from_str(&format!("/api/v1/{module}/{id}")) {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(resp)
}

async fn update(
    State(sim): State<CrmSim>,
    headers: HeaderMap,
    Path((module, id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let caller = sim.caller(&headers)?;
    require_jsonapi(&headers)?;
    let now = sim.now_local(caller.company);
    let mut st = sim.inner.state.lock();
    let c = st
        .companies
        .get_mut(&caller.company)
        .expect("caller's company");
    let m = writable(c, &module)?;
    let id = parse_id(&id)?;
    if c.row(&module, id).is_none() {
        return Err(Refusal::new(404, format!("{module} {id} not found")).into());
    }
    let (attrs, links) = parse_resource(&body, &module, Some(id))?;
    c.update(&module, id, &attrs, &links, now, false)?;
    Ok(jsonapi(
        StatusCode::OK,
        json!({"data": c.render(&m, id, None)}),
    ))
}

async fn remove(
    State(sim): State<CrmSim>,
    headers: HeaderMap,
    Path((module, id)): Path<(String, String)>,
) -> ApiResult {
    let caller = sim.caller(&headers)?;
    let mut st = sim.inner.state.lock();
    let c = st
        .companies
        .get_mut(&caller.company)
        .expect("caller's company");
    writable(c, &module)?;
    let id = parse_id(&id)?;
    c.delete(&module, id)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /{module}/{id}/files`: the raw file as the body (`Content-Type` of the file,
/// `Content-Disposition: attachment; filename="…"`), at most 25 MiB.
async fn upload(
    State(sim): State<CrmSim>,
    headers: HeaderMap,
    Path((module, id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let caller = sim.caller(&headers)?;
    if body.len() > MAX_FILE_BYTES {
        return Err(Refusal::new(413, "File is larger than 25 MiB").into());
    }
    let name = headers
        .get(header::CONTENT_DISPOSITION)
        .and_then(|v| v.to_str().ok())
        .and_then(disposition_filename)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Refusal::new(400, "Content-Disposition with a filename is required"))?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    let mut st = sim.inner.state.lock();
    let c = st
        .companies
        .get_mut(&caller.company)
        .expect("caller's company");
    writable(c, &module)?;
    let id = parse_id(&id)?;
    if c.row(&module, id).is_none() {
        return Err(Refusal::new(404, format!("{module} {id} not found")).into());
    }
    let file_id = c.files.len() as u64 + 1;
    c.files.push(StoredFile {
        id: file_id,
        module: module.clone(),
        record_id: id,
        name: name.clone(),
        content_type: content_type.clone(),
        size: body.len(),
    });
    Ok(jsonapi(
        StatusCode::CREATED,
        json!({"data": {"type": "files", "id": file_id.to_string(), "attributes": {
            "name": name, "size": body.len(), "content_type": content_type,
            "module": module, "record_id": id.to_string(),
        }}}),
    ))
}

/// The file name of a `Content-Disposition` header: `filename*=UTF-8''…` (RFC 6266, percent-encoded)
/// when given, else `filename="…"`.
fn disposition_filename(v: &str) -> Option<String> {
    let parts: Vec<&str> = v.split(';').map(str::trim).collect();
    if let Some(enc) = parts.iter().find_map(|p| p.strip_prefix("filename*=")) {
        let raw = enc
            .strip_prefix("UTF-8''")
            .or_else(|| enc.strip_prefix("utf-8''"))?;
        let bytes = raw.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        return String::from_utf8(out).ok();
    }
    parts
        .iter()
        .find_map(|p| p.strip_prefix("filename="))
        .map(|n| n.trim_matches('"').to_owned())
}

/// `POST /reporting` with `{"module": "...", "filter": {...}?}` → `{"data": {"count": n}}`.
async fn reporting(State(sim): State<CrmSim>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let caller = sim.caller(&headers)?;
    require_jsonapi(&headers)?;
    let v = parse_json(&body)?;
    let module = v
        .get("module")
        .and_then(Value::as_str)
        .ok_or_else(|| Refusal::new(400, "module is required"))?;
    let now = sim.now_local(caller.company);
    let st = sim.inner.state.lock();
    let c = &st.companies[&caller.company];
    let m = module_of(c, module)?;
    let filter = v
        .get("filter")
        .filter(|f| !f.is_null())
        .map(|f| c.parse_filter(&m, f, now))
        .transpose()?;
    let n = c.select(&m, filter.as_ref(), &[])?.len();
    Ok(jsonapi(StatusCode::OK, json!({"data": {"count": n}})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_params_reject_oversized_pages_and_unknown_parameters() {
        assert!(parse_list_params(Some("page%5Bsize%5D=501")).is_err());
        assert!(parse_list_params(Some("page%5Bnumber%5D=0")).is_err());
        assert!(parse_list_params(Some("limit=5")).is_err());
        let p = parse_list_params(Some(
            "sort=-updated_at,id&fields%5Bactivities%5D=id,subject",
        ))
        .unwrap();
        assert_eq!(
            p.sort,
            vec![("updated_at".to_owned(), true), ("id".to_owned(), false)]
        );
        assert_eq!(p.fields["activities"], vec!["id", "subject"]);
    }
}
