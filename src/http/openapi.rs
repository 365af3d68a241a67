//! The API's description of itself: an OpenAPI 3.1 document made from the
//! route table (paths, methods, who may call them) and the types of what
//! each route takes and answers, served at GET /api/openapi.json.
//!
//! The table lists what a handler itself answers; the errors that come
//! from around the handler (the guard's for the route's `Access`, the
//! body's, the path's) are added here, so every route's list is whole
//! without each entry repeating them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::header::{Header, HeaderBuilder};
use utoipa::openapi::info::{InfoBuilder, LicenseBuilder};
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, Parameter, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ComponentsBuilder, KnownFormat, SchemaFormat, SchemaType};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    Content, ObjectBuilder, OpenApi, OpenApiBuilder, Paths, Ref, RefOr, Required, Schema, Type,
};
use utoipa::{IntoParams, ToSchema};

use super::error::{ErrorBody, CODES};
use super::route_table::{Access, ApiRoute, API_ROUTES};

/// Named schemas collected for the document's components.
pub type Schemas = Vec<(String, RefOr<Schema>)>;

/// A JSON body's schema: puts the type (and the types it names) in
/// `Schemas` and returns a reference to it.
pub type SchemaFn = fn(&mut Schemas) -> RefOr<Schema>;

/// A route's query parameters.
pub type ParamsFn = fn() -> Vec<Parameter>;

/// What a request carries in its body.
#[derive(Clone, Copy)]
pub enum Body {
    Empty,
    /// A JSON object (`application/json`).
    Json(SchemaFn),
    /// An SDP offer (`application/sdp`).
    Sdp,
    /// Trickle ICE candidates (`application/trickle-ice-sdpfrag`).
    Trickle,
}

/// What an answer carries.
#[derive(Clone, Copy)]
pub enum Out {
    Empty,
    Json(SchemaFn),
    /// A spreadsheet (`text/csv`), as an attachment.
    Csv,
    /// An SDP answer, with the new media session's URL in `Location`.
    Sdp,
    /// What the URL accepts, in `Allow` (and `Accept-Post` or
    /// `Accept-Patch` on media URLs).
    Options,
    /// The WebSocket handshake.
    Upgrade,
    /// Created, with the new thing's URL in `Location` and no body.
    Located,
    /// A stream of server-sent events (`text/event-stream`).
    EventStream,
    /// A recording (`video/webm`): whole, or the byte range asked for.
    Media,
    /// The contract's error.
    Error,
}

/// One status a route answers, and what comes with it.
#[derive(Clone, Copy)]
pub struct Answer {
    pub status: u16,
    pub out: Out,
}

/// The JSON schema of `T`.
pub const fn json<T: ToSchema>() -> SchemaFn {
    reference::<T>
}

/// The query parameters of `T`.
pub const fn query<T: IntoParams>() -> ParamsFn {
    params_of::<T>
}

pub const fn ok(status: u16, out: Out) -> Answer {
    Answer { status, out }
}

pub const fn error(status: u16) -> Answer {
    Answer {
        status,
        out: Out::Error,
    }
}

fn reference<T: ToSchema>(all: &mut Schemas) -> RefOr<Schema> {
    all.push((T::name().into_owned(), T::schema()));
    T::schemas(all);
    Ref::from_schema_name(T::name()).into()
}

fn params_of<T: IntoParams>() -> Vec<Parameter> {
    T::into_params(|| Some(ParameterIn::Query))
}

/// The document itself: any JSON object, for the route that serves it.
pub fn any_object(_: &mut Schemas) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::Object))
        .into()
}

