//! The JSON API under `/api/v1`. Routes and their OpenAPI description are registered together
//! (utoipa-axum), so the document at `/api/openapi.json` cannot drift from the code.

use crate::AppState;
use crate::error::ErrorBody;
use crate::{actions, audit, issues, measures, notifications, oversight, people, records, relationships, reviews};
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required, ResponseBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

#[derive(OpenApi)]
#[openapi(
    info(title = "Accord API", description = "The joint record of a collaborative business relationship (ISO 44001). Authenticate with `Authorization: Bearer <personal API token>`; create one with `accord token create --email ...`."),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    components(schemas(ErrorBody)),
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// The answers every operation may give besides its own, added to the finished document so that
/// no handler has to repeat them (and none can forget one): what the extractors answer before a
/// handler runs (401 without a token, 400/413/415/422 for a body or query that cannot be read,
/// 404 for an id that is unknown or not shared with the caller) and 403 on every write.
pub struct SharedResponses;

impl Modify for SharedResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        // Inputs read a missing field as empty (`serde(default)`); that empty value is no default
        // to document (it would call `""` the default of a boolean).
        for schema in openapi.components.iter_mut().flat_map(|c| c.schemas.values_mut()) {
            if let RefOr::T(Schema::Object(object)) = schema {
                for property in object.properties.values_mut() {
                    match property {
                        RefOr::T(Schema::Object(p)) => p.default = None,
                        RefOr::T(Schema::Array(p)) => p.default = None,
                        _ => {}
                    }
                }
            }
        }
        for item in openapi.paths.paths.values_mut() {
            if let Some(post) = item.post.as_mut() {
                idempotent(post);
            }
            let ops = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for (op, write) in ops.into_iter().zip([false, true, true, true, true]).filter_map(|(op, w)| op.as_mut().map(|o| (o, w))) {
                shared_responses(op, write);
            }
        }
    }
}

fn shared_responses(op: &mut Operation, write: bool) {
    let params = op.parameters.as_deref().unwrap_or_default();
    let has = |place: ParameterIn| params.iter().any(|p| p.parameter_in == place);
    let (path, query, body) = (has(ParameterIn::Path), has(ParameterIn::Query), op.request_body.is_some());
    let json_body = op.request_body.as_ref().is_some_and(|b| b.content.contains_key("application/json"));
    let statuses = [
        (json_body, "400", "The body is not valid JSON."),
        (true, "401", "No token, or one that is unknown, revoked or expired."),
        (write, "403", "Not allowed to do this (the body names why)."),
        (path, "404", "Unknown, malformed, or not shared with you: the same answer on purpose."),
        (body, "413", "The body is too large."),
        (body, "415", "The body's content type is not one this operation reads."),
        (body || query, "422", "A field or parameter was refused; `fields` names each one and why."),
    ];
    for (status, description) in statuses.into_iter().filter(|(applies, ..)| *applies).map(|(_, s, d)| (s, d)) {
        op.responses.responses.entry(status.to_owned()).or_insert_with(|| {
            let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
            ResponseBuilder::new().description(description).content("application/json", content).build().into()
        });
    }
}

/// Every POST takes an `Idempotency-Key` (`crate::idempotency`): documented once, here.
fn idempotent(op: &mut Operation) {
    let schema = ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(255))
        .pattern(Some("^[!-~]+$"))
        .examples(["0190f3a2-6b1c-7d2e-8f30-4a5b6c7d8e9f"]);
    let header = ParameterBuilder::new()
        .name(crate::idempotency::HEADER)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "Makes the request once: a repeat with the same key (1 to 255 visible ASCII characters, per account, kept 24 hours) \
             writes nothing and is answered as the first was (its status and body, with `Idempotent-Replayed: true`); the same \
             key with another body or address answers 422 naming this header; while the first is still under way a repeat \
             waits for its answer, up to 5 seconds, then answers 409. A refused request (4xx, 5xx) frees its key.",
        ))
        .schema(Some(schema))
        .build();
    op.parameters.get_or_insert_with(Vec::new).push(header);
    op.responses.responses.entry("409".to_owned()).or_insert_with(|| {
        let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
        ResponseBuilder::new()
            .description("A request with the same Idempotency-Key is still under way; send it again in a moment for its answer.")
            .content("application/json", content)
            .build()
            .into()
    });
}

/// Every module's operations, one line a module (in the order the document lists them).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(measures::api::uploads())
        .merge(people::api::routes())
        .merge(relationships::api::routes())
        .merge(audit::api::routes())
        .merge(measures::api::routes())
        .merge(actions::api::routes())
        .merge(issues::api::routes())
        .merge(reviews::api::routes())
        .merge(notifications::api::routes())
        .merge(oversight::api::routes())
        .merge(records::api::routes())
}
