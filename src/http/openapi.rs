//! The OpenAPI 3.1 document: every route of the public router but the dashboard's HTML pages,
//! generated from the routers themselves (`utoipa_axum::routes!` registers a handler and its
//! documentation in one call) and from the request and response types the handlers use.
//! Served at `/api/v2/openapi.json`; `signet openapi` prints it, and `docs/openapi.json` holds
//! a copy so a change of contract shows in review.

use std::sync::OnceLock;

use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::openapi::security::{
    ClientCredentials, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Scopes, SecurityScheme,
};
use utoipa::openapi::{ContactBuilder, InfoBuilder, LicenseBuilder, OpenApi, RefOr};
use utoipa::{Modify, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use crate::domain::scope::MANAGEMENT_SCOPES;

/// The security scheme of the Management API: an access token for its audience, from this
/// server's token endpoint with the client credentials grant.
pub const MANAGEMENT_TOKEN: &str = "management_token";
/// HTTP Basic client authentication at the token endpoint (`client_secret_basic`).
pub const CLIENT_SECRET_BASIC: &str = "client_secret_basic";

/// Every documented route, as the public router serves them. `http::build_router` takes the
/// routers apart for their layers; this puts the same routers together for their documents.
pub fn document() -> &'static serde_json::Value {
    static DOCUMENT: OnceLock<serde_json::Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let doc = assemble();
        serde_json::to_value(&doc).expect("an OpenAPI document always serialises")
    })
}

/// The document as `signet openapi` prints it and `docs/openapi.json` holds it.
pub fn pretty() -> String {
    let mut text =
        serde_json::to_string_pretty(document()).expect("an OpenAPI document always serialises");
    text.push('\n');
    text
}

fn assemble() -> OpenApi {
    let router: OpenApiRouter<AppState> = OpenApiRouter::with_openapi(base())
        .merge(super::discovery::router())
        .merge(super::health::router())
        .merge(super::token::router())
        .nest("/api/v2", super::management::router().merge(route()));
    let mut doc = router.into_openapi();
    // `/metrics` has a state of its own, so its document joins after.
    doc.merge(super::metrics::documented_route().into_openapi());
    SecuritySchemes.modify(&mut doc);
    finish_operations(&mut doc);
    doc
}

/// Operation ids from the method and path, as Auth0 names its own (`get_clients`,
/// `patch_clients_by_id`): unique, and stable while the route is. A response described
/// nowhere else gets its status's reason phrase, which OpenAPI requires.
fn finish_operations(doc: &mut OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        let name = path
            .trim_start_matches("/api/v2")
            .split('/')
            .filter(|s| !s.is_empty())
            .map(
                |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(param) => format!("by_{param}"),
                    None => s
                        .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
                        .trim_matches('_')
                        .to_owned(),
                },
            )
            .collect::<Vec<_>>()
            .join("_");
        for (method, op) in [
            ("get", &mut item.get),
            ("post", &mut item.post),
            ("put", &mut item.put),
            ("patch", &mut item.patch),
            ("delete", &mut item.delete),
        ] {
            let Some(op) = op else { continue };
            op.operation_id = Some(format!("{method}_{name}"));
            for (status, response) in op.responses.responses.iter_mut() {
                if let RefOr::T(response) = response
                    && response.description.is_empty()
                {
                    response.description = status
                        .parse::<u16>()
                        .ok()
                        .and_then(|code| StatusCode::from_u16(code).ok())
                        .and_then(|code| code.canonical_reason())
                        .unwrap_or("Answer")
                        .to_owned();
                }
            }
        }
    }
}

fn base() -> OpenApi {
    let mut doc = OpenApi::default();
    doc.info = InfoBuilder::new()
        .title("signet")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Auth0-compatible OAuth 2.0 authorization server for machine-to-machine \
             applications: Auth0's Management API v2 (the parts signet implements), the token \
             endpoint with Private Key JWT, discovery, keys, health and metrics. Properties and \
             parameters that Auth0 does not have carry `x-signet-extension: true`.",
        ))
        .license(Some(LicenseBuilder::new().name("Apache-2.0").build()))
        .contact(Some(ContactBuilder::new().name(Some("signet")).build()))
        .build();
    doc
}

/// `/api/v2/openapi.json`: this document. Public, like Auth0's own.
pub fn route() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(openapi_json))
}

