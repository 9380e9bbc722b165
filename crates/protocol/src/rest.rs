//! REST protocols (rest-json): operations found by method and URI template, and input members
//! bound to the URI path and the query string.

use crate::{json, validate, ApiError};
use airlock_model::{Operation, Protocol, ServiceModel, ShapeKind};
use serde_json::Value;
use std::sync::OnceLock;

/// One segment of a REST operation's URI template.
enum Segment {
    Literal(String),
    /// `{Name}` or `{Name+}`.
    Param(String),
}

/// A REST operation with its URI template split into segments.
struct Route {
    model: &'static ServiceModel,
    op: &'static Operation,
    segments: Vec<Segment>,
}

/// Every REST operation's route, built once from the models.
fn routes() -> &'static [Route] {
    static ROUTES: OnceLock<Vec<Route>> = OnceLock::new();
    ROUTES.get_or_init(|| {
        let mut routes = Vec::new();
        for &model in airlock_model::all() {
            if model.protocol != Protocol::RestJson {
                continue;
            }
            for op in model.operations() {
                let path = op.request_uri.split('?').next().unwrap_or(&op.request_uri);
                let segments = path
                    .trim_start_matches('/')
                    .split('/')
                    .map(
                        |t| match t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                            Some(name) => Segment::Param(name.trim_end_matches('+').to_owned()),
                            None => Segment::Literal(t.to_owned()),
                        },
                    )
                    .collect();
                routes.push(Route {
                    model,
                    op,
                    segments,
                });
            }
        }
        routes
    })
}

/// The REST operation `method path` addresses, with its URI path parameters (decoded).
#[allow(clippy::type_complexity)]
pub fn route(
    method: &str,
    path: &str,
) -> Option<(
    &'static ServiceModel,
    &'static Operation,
    Vec<(String, String)>,
)> {
    let path = path.split('?').next().unwrap_or(path);
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    routes()
        .iter()
        .filter(|r| r.op.method == method)
        .find_map(|r| match_template(&r.segments, &segs).map(|p| (r.model, r.op, p)))
}

fn match_template(template: &[Segment], segs: &[&str]) -> Option<Vec<(String, String)>> {
    if template.len() != segs.len() {
        return None;
    }
    let mut params = Vec::new();
    for (t, s) in template.iter().zip(segs) {
        match t {
            Segment::Param(name) => {
                if s.is_empty() {
                    return None;
                }
                let value = percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned();
                params.push((name.clone(), value));
            }
            Segment::Literal(l) if l != s => return None,
            Segment::Literal(_) => {}
        }
    }
    Some(params)
}

/// rest-json input: the JSON body plus members bound to the URI path and query string.
pub fn decode_json(
    model: &ServiceModel,
    op: &Operation,
    path_params: &[(String, String)],
    body: &[u8],
    raw_query: &str,
) -> Result<Value, ApiError> {
    let mut input = json::decode(model, op.input.as_deref(), body)?;
    let Some(shape) = op.input.as_deref().map(|s| model.shape(s)) else {
        return Ok(input);
    };
    let ShapeKind::Structure(st) = &shape.kind else {
        return Ok(input);
    };
    let query: Vec<(String, String)> = form_urlencoded::parse(raw_query.as_bytes())
        .into_owned()
        .collect();
    let Some(obj) = input.as_object_mut() else {
        return Ok(input);
    };
    let mut violations = Vec::new();
    for m in &st.members {
        let wire = m.wire_name();
        match m.location.as_deref() {
            Some("uri") => {
                if let Some((_, v)) = path_params.iter().find(|(k, _)| k == wire) {
                    let shape = model.target(m);
                    validate::check_string(
                        shape,
                        &validate::camel(&m.name),
                        v,
                        false,
                        &mut violations,
                    );
                    obj.insert(m.name.to_string(), Value::String(v.clone()));
                }
            }
            Some("querystring") => {
                let values: Vec<&String> = query
                    .iter()
                    .filter(|(k, _)| k == wire)
                    .map(|(_, v)| v)
                    .collect();
                if values.is_empty() {
                    continue;
                }
                let v = match &model.target(m).kind {
                    ShapeKind::List { .. } => Value::Array(
                        values
                            .into_iter()
                            .map(|v| Value::String(v.clone()))
                            .collect(),
                    ),
                    ShapeKind::Integer | ShapeKind::Long => {
                        let raw = values[values.len() - 1];
                        match raw.parse::<i64>() {
                            Ok(n) => {
                                let shape = model.target(m);
                                validate::check_number(
                                    shape,
                                    &validate::camel(&m.name),
                                    n,
                                    &mut violations,
                                );
                                Value::from(n)
                            }
                            Err(_) => {
                                return Err(ApiError::new(
                                    "SerializationException",
                                    format!(
                                        "Value '{raw}' for query parameter {wire} is not a number"
                                    ),
                                ))
                            }
                        }
                    }
                    _ => Value::String(values[values.len() - 1].clone()),
                };
                obj.insert(m.name.to_string(), v);
            }
            _ => {}
        }
    }
    if !violations.is_empty() {
        return Err(ApiError::new(
            "ValidationException",
            validate::message(&violations),
        ));
    }
    Ok(input)
}