/// The errors a route gives around its handler: the guard's (a token
/// missing or wrong, a role too low, a write after the end, the token
/// rate limit, the database), a body's, and those of the ids in its path.
pub fn implied_errors(route: &ApiRoute) -> BTreeSet<u16> {
    let mut errors = BTreeSet::new();
    let guarded = !matches!(route.access, Access::Anyone | Access::Socket);
    if guarded {
        errors.extend([401, 429, 503]);
        if route.path.contains("{slug}") {
            errors.insert(404);
        }
        if !matches!(route.access, Access::Participant | Access::SessionOwner) {
            errors.insert(403);
        }
        if route.writes && route.access != Access::SessionOwner {
            errors.insert(410);
        }
        // An id that is no number, or names nothing of the room's.
        if route.path.contains("{id}") {
            errors.extend([400, 404]);
        }
    }
    match route.body {
        Body::Json(_) | Body::Sdp => errors.extend([400, 413, 415]),
        Body::Trickle => {
            errors.insert(415);
        }
        Body::Empty => {}
    }
    if route.query.is_some() {
        errors.insert(400);
    }
    errors
}

/// Every answer of a route, by status: the table's and the implied ones.
pub fn answers(route: &ApiRoute) -> BTreeMap<u16, Out> {
    let mut all: BTreeMap<u16, Out> = implied_errors(route)
        .into_iter()
        .map(|s| (s, Out::Error))
        .collect();
    for a in route.answers {
        all.insert(a.status, a.out);
    }
    all
}

/// The document, made once.
pub static DOCUMENT: LazyLock<String> =
    LazyLock::new(|| document().to_json().expect("the document serialises"));

/// GET /api/openapi.json
pub async fn serve() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(DOCUMENT.as_str())
}

const ABOUT: &str = "Podium's HTTP API, generated from the server's route table \
(every route with who may call it) and the types of the bodies it reads and writes. \
docs/API.md describes the same routes in prose.\n\n\
Every error is `{\"error\": {\"code\", \"message\"}}`: the code is for programs, the \
message a sentence for people. A method a path does not have gets 405 \
`method_not_allowed`; a path the API does not have gets 404 `not_found`.\n\n\
Tokens and keys travel as `Authorization: Bearer`. A participant's token comes from \
joining; the room's host and moderator keys come from creating it and also open \
some routes themselves. The roles listed with a token are those it must belong to.\n\n\
The WebSocket is described by its handshake only; its frames are in docs/PROTOCOL.md.";

const TOKEN: &str = "token";
const HOST_KEY: &str = "host_key";
const MODERATOR_KEY: &str = "moderator_key";

pub fn document() -> OpenApi {
    let mut schemas = Schemas::new();
    let error = json::<ErrorBody>()(&mut schemas);
    let mut paths = Paths::new();
    for route in API_ROUTES {
        let op = operation(route, &error, &mut schemas);
        let item = PathItem::new(http_method(route), op);
        // One path item per path, with each of its methods.
        match paths.paths.get_mut(route.path) {
            Some(existing) => existing.merge_operations(item),
            None => {
                paths.paths.insert(route.path.to_owned(), item);
            }
        }
    }
    let mut components = ComponentsBuilder::new()
        .security_scheme(
            TOKEN,
            bearer("A participant's token, from POST /api/rooms/{slug}/join."),
        )
        .security_scheme(
            HOST_KEY,
            bearer("The room's host key itself, from POST /api/rooms: for WHIP tools such as OBS, the presenter's media sessions and the report."),
        )
        .security_scheme(
            MODERATOR_KEY,
            bearer("The room's moderator key itself, from POST /api/rooms: for the report."),
        );
    for (name, schema) in schemas {
        components = components.schema(name, schema);
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Podium")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(ABOUT))
                .license(Some(
                    LicenseBuilder::new()
                        .name("AGPL-3.0-or-later")
                        .identifier(Some("AGPL-3.0-or-later"))
                        .build(),
                ))
                .build(),
        )
        .paths(paths)
        .components(Some(components.build()))
        .build()
}

fn bearer(description: &str) -> SecurityScheme {
    SecurityScheme::Http(
        Http::builder()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some(description))
            .build(),
    )
}

fn http_method(route: &ApiRoute) -> HttpMethod {
    match route.method {
        "GET" => HttpMethod::Get,
        "POST" => HttpMethod::Post,
        "PUT" => HttpMethod::Put,
        "PATCH" => HttpMethod::Patch,
        "DELETE" => HttpMethod::Delete,
        "OPTIONS" => HttpMethod::Options,
        other => panic!("{other}: a method the document cannot name"),
    }
}

