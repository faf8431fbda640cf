//! `GET /api/openapi.json`: the OpenAPI 3.1 description of the pane-facing API.
//!
//! Schemas come from the request/response types themselves (`utoipa::ToSchema`, derived in api-types
//! behind its `openapi` feature), so they cannot drift from the wire; the routes are listed once in
//! [`ROUTES`], which a test checks against the router.

use std::sync::OnceLock;

use api_types::{
    ApiError, calendars, error_reports, items, login, messages, pairing, picklists, preferences,
    relations, routes, session, sync,
};
use axum::{Json, Router, routing::get};
use utoipa::{
    ToSchema,
    openapi::{
        ComponentsBuilder, ContentBuilder, HttpMethod, InfoBuilder, OpenApi, OpenApiBuilder,
        PathItem, PathsBuilder, Ref, RefOr, Required, ResponseBuilder, Schema,
        path::{OperationBuilder, ParameterBuilder, ParameterIn},
        request_body::RequestBodyBuilder,
        security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme},
    },
};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route(routes::OPENAPI, get(|| async { Json(document().clone()) }))
}

/// One documented operation: method, path, summary, request schema, success status and schema.
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    pub request: Option<&'static str>,
    pub status: u16,
    pub response: Option<&'static str>,
    pub authenticated: bool,
}

const fn r(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    request: Option<&'static str>,
    status: u16,
    response: Option<&'static str>,
) -> Route {
    Route {
        method,
        path,
        summary,
        request,
        status,
        response,
        authenticated: true,
    }
}

/// Every route of the pane-facing API.
pub const ROUTES: &[Route] = &[
    Route {
        authenticated: false,
        ..r(
            "post",
            routes::SESSION,
            "Exchange the Office identity token for a session",
            Some("CreateSession"),
            201,
            Some("Session"),
        )
    },
    r(
        "delete",
        routes::SESSION,
        "End the pane session",
        None,
        204,
        None,
    ),
    r(
        "post",
        routes::SESSION_REFRESH,
        "Refresh the session token",
        None,
        200,
        Some("Session"),
    ),
    r(
        "get",
        routes::CALENDARS,
        "Calendars of the signed-in mailbox",
        None,
        200,
        Some("Calendar[]"),
    ),
    r(
        "get",
        routes::PAIRING,
        "The current pairing",
        None,
        200,
        Some("PairingSummary"),
    ),
    r(
        "post",
        routes::PAIRING,
        "Pair the mailbox with a CRM user (live checks)",
        Some("PairingRequest"),
        201,
        Some("PairingSummary"),
    ),
    r(
        "delete",
        routes::PAIRING,
        "Unpair; with ?force=true a forced removal answering ForcedRemoval",
        None,
        204,
        None,
    ),
    r(
        "get",
        routes::PREFERENCES,
        "All settings",
        None,
        200,
        Some("Preferences"),
    ),
    r(
        "put",
        routes::PREFERENCES,
        "Replace all settings (validated)",
        Some("Preferences"),
        200,
        Some("Preferences"),
    ),
    r(
        "get",
        routes::LOGIN,
        "CRM login state",
        None,
        200,
        Some("LoginState"),
    ),
    r(
        "post",
        routes::LOGIN,
        "Log in to the CRM (optionally remembered)",
        Some("LoginRequest"),
        200,
        Some("LoginState"),
    ),
    r(
        "post",
        routes::LOGIN_AUTO,
        "Log in with the remembered credential",
        None,
        200,
        Some("LoginState"),
    ),
    r(
        "post",
        routes::LOGOUT,
        "Log out and forget the remembered credential",
        None,
        200,
        Some("LoginState"),
    ),
    r(
        "get",
        routes::PICKLIST_ACTIVITY_TYPES,
        "Activity types in ?lang=fi|en|sv",
        None,
        200,
        Some("PicklistEntry[]"),
    ),
    r(
        "get",
        routes::PICKLIST_ACTIVITY_STATUSES,
        "Activity statuses in ?lang=fi|en|sv",
        None,
        200,
        Some("PicklistEntry[]"),
    ),
    r(
        "get",
        routes::RELATIONS_SEARCH,
        "Search accounts, contacts, projects, potentials (?kind=&q=&related_to=)",
        None,
        200,
        Some("Relation[]"),
    ),
    r(
        "get",
        routes::ITEM_PATTERN,
        "An appointment's CRM link, type, status, relations and sync state",
        None,
        200,
        Some("ItemInfo"),
    ),
    r(
        "put",
        routes::ITEM_PATTERN,
        "Set an appointment's type, status and relations",
        Some("ItemUpdate"),
        200,
        Some("ItemInfo"),
    ),
    r(
        "get",
        routes::MESSAGE_PATTERN,
        "A message's CRM state and suggested relations",
        None,
        200,
        Some("MessageInfo"),
    ),
    r(
        "post",
        routes::MESSAGE_SAVE_PATTERN,
        "Save a message to the CRM (deduplicated)",
        Some("SaveMessageRequest"),
        200,
        Some("SaveMessageResponse"),
    ),
    r(
        "post",
        routes::SYNC_NOW,
        "Queue a sync run now",
        None,
        202,
        Some("SyncNowResponse"),
    ),
    r(
        "get",
        routes::SYNC_STATUS,
        "Last runs, counts, conflicts, errors and progress",
        None,
        200,
        Some("SyncStatus"),
    ),
    r(
        "post",
        routes::ERROR_REPORTS,
        "Send an error report (only when allowed in the settings)",
        Some("ErrorReport"),
        202,
        None,
    ),
];

