//! The HTTP side of the gateway (axum), from bytes in to bytes out.

use crate::auth::{self, Caller};
use crate::spool::{self, SpoolError, Spooled};
use crate::AppState;
use airlock_model::Protocol;
use airlock_protocol::classify::{classify_request, unknown_operation, unknown_request, Target};
use airlock_protocol::envelope::{self, Response as Wire};
use airlock_protocol::{query, sigv4, ApiError, HttpRequest};
use airlock_services::{ids, Body, Ctx};
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
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
    // `iter` yields every value with its name (a repeated header once per value); `keys` and
    // `values` would not line up when a header repeats.
    let values: Vec<Cow<'_, str>> = parts
        .headers
        .iter()
        .map(|(_, v)| match v.to_str() {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => Cow::Owned(String::from_utf8_lossy(v.as_bytes()).into_owned()),
        })
        .collect();
    let headers: Vec<(&str, &str)> = parts
        .headers
        .iter()
        .map(|(k, _)| k.as_str())
        .zip(values.iter().map(|v| v.as_ref()))
        .collect();

    // An oversized body is answered in the protocol's envelope once the service is known.
    // Object uploads (S3) may be larger.
    let head = HttpRequest {
        method,
        path: raw_path,
        query: raw_query,
        headers: &headers,
        body: &[],
    };
    let blob_payload = airlock_protocol::classify::takes_blob_payload(&head);
    let max_body = if blob_payload {
        state.config.max_object_body
    } else {
        state.config.max_body
    };
    // A blob payload for a persistent store is spooled to a file as it arrives.
    let mut spooled = None;
    let mut body_error = None;
    let body = match state.store.dir().filter(|_| blob_payload) {
        Some(dir) => {
            // The SHA-256 is needed only to check a hex `x-amz-content-sha256` (or none).
            let hashed = head
                .header("x-amz-content-sha256")
                .is_none_or(|h| h.trim().len() == 64);
            let dir = spool::dir_of(dir);
            match spool::spool(body, &dir, max_body as u64, hashed).await {
                Ok(s) => spooled = Some(s),
                Err(e) => body_error = Some(e),
            }
            Bytes::new()
        }
        None => match axum::body::to_bytes(body, max_body).await {
            Ok(b) => b,
            Err(_) => {
                body_error = Some(SpoolError::TooLarge);
                Bytes::new()
            }
        },
    };
    let http = HttpRequest {
        method,
        path: raw_path,
        query: raw_query,
        headers: &headers,
        body: &body,
    };
    let header = |name: &str| http.header(name);

    let body_sha256 = match spooled.as_ref().and_then(|s| s.sha256.clone()) {
        Some(h) => h,
        None => sigv4::payload_sha256(&body),
    };
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
    let form = airlock_protocol::form(&http);
    let form_ok = form.as_ref().map(Vec::as_slice).unwrap_or(&[]);

    let Some(target) = classify_request(&http, form_ok, scope_service) else {
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
        match body_error {
            Some(SpoolError::TooLarge) if protocol == Protocol::RestXml => {
                return Err(ApiError::new(
                    "EntityTooLarge",
                    "Your proposed upload exceeds the maximum allowed object size.",
                ))
            }
            Some(SpoolError::TooLarge) => {
                return Err(ApiError::new(
                    "RequestEntityTooLarge",
                    format!("Request body exceeds the maximum of {max_body} bytes."),
                ))
            }
            Some(SpoolError::Incomplete) => {
                return Err(ApiError::new(
                    "IncompleteBody",
                    "The request body terminated unexpectedly",
                ))
            }
            Some(SpoolError::Io(e)) => {
                return Err(ApiError::internal(format!(
                    "We encountered an internal error. Please try again. ({e})"
                )))
            }
            None => {}
        }
        let caller = auth::authenticate(&state, protocol, &sreq, claim, OffsetDateTime::now_utc())?;
        let form = form.as_ref().map_err(Clone::clone)?;
        run(
            &state,
            &target,
            caller,
            &http,
            spooled.as_ref(),
            form,
            &request_id,
        )
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
    http: &HttpRequest<'_>,
    spooled: Option<&Spooled>,
    form: &[(String, String)],
    request_id: &str,
) -> Result<Wire, ApiError> {
    let model = target.model;
    // aws-chunked bodies (S3 uploads): their data, each chunk's signature verified.
    let decoded;
    let decoded_request;
    let decoded_file;
    let (http, spooled) = match (caller.chunks, spooled) {
        (Some(mut chunks), Some(raw)) => {
            decoded_file = spool::decode_chunks(raw, &mut chunks)?;
            (http, Some(&decoded_file))
        }
        (Some(mut chunks), None) => {
            let mut data = Vec::with_capacity(http.body.len());
            chunks
                .push(http.body, &mut data)
                .and_then(|()| chunks.finish())
                .map_err(|e| e.to_api_error())?;
            decoded = data;
            decoded_request = HttpRequest {
                body: &decoded,
                ..*http
            };
            (&decoded_request, None)
        }
        (None, spooled) => (http, spooled),
    };
    let input = airlock_protocol::decode(target, http, form)?;
    let Some(op) = target.op else {
        return Err(unknown_operation(model.protocol, &target.requested));
    };
    let ctx = Ctx {
        store: &state.store,
        config: &state.config.services,
        principal: caller.principal,
        region: caller.region,
        request_id: request_id.to_owned(),
        clock: state.clock(),
        body: match spooled {
            Some(f) => Body::File {
                path: &f.path,
                len: f.len,
                md5: f.md5,
            },
            None => Body::Bytes(http.body),
        },
    };
    match airlock_services::call(&ctx, model.name, &op.name, &input) {
        Some(Ok(output)) => Ok(envelope::success(model, op, request_id, output)),
        Some(Err(e)) => Err(e),
        None => Err(unknown_operation(model.protocol, &op.name)),
    }
}

fn into_response(wire: Wire) -> Response {
    let body = match wire.file.map(spool::FileStream::open) {
        Some(Ok(stream)) => axum::body::Body::new(stream),
        Some(Err(e)) => {
            tracing::warn!(target: "airlock::request", error = %e, "cannot read a payload file");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        None => axum::body::Body::from(wire.body),
    };
    let mut resp = Response::new(body);
    *resp.status_mut() =
        StatusCode::from_u16(wire.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(wire.content_type),
    );
    for (k, v) in wire.headers {
        if let (Ok(k), Ok(v)) = (
            header::HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(&v),
        ) {
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