/// `POST /api/rooms/{slug}/join` -> `post_rooms_slug_join`.
fn operation_id(route: &ApiRoute) -> String {
    let mut id = route.method.to_ascii_lowercase();
    for part in route.path.trim_start_matches("/api/").split('/') {
        id.push('_');
        id.extend(part.chars().filter(|c| !matches!(c, '{' | '}')).map(|c| {
            if c.is_ascii_alphanumeric() {
                c
            } else {
                '_'
            }
        }));
    }
    id
}

fn operation(
    route: &ApiRoute,
    error: &RefOr<Schema>,
    schemas: &mut Schemas,
) -> utoipa::openapi::path::Operation {
    let mut op = OperationBuilder::new()
        .operation_id(Some(operation_id(route)))
        .description(Some(access_text(route)))
        .parameters(Some(path_parameters(route)));
    if let Some(query) = route.query {
        op = op.parameters(Some(query()));
    }
    if route.method == "POST" && route.path.ends_with("/join") {
        op = op.parameter(
            ParameterBuilder::new()
                .name("podium_mark")
                .parameter_in(ParameterIn::Cookie)
                .description(Some(
                    "The browser's mark, set by an earlier join: keeps a removed attendee out.",
                ))
                .schema(Some(string())),
        );
    }
    let body = match route.body {
        Body::Empty => None,
        Body::Json(schema) => Some(("application/json", schema(schemas))),
        Body::Sdp => Some(("application/sdp", string().into())),
        Body::Trickle => Some(("application/trickle-ice-sdpfrag", string().into())),
    };
    if let Some((kind, schema)) = body {
        op = op.request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(Required::True))
                .content(kind, Content::new(Some(schema)))
                .build(),
        ));
    }
    for (status, out) in answers(route) {
        op = op.response(status.to_string(), response(status, out, error, schemas));
    }
    for requirement in security(route.access) {
        op = op.security(requirement);
    }
    op.build()
}

fn access_text(route: &ApiRoute) -> String {
    let who = match route.access {
        Access::Anyone => "Anyone.",
        Access::Participant => "Any participant of the room (a live token of it).",
        Access::Socket => {
            "Anyone may open the socket; its first frame, `hello`, carries a participant's token (docs/PROTOCOL.md)."
        }
        Access::Moderator => "A moderator's or the presenter's token.",
        Access::Report => {
            "A moderator's or the presenter's token, or the room's host or moderator key, also after the room ended."
        }
        Access::Replay => {
            "As the report's reads; and any participant's token once the room ended, when its setting `replay_public` is on."
        }
        Access::Presenter => "The presenter's token.",
        Access::Publisher => "The presenter's token, or the room's host key.",
        Access::SessionOwner => {
            "The participant who opened the media session (the presenter and the host key: any of the room's)."
        }
    };
    if route.writes && !matches!(route.access, Access::Anyone | Access::SessionOwner) {
        format!("{who} A write: 410 once the room ended.")
    } else {
        who.to_owned()
    }
}

fn security(access: Access) -> Vec<SecurityRequirement> {
    let staff = ["moderator", "presenter"];
    let token = |roles: &[&str]| SecurityRequirement::new(TOKEN, roles.to_vec());
    let key = |name: &str| SecurityRequirement::new(name, Vec::<String>::new());
    match access {
        Access::Anyone | Access::Socket => vec![],
        Access::Participant => vec![token(&[])],
        Access::Moderator => vec![token(&staff)],
        Access::Report => vec![token(&staff), key(HOST_KEY), key(MODERATOR_KEY)],
        Access::Replay => vec![token(&[]), key(HOST_KEY), key(MODERATOR_KEY)],
        Access::Presenter => vec![token(&["presenter"])],
        Access::Publisher => vec![token(&["presenter"]), key(HOST_KEY)],
        Access::SessionOwner => vec![token(&[]), key(HOST_KEY)],
    }
}

fn string() -> utoipa::openapi::Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::String))
        .build()
}