#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "openapi",
    description = "This OpenAPI 3.1 document.",
    responses((status = 200, description = "The document", content_type = "application/json",
               body = Object)),
    extensions(("x-signet-extension" = json!(true))),
)]
async fn openapi_json() -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        axum::Json(document()),
    )
}

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        let scopes = Scopes::from_iter(
            MANAGEMENT_SCOPES
                .iter()
                .map(|s| ((*s).to_owned(), (*s).to_owned())),
        );
        components.add_security_scheme(
            MANAGEMENT_TOKEN,
            SecurityScheme::OAuth2(OAuth2::with_description(
                [Flow::ClientCredentials(ClientCredentials::new(
                    "/oauth/token",
                    scopes,
                ))],
                "An access token for the Management API's audience (`<issuer>api/v2/`). Where \
                 an operation lists several requirements, any one of them suffices, as with Auth0.",
            )),
        );
        components.add_security_scheme(
            CLIENT_SECRET_BASIC,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "`client_secret_basic`: the client id and secret, form-encoded, as the \
                         user name and password. Other methods put their credentials in the body.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The Management API's error body (Auth0's shape).
#[derive(Debug, Serialize, ToSchema)]
#[allow(non_snake_case)]
pub struct ManagementErrorBody {
    /// The HTTP status code, repeated.
    pub statusCode: u16,
    /// The status's reason phrase (`Bad Request`).
    pub error: String,
    pub message: String,
    /// A stable code (`invalid_body`, `invalid_query_string`, `inexistent_client`, …).
    pub errorCode: String,
}

/// The token endpoint's error body (RFC 6749 §5.2).
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthErrorBody {
    /// `invalid_request`, `invalid_client`, `unauthorized_client`, `access_denied`,
    /// `unsupported_grant_type`, `too_many_requests`, …
    pub error: String,
    pub error_description: String,
}

/// What any Management API operation may answer besides its success. 404 covers both an
/// unknown object and an unknown route; 409 a name or identifier already taken.
#[derive(utoipa::IntoResponses)]
#[allow(
    dead_code,
    reason = "documentation only: `ApiError` writes these answers"
)]
pub enum ManagementErrors {
    /// The body or query string is malformed or breaks a rule; `message` names the field.
    #[response(status = 400)]
    BadRequest(ManagementErrorBody),
    /// No token, or a token that is invalid, expired, or for another audience.
    #[response(status = 401)]
    Unauthorized(ManagementErrorBody),
    /// The token lacks the scope the operation needs (`insufficient_scope`).
    #[response(status = 403)]
    Forbidden(ManagementErrorBody),
    #[response(status = 404)]
    NotFound(ManagementErrorBody),
    #[response(status = 409)]
    Conflict(ManagementErrorBody),
    /// The body is over 1 MiB.
    #[response(status = 413)]
    PayloadTooLarge(ManagementErrorBody),
    /// Over the Management API's rate limit: `Retry-After` says when to try again.
    #[response(status = 429)]
    TooManyRequests(ManagementErrorBody),
}

/// Where `value` holds an array in a place the schema named `schema` wants an object, as a
/// property path (`default_token_quota`, `scopes[0]`), `""` for the whole document.
///
/// serde's derived structs also read a JSON array, as the fields in order: without this,
/// `{"jwt_configuration": ["RS256", 60]}` would be taken for an object the document forbids.
pub fn misplaced_array(schema: &str, value: &serde_json::Value) -> Option<String> {
    let components = &document()["components"]["schemas"];
    let root = components.get(schema)?;
    let mut path = String::new();
    find_misplaced_array(root, value, components, &mut path).then_some(path)
}

fn find_misplaced_array(
    schema: &serde_json::Value,
    value: &serde_json::Value,
    components: &serde_json::Value,
    path: &mut String,
) -> bool {
    use serde_json::Value;
    if let Some(target) = schema["$ref"].as_str() {
        let name = target.trim_start_matches("#/components/schemas/");
        return components
            .get(name)
            .is_some_and(|s| find_misplaced_array(s, value, components, path));
    }
    if let Some(choices) = schema["oneOf"].as_array().or(schema["anyOf"].as_array()) {
        // Misplaced only if no choice takes the value.
        let len = path.len();
        let misplaced = choices.iter().all(|choice| {
            path.truncate(len);
            find_misplaced_array(choice, value, components, path)
        });
        if !misplaced {
            path.truncate(len);
        }
        return misplaced;
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    match value {
        // serde reads arrays into structs only (no type here has tuples): a type that is known
        // and not "array" means a struct, or a choice (`null`) that does not take one.
        Value::Array(_) if !types.is_empty() && !types.contains(&"array") => true,
        Value::Array(items) => items.iter().enumerate().any(|(i, item)| {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            let found = find_misplaced_array(&schema["items"], item, components, path);
            if !found {
                path.truncate(len);
            }
            found
        }),
        Value::Object(map) => map.iter().any(|(key, item)| {
            let property = match schema["properties"].get(key) {
                Some(p) => p,
                None => &schema["additionalProperties"],
            };
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(key);
            let found = find_misplaced_array(property, item, components, path);
            if !found {
                path.truncate(len);
            }
            found
        }),
        _ => false,
    }
}
