//! The HTTP side of the gateway (axum), from bytes in to bytes out.

use crate::auth::{self, Caller};
use crate::classify::{classify, Target};
use crate::AppState;
use airlock_model::Protocol;
use airlock_protocol::envelope::{self, Response as Wire};
use airlock_protocol::{json, query, sigv4, validate, ApiError};
use airlock_services::{ids, Ctx};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;
use std::borrow::Cow;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;
use time::OffsetDateTime;
use tower::ServiceExt;

/// The API port's service. AWS requests go straight to [`aws`]; paths under `/_airlock/` go
/// through the admin router (whose other paths are AWS requests too, as on AWS's endpoints).
pub fn app(
    state: Arc<AppState>,
) -> impl tower::Service<
    Request,
    Response = Response,
    Error = Infallible,
    Future = impl Future<Output = Result<Response, Infallible>> + Send,
> + Clone
       + Send
       + 'static {
    let admin = admin(state.clone());
    tower::service_fn(move |req: Request| {
        let (state, admin) = (state.clone(), admin.clone());
        async move {
            if req.uri().path().starts_with("/_airlock/") {
                admin.oneshot(req).await
            } else {
                Ok(aws(State(state), req).await)
            }
        }
    })
}

fn admin(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/_airlock/health", get(health))
        .route("/_airlock/reset", post(reset))
        .route("/_airlock/ca", get(ca))
        .fallback(aws)
        .with_state(state)
}