fn path_parameters(route: &ApiRoute) -> Vec<Parameter> {
    let mut out = Vec::new();
    if route.path.contains("{slug}") {
        out.push(
            ParameterBuilder::new()
                .name("slug")
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some(
                    "The room's link name (from POST /api/rooms), in any case.",
                ))
                .schema(Some(string()))
                .build(),
        );
    }
    if route.path.contains("{id}") {
        let (what, format) = if route.path.contains("/media/") {
            (
                "The media session, as in the Location of its WHIP or WHEP answer.",
                None,
            )
        } else if route.path.contains("/participants/") {
            ("The participant's id.", Some(KnownFormat::Int64))
        } else if route.path.contains("/messages/") {
            ("The chat message's id.", Some(KnownFormat::Int64))
        } else {
            ("The question's id.", Some(KnownFormat::Int64))
        };
        let mut schema = ObjectBuilder::new().schema_type(SchemaType::Type(Type::Integer));
        schema = match format {
            Some(f) => schema.format(Some(SchemaFormat::KnownFormat(f))),
            // A session id is unsigned.
            None => schema.minimum(Some(0)),
        };
        out.push(
            ParameterBuilder::new()
                .name("id")
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some(what))
                .schema(Some(schema.build()))
                .build(),
        );
    }
    if route.path.contains("{secret}") {
        out.push(
            ParameterBuilder::new()
                .name("secret")
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some(
                    "The event stream's secret, as in the Location of its POST.",
                ))
                .schema(Some(string()))
                .build(),
        );
    }
    out
}

/// A header that is always there. utoipa's header has no `required`, so
/// OpenAPI's own field rides in its extensions, which are flattened.
fn required_header(schema: utoipa::openapi::Object, description: &str) -> Header {
    HeaderBuilder::new()
        .schema(Some(schema))
        .description(Some(description))
        .extensions(Some(Extensions::from_iter([("required", true)])))
        .build()
}