fn add<T: ToSchema>(out: &mut Vec<(String, RefOr<Schema>)>) {
    out.push((T::name().into_owned(), T::schema()));
    T::schemas(out);
}

fn schema_ref(name: &str) -> RefOr<Schema> {
    match name.strip_suffix("[]") {
        Some(item) => RefOr::T(Schema::Array(
            utoipa::openapi::schema::ArrayBuilder::new()
                .items(Ref::from_schema_name(item))
                .build(),
        )),
        None => RefOr::Ref(Ref::from_schema_name(name)),
    }
}

/// The document (built once).
pub fn document() -> &'static OpenApi {
    static DOC: OnceLock<OpenApi> = OnceLock::new();
    DOC.get_or_init(build)
}

fn build() -> OpenApi {
    let mut schemas = Vec::new();
    add::<ApiError>(&mut schemas);
    add::<session::CreateSession>(&mut schemas);
    add::<session::Session>(&mut schemas);
    add::<calendars::Calendar>(&mut schemas);
    add::<pairing::PairingRequest>(&mut schemas);
    add::<pairing::PairingSummary>(&mut schemas);
    add::<pairing::ForcedRemoval>(&mut schemas);
    add::<preferences::Preferences>(&mut schemas);
    add::<login::LoginState>(&mut schemas);
    add::<login::LoginRequest>(&mut schemas);
    add::<picklists::PicklistEntry>(&mut schemas);
    add::<relations::Relation>(&mut schemas);
    add::<items::ItemInfo>(&mut schemas);
    add::<items::ItemUpdate>(&mut schemas);
    add::<messages::MessageInfo>(&mut schemas);
    add::<messages::SaveMessageRequest>(&mut schemas);
    add::<messages::SaveMessageResponse>(&mut schemas);
    add::<sync::SyncNowResponse>(&mut schemas);
    add::<sync::SyncStatus>(&mut schemas);
    add::<error_reports::ErrorReport>(&mut schemas);

    let mut paths = PathsBuilder::new();
    let mut by_path: std::collections::BTreeMap<&str, Vec<&Route>> = Default::default();
    for route in ROUTES {
        by_path.entry(route.path).or_default().push(route);
    }
    for (path, list) in by_path {
        let mut item: Option<PathItem> = None;
        for route in list {
            let mut op = OperationBuilder::new()
                .summary(Some(route.summary))
                .tag("pane");
            if let Some(req) = route.request {
                op = op.request_body(Some(
                    RequestBodyBuilder::new()
                        .content(
                            "application/json",
                            ContentBuilder::new().schema(Some(schema_ref(req))).build(),
                        )
                        .required(Some(Required::True))
                        .build(),
                ));
            }
            let ok = match route.response {
                Some(resp) => ResponseBuilder::new().description("Success").content(
                    "application/json",
                    ContentBuilder::new().schema(Some(schema_ref(resp))).build(),
                ),
                None => ResponseBuilder::new().description("Success, no body"),
            };
            let err = || {
                ResponseBuilder::new()
                    .description("Error with a machine code, a localized message and the form field it concerns")
                    .content("application/json", ContentBuilder::new().schema(Some(schema_ref("ApiError"))).build())
                    .build()
            };
            op = op
                .response(route.status.to_string(), ok.build())
                .response("4XX", err())
                .response("5XX", err());
            for segment in path.split('/').filter(|s| s.starts_with('{')) {
                op = op.parameter(
                    ParameterBuilder::new()
                        .name(segment.trim_matches(|c| c == '{' || c == '}'))
                        .parameter_in(ParameterIn::Path)
                        .required(Required::True)
                        .schema(Some(
                            utoipa::openapi::schema::ObjectBuilder::new()
                                .schema_type(utoipa::openapi::schema::Type::String),
                        )),
                );
            }
            if route.authenticated {
                op = op.security(SecurityRequirement::new("bearer", Vec::<String>::new()));
            }
            let method = match route.method {
                "get" => HttpMethod::Get,
                "post" => HttpMethod::Post,
                "put" => HttpMethod::Put,
                _ => HttpMethod::Delete,
            };
            item = Some(match item {
                None => PathItem::new(method, op.build()),
                Some(mut i) => {
                    i.merge_operations(PathItem::new(method, op.build()));
                    i
                }
            });
        }
        paths = paths.path(path, item.expect("at least one route"));
    }
    let components = ComponentsBuilder::new()
        .schemas_from_iter(schemas)
        .security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        )
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("CRM-service for Outlook — task pane API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some("The API the Outlook task pane calls. Errors are `ApiError` bodies with localized messages (Accept-Language fi/en)."))
                .build(),
        )
        .paths(paths.build())
        .components(Some(components))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_referenced_schema_is_defined() {
        let doc = serde_json::to_value(document()).unwrap();
        let defined = doc["components"]["schemas"].as_object().unwrap();
        let text = doc.to_string();
        for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = &part[..part.find('"').unwrap()];
            assert!(
                defined.contains_key(name),
                "{name} is referenced but not defined"
            );
        }
        assert!(defined.contains_key("Preferences") && defined.contains_key("ErrorCode"));
    }
}