async fn health(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let body = serde_json::json!({
        "status": "running",
        "version": env!("CARGO_PKG_VERSION"),
        "services": airlock_model::all().iter().map(|m| m.name).collect::<Vec<_>>(),
        "persistent": state.config.data_dir.is_some(),
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
}

/// The local CA's certificate (PEM), for clients to trust the emulated webservers.
async fn ca(State(state): State<Arc<AppState>>) -> Response {
    let loaded = tokio::task::spawn_blocking(move || state.ca.cert_pem(&state.store)).await;
    match loaded {
        Ok(Ok(pem)) => ([(header::CONTENT_TYPE, "application/x-pem-file")], pem).into_response(),
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn reset(State(state): State<Arc<AppState>>) -> Response {
    match state
        .store
        .reset()
        .map_err(|e| e.to_string())
        .and_then(|()| state.ca.persist(&state.store).map_err(|e| e.to_string()))
    {
        Ok(()) => {
            tracing::info!(target: "airlock::admin", "state reset");
            (
                [(header::CONTENT_TYPE, "application/json")],
                "{\"reset\":true}",
            )
                .into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// Every AWS request.
async fn aws(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let started = Instant::now();
    let request_id = ids::request_id();
    let (parts, body) = req.into_parts();
    let method = parts.method.as_str();
    let raw_path = parts.uri.path();
    let raw_query = parts.uri.query().unwrap_or("");
    // Header values as text (borrowed unless they are not visible ASCII).
    let values: Vec<Cow<'_, str>> = parts
        .headers
        .values()
        .map(|v| match v.to_str() {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => Cow::Owned(String::from_utf8_lossy(v.as_bytes()).into_owned()),
        })
        .collect();
    let headers: Vec<(&str, &str)> = parts
        .headers
        .keys()
        .map(|k| k.as_str())
        .zip(values.iter().map(|v| v.as_ref()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    };

    // An oversized body is answered in the protocol's envelope once the service is known.
    let (body, too_large) = match axum::body::to_bytes(body, state.config.max_body).await {
        Ok(b) => (b, false),
        Err(_) => (Bytes::new(), true),
    };

    let body_sha256 = sigv4::payload_sha256(&body);
    let sreq = sigv4::Request {
        method,
        path: raw_path,
        query: raw_query,
        headers: &headers,
        body_sha256: &body_sha256,
    };
    let claim = sigv4::parse(&sreq);
    let scope_service = claim
        .as_ref()
        .ok()
        .and_then(|c| c.as_ref())
        .map(|c| &*c.service);

    // Form parameters: the body of a form POST, else the query string.
    let is_form = header("content-type")
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    let form = if is_form && method == "POST" {
        query::parse_form(&body)
    } else {
        query::parse_form(raw_query.as_bytes())
    };
    let form_ok = form.as_ref().map(Vec::as_slice).unwrap_or(&[]);

    let Some(target) = classify(
        method,
        raw_path,
        header("x-amz-target"),
        form_ok,
        scope_service,
    ) else {
        let wire = unknown_request(
            method,
            raw_path,
            header("x-amz-target"),
            query::param(form_ok, "Action"),
            scope_service,
            &request_id,
        );
        log("-", "-", wire.status, started, &request_id);
        return into_response(wire);
    };
    let protocol = target.model.protocol;

    let result = (|| {
        if too_large {
            return Err(ApiError::new(
                "RequestEntityTooLarge",
                format!(
                    "Request body exceeds the maximum of {} bytes.",
                    state.config.max_body
                ),
            ));
        }
        let caller = auth::authenticate(&state, protocol, &sreq, claim, OffsetDateTime::now_utc())?;
        let form = form.as_ref().map_err(Clone::clone)?;
        run(&state, &target, caller, form, &body, raw_query, &request_id)
    })();

    let op_name = target
        .op
        .map(|o| &*o.name)
        .unwrap_or(target.requested.as_str());
    let wire = match result {
        Ok(wire) => wire,
        Err(e) => envelope::error(protocol, Some(target.model), &e, &request_id),
    };
    log(
        target.model.name,
        op_name,
        wire.status,
        started,
        &request_id,
    );
    into_response(wire)
}

fn run(
    state: &AppState,
    target: &Target,
    caller: Caller,
    form: &[(String, String)],
    body: &[u8],
    raw_query: &str,
    request_id: &str,
) -> Result<Wire, ApiError> {
    let model = target.model;
    let Some(op) = target.op else {
        return Err(unknown_operation(model.protocol, &target.requested));
    };
    let input = match model.protocol {
        Protocol::Ec2 => query::decode(model, query::Dialect::Ec2, op, form)?,
        Protocol::Query => query::decode(model, query::Dialect::Query, op, form)?,
        Protocol::Json => json::decode(model, op.input.as_deref(), body)?,
        Protocol::RestJson => rest_input(model, target, body, raw_query)?,
    };
    let ctx = Ctx {
        store: &state.store,
        config: &state.config.services,
        principal: caller.principal,
        region: caller.region,
        request_id: request_id.to_owned(),
        now: OffsetDateTime::now_utc(),
    };
    match airlock_services::call(&ctx, model.name, &op.name, &input) {
        Some(Ok(output)) => Ok(envelope::success(model, op, request_id, &output)),
        Some(Err(e)) => Err(e),
        None => Err(unknown_operation(model.protocol, &op.name)),
    }
}

/// rest-json input: the JSON body plus members bound to the URI path and query string.
fn rest_input(
    model: &airlock_model::ServiceModel,
    target: &Target,
    body: &[u8],
    raw_query: &str,
) -> Result<Value, ApiError> {
    let op = target.op.expect("rest targets carry their operation");
    let mut input = json::decode(model, op.input.as_deref(), body)?;
    let Some(shape) = op.input.as_deref().map(|s| model.shape(s)) else {
        return Ok(input);
    };
    let airlock_model::ShapeKind::Structure(st) = &shape.kind else {
        return Ok(input);
    };
    let query: Vec<(String, String)> = form_urlencoded::parse(raw_query.as_bytes())
        .into_owned()
        .collect();
    let obj = input.as_object_mut().expect("structures decode to objects");
    let mut violations = Vec::new();
    for m in &st.members {
        let wire = m.wire_name();
        match m.location.as_deref() {
            Some("uri") => {
                if let Some((_, v)) = target.path_params.iter().find(|(k, _)| k == wire) {
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
                    airlock_model::ShapeKind::List { .. } => Value::Array(
                        values
                            .into_iter()
                            .map(|v| Value::String(v.clone()))
                            .collect(),
                    ),
                    airlock_model::ShapeKind::Integer | airlock_model::ShapeKind::Long => {
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

fn unknown_operation(protocol: Protocol, name: &str) -> ApiError {
    match protocol {
        Protocol::Ec2 => ApiError::new(
            "InvalidAction",
            format!("The action {name} is not valid for this web service."),
        ),
        Protocol::Query => ApiError::new(
            "InvalidAction",
            format!("Could not find operation {name} for version of this service"),
        ),
        Protocol::Json | Protocol::RestJson => ApiError::new(
            "UnknownOperationException",
            format!("Unknown operation {name}"),
        ),
    }
}

/// A request for a service Airlock does not emulate (yet), or for nothing recognisable: answered in
/// the envelope its shape asks for, so clients report an error code rather than a parse failure.
fn unknown_request(
    method: &str,
    path: &str,
    target: Option<&str>,
    action: Option<&str>,
    scope: Option<&str>,
    request_id: &str,
) -> Wire {
    let service = scope.map(|s| format!(" (service {s})")).unwrap_or_default();
    if let Some(t) = target {
        let e = ApiError::new(
            "UnknownOperationException",
            format!("Airlock does not implement {t}{service}."),
        );
        return envelope::error(Protocol::Json, None, &e, request_id);
    }
    if let Some(a) = action {
        let e = ApiError::new(
            "InvalidAction",
            format!("The action {a} is not valid for this web service{service}."),
        );
        return envelope::error(Protocol::Query, None, &e, request_id);
    }
    let e = ApiError::new(
        "UnknownOperationException",
        format!("Airlock cannot tell which AWS operation {method} {path} is{service}: no X-Amz-Target, Action or known REST path."),
    );
    envelope::error(Protocol::RestJson, None, &e, request_id)
}

fn into_response(wire: Wire) -> Response {
    let mut resp = Response::new(Body::from(wire.body));
    *resp.status_mut() =
        StatusCode::from_u16(wire.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(wire.content_type),
    );
    for (k, v) in wire.headers {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    }
    resp
}

fn log(service: &str, op: &str, status: u16, started: Instant, request_id: &str) {
    tracing::info!(
        target: "airlock::request",
        service,
        operation = op,
        status,
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        request_id,
    );
}