fn response(status: u16, out: Out, error: &RefOr<Schema>, schemas: &mut Schemas) -> Response {
    let reason = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let mut res = ResponseBuilder::new();
    match out {
        Out::Empty => res = res.description(reason),
        Out::Json(schema) => {
            res = res
                .description(reason)
                .content("application/json", Content::new(Some(schema(schemas))));
        }
        Out::Csv => {
            res = res
                .description("A spreadsheet, one header row then one row per record.")
                .content("text/csv", Content::new(Some(string())))
                .header(
                    header::CONTENT_DISPOSITION.as_str(),
                    required_header(string(), "`attachment`, with a file name."),
                );
        }
        Out::Sdp => {
            res = res
                .description("The SDP answer; the media session lives at its Location.")
                .content("application/sdp", Content::new(Some(string())))
                .header(
                    header::LOCATION.as_str(),
                    required_header(
                        string(),
                        "The media session: `/api/rooms/{slug}/media/{id}`, for trickle ICE and its end.",
                    ),
                );
        }
        Out::Options => {
            res = res
                .description("What the URL accepts.")
                .header(
                    header::ALLOW.as_str(),
                    required_header(string(), "The methods of this URL."),
                )
                .header(
                    "Accept-Post",
                    HeaderBuilder::new()
                        .schema(Some(string()))
                        .description(Some("On WHIP and WHEP: `application/sdp`."))
                        .build(),
                )
                .header(
                    "Accept-Patch",
                    HeaderBuilder::new()
                        .schema(Some(string()))
                        .description(Some(
                            "On a media session: `application/trickle-ice-sdpfrag`.",
                        ))
                        .build(),
                );
        }
        Out::Upgrade => {
            res = res.description("The socket opens; its frames are in docs/PROTOCOL.md.");
        }
        Out::Located => {
            res = res.description(reason).header(
                header::LOCATION.as_str(),
                required_header(string(), "The URL of what was made."),
            );
        }
        Out::Media => {
            res = res
                .description("A recording: the whole file (200) or the `Range` asked for (206).")
                .content("video/webm", Content::new(Some(string())));
        }
        Out::EventStream => {
            res = res
                .description(
                    "Server-sent events, `layers` at once and at each change (docs/API.md), \
                     until the media session ends.",
                )
                .content("text/event-stream", Content::new(Some(string())));
        }
        Out::Error => {
            let codes: Vec<String> = CODES
                .iter()
                .filter(|(s, _)| *s == status)
                .map(|(_, code)| format!("`{code}`"))
                .collect();
            res = res
                .description(format!("{reason}: {}.", codes.join(", ")))
                .content("application/json", Content::new(Some(error.clone())));
            if status == 429 {
                let seconds = ObjectBuilder::new()
                    .schema_type(SchemaType::Type(Type::Integer))
                    .minimum(Some(0));
                res = res.header(
                    header::RETRY_AFTER.as_str(),
                    required_header(seconds.build(), "Seconds to wait before trying again."),
                );
            }
        }
    }
    res.build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn doc() -> Value {
        serde_json::from_str(&DOCUMENT).unwrap()
    }

    #[test]
    fn every_route_is_described_with_its_answers() {
        let doc = doc();
        assert_eq!(doc["openapi"], "3.1.0");
        for route in API_ROUTES {
            let op = &doc["paths"][route.path][route.method.to_ascii_lowercase()];
            assert!(op.is_object(), "{} {} is missing", route.method, route.path);
            let responses = op["responses"].as_object().unwrap();
            assert!(
                route.answers.iter().any(|a| (100..300).contains(&a.status)),
                "{} {}: the table gives no success",
                route.method,
                route.path
            );
            for status in implied_errors(route) {
                assert!(
                    responses.contains_key(&status.to_string()),
                    "{} {}: {status} is not described",
                    route.method,
                    route.path
                );
            }
            // Every parameter of the path is described.
            for name in ["slug", "id", "secret"] {
                if route.path.contains(&format!("{{{name}}}")) {
                    let params = op["parameters"].as_array().unwrap();
                    assert!(
                        params
                            .iter()
                            .any(|p| p["name"] == name && p["in"] == "path"),
                        "{} {}: {name} is not described",
                        route.method,
                        route.path
                    );
                }
            }
        }
        let described: usize = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|item| item.as_object().unwrap().len())
            .sum();
        assert_eq!(described, API_ROUTES.len(), "only the table's routes");
    }

    /// Collects every `$ref` in `v`.
    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.push(r);
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(list) => list.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_names_a_schema_of_the_document() {
        let doc = doc();
        let mut all = Vec::new();
        refs(&doc, &mut all);
        assert!(!all.is_empty());
        for r in all {
            let name = r
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("{r}: not a schema reference"));
            assert!(
                doc["components"]["schemas"][name].is_object(),
                "{r} is not in the document"
            );
        }
    }

    #[test]
    fn json_bodies_refuse_unknown_fields_as_the_server_does() {
        let doc = doc();
        for name in [
            "CreateRoom",
            "JoinRequest",
            "Send",
            "Ask",
            "QuestionPatch",
            "Patch",
        ] {
            assert_eq!(
                doc["components"]["schemas"][name]["additionalProperties"], false,
                "{name}"
            );
        }
    }

    #[test]
    fn text_limits_are_the_domains() {
        use crate::domain::{ParticipantName, RoomPassword, RoomTitle};
        let doc = doc();
        let max = |schema: &str, field: &str| {
            doc["components"]["schemas"][schema]["properties"][field]["maxLength"].as_u64()
        };
        let title = RoomTitle::MAX_CHARS as u64;
        let name = ParticipantName::MAX_CHARS as u64;
        let password = RoomPassword::MAX_CHARS as u64;
        assert_eq!(max("CreateRoom", "title"), Some(title));
        assert_eq!(max("CreateRoom", "presenter_name"), Some(name));
        assert_eq!(max("CreateRoom", "password"), Some(password));
        assert_eq!(max("JoinRequest", "name"), Some(name));
        assert_eq!(max("JoinRequest", "password"), Some(password));
    }

    #[test]
    fn guarded_routes_name_their_credentials() {
        let doc = doc();
        for route in API_ROUTES {
            let op = &doc["paths"][route.path][route.method.to_ascii_lowercase()];
            let open = matches!(route.access, Access::Anyone | Access::Socket);
            assert_eq!(
                op["security"].is_null(),
                open,
                "{} {}: {:?}",
                route.method,
                route.path,
                op["security"]
            );
        }
    }
}
