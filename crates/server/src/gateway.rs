//! The HTTP side of the gateway (axum), from bytes in to bytes out.

use crate::auth::{self, Caller};
use crate::spool::{self, SpoolError, Spooled};
use crate::AppState;
use airlock_model::Protocol;
use airlock_protocol::classify::{
    classify_at, classify_request, unknown_operation, unknown_request, Target,
};
use airlock_protocol::envelope::{self, Response as Wire};
use airlock_protocol::{query, sigv4, ApiError, HttpRequest};
use airlock_services::authz::{Arrival, Mode, Origin};
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
            // Airlock's own endpoints are the API port's: AWS's endpoints inside a VPC have none.
            let path = req.uri().path();
            let own = path.starts_with("/_airlock/") && req.extensions().get::<Arrival>().is_none();
            if own && is_console(path) {
                Ok(if state.config.console {
                    crate::console::serve(state, req).await
                } else {
                    (
                        StatusCode::NOT_FOUND,
                        "The console is off (airlock serve --console off).",
                    )
                        .into_response()
                })
            } else if own {
                admin.oneshot(req).await
            } else {
                Ok(aws(State(state), req).await)
            }
        }
    })
}

/// A path of the web console (`/_airlock/console` and below).
fn is_console(path: &str) -> bool {
    path.strip_prefix("/_airlock/console")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
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

/// The gate of every `/_airlock/*` write, against requests a web page makes the user's browser
/// send (a cross-site form post needs no preflight): a write must come from no origin or the
/// server's own (`Origin`), carry no body type other than JSON, and carry a header no page can
/// send without the browser asking the server first (CORS preflight, which Airlock never
/// grants): `Content-Type: application/json` or `X-Airlock-Admin: 1`.
#[allow(clippy::result_large_err)]
fn admin_write_allowed(headers: &header::HeaderMap) -> Result<(), Response> {
    let refuse = |status: StatusCode, code: &str, message: &str| {
        let body = serde_json::json!({ "error": code, "message": message });
        Err((
            status,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response())
    };
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(origin) = headers.get(header::ORIGIN) {
        let own = text("host").map(|host| format!("http://{host}"));
        if own.as_deref().map(str::as_bytes) != Some(origin.as_bytes()) {
            return refuse(
                StatusCode::FORBIDDEN,
                "CrossOriginRefused",
                "Admin writes are refused from another origin.",
            );
        }
    }
    let json = match text("content-type") {
        None => false,
        Some(t) => {
            let essence = t.split(';').next().unwrap_or("").trim();
            if !essence.eq_ignore_ascii_case("application/json") {
                return refuse(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "UnsupportedMediaType",
                    "Admin writes take no body, or a JSON one (Content-Type: application/json).",
                );
            }
            true
        }
    };
    if !json && text("x-airlock-admin").map(str::trim) != Some("1") {
        return refuse(
            StatusCode::FORBIDDEN,
            "AdminHeaderRequired",
            "Admin writes need the header X-Airlock-Admin: 1 (or Content-Type: application/json).",
        );
    }
    Ok(())
}

async fn reset(State(state): State<Arc<AppState>>, headers: header::HeaderMap) -> Response {
    if let Err(refused) = admin_write_allowed(&headers) {
        return refused;
    }
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
    let mut headers: Vec<(&str, &str)> = parts
        .headers
        .iter()
        .map(|(k, _)| k.as_str())
        .zip(values.iter().map(|v| v.as_ref()))
        .collect();
    // HTTP/2 carries the host as the `:authority` pseudo-header, which SigV4 signs as `host`.
    if !parts.headers.contains_key(header::HOST) {
        if let Some(authority) = parts.uri.authority() {
            headers.push(("host", authority.as_str()));
        }
    }

    // A refused body is answered in the protocol's envelope once the service is known. Object
    // uploads (S3) may be larger than other bodies.
    let limits = &state.config.limits;
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
    let (body, refused) = match state.store.dir().filter(|_| blob_payload) {
        Some(dir) => {
            // The SHA-256 is needed only to check a hex `x-amz-content-sha256` (or none).
            let hashed = head
                .header("x-amz-content-sha256")
                .is_none_or(|h| h.trim().len() == 64);
            let dir = spool::dir_of(dir);
            match spool::spool(body, &dir, max_body as u64, hashed, limits.read_timeout).await {
                Ok(s) => {
                    spooled = Some(s);
                    (Bytes::new(), None)
                }
                Err(e) => (Bytes::new(), Some(Refusal::from(e))),
            }
        }
        None => match read_body(body, &parts.headers, max_body, limits.read_timeout).await {
            Ok(b) => (b, None),
            Err(refusal) => (Bytes::new(), Some(refusal)),
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
        http,
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

    // Through an interface endpoint, the host is the endpoint's service.
    let arrival = parts.extensions.get::<Arrival>();
    let front_end = arrival
        .and_then(|a| a.endpoint.as_ref())
        .and_then(|t| airlock_model::all().iter().find(|m| m.name == t.service));
    let target = match front_end {
        Some(model) => Some(classify_at(model, &http, form_ok)),
        None => classify_request(&http, form_ok, scope_service),
    };
    let Some(target) = target else {
        let wire = match &refused {
            // The body that would have named the operation was not read: the refusal, in the
            // envelope the request's content type suggests.
            Some(refusal) => {
                let form = header("content-type")
                    .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
                let protocol = match header("x-amz-target") {
                    Some(_) => Protocol::Json,
                    None if form => Protocol::Query,
                    None => Protocol::RestJson,
                };
                envelope::error(
                    protocol,
                    None,
                    &refusal.error(max_body, protocol),
                    &request_id,
                )
            }
            None => unknown_request(
                method,
                raw_path,
                header("x-amz-target"),
                query::param(form_ok, "Action"),
                scope_service,
                &request_id,
            ),
        };
        log("-", "-", wire.status, started, &request_id);
        return closing(into_response(wire), refused.is_some());
    };
    let protocol = target.model.protocol;

    let result = (|| {
        if let Some(refusal) = &refused {
            return Err(refusal.error(max_body, protocol));
        }
        let caller = auth::authenticate(
            &state,
            protocol,
            &target.model.signing_name,
            target.op.is_some_and(|o| o.unsigned),
            &sreq,
            claim,
            OffsetDateTime::now_utc(),
        )?;
        let form = form.as_ref().map_err(Clone::clone)?;
        let origin = match arrival {
            Some(a) => a.origin(target.model.name),
            None => Origin {
                source_ip: parts
                    .extensions
                    .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                    .map(|c| c.0.ip()),
                secure: false,
                endpoint: None,
            },
        };
        run(
            &state,
            &target,
            caller,
            &origin,
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
    closing(into_response(wire), refused.is_some())
}

/// Why a request's body was not read to its end.
enum Refusal {
    /// Over the limit (declared by `Content-Length`, or crossed while reading).
    TooLarge,
    /// No data for longer than the read timeout.
    TimedOut,
    /// The body ended in the middle (a connection closed early, a malformed chunk).
    Broken,
    /// A spooled body could not be written.
    Failed(std::io::Error),
}

impl From<SpoolError> for Refusal {
    fn from(e: SpoolError) -> Refusal {
        match e {
            SpoolError::TooLarge => Refusal::TooLarge,
            SpoolError::TimedOut => Refusal::TimedOut,
            SpoolError::Incomplete => Refusal::Broken,
            SpoolError::Io(e) => Refusal::Failed(e),
        }
    }
}

impl Refusal {
    fn error(&self, max_body: usize, protocol: Protocol) -> ApiError {
        match self {
            Refusal::TooLarge if protocol == Protocol::RestXml => ApiError::new(
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed object size.",
            ),
            Refusal::Failed(e) => ApiError::internal(format!(
                "We encountered an internal error. Please try again. ({e})"
            )),
            Refusal::TooLarge => ApiError::new(
                "RequestEntityTooLarge",
                format!("Request body exceeds the maximum of {max_body} bytes."),
            ),
            // S3's codes and wordings (the AWS service with codes for these), in every envelope.
            Refusal::TimedOut => ApiError::new(
                "RequestTimeout",
                "Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed.",
            ),
            Refusal::Broken => ApiError::new(
                "IncompleteBody",
                "You did not provide the number of bytes specified by the Content-Length HTTP header.",
            ),
        }
    }
}

/// How much of a refused body is still read (and thrown away) after the answer, so that a
/// client still sending it reads the answer instead of a connection reset.
const DRAIN_LIMIT: u64 = 64 * 1024 * 1024;

/// Reads a request body of at most `max` bytes, allowing at most `idle` between two reads.
/// A `Content-Length` over `max` is refused before anything is read. The rest of a body
/// refused as too large is read and discarded in the background (bounded by [`DRAIN_LIMIT`]
/// and the same idle timeout) unless the client waits for `100 Continue`, so the answer
/// reaches a client that is still sending.
async fn read_body(
    mut body: axum::body::Body,
    headers: &header::HeaderMap,
    max: usize,
    idle: std::time::Duration,
) -> Result<Bytes, Refusal> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let drain = |body: axum::body::Body| {
        let waits_for_continue = headers
            .get(header::EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        if !waits_for_continue {
            tokio::spawn(discard(body, idle));
        }
        Err(Refusal::TooLarge)
    };
    if declared.is_some_and(|n| n > max as u64) {
        return drain(body);
    }
    let mut first: Option<Bytes> = None;
    let mut more: Option<bytes::BytesMut> = None;
    // The timer exists only once the body makes the request wait (most bodies have arrived
    // with their headers), and is pushed back after every frame.
    let mut timer: Option<std::pin::Pin<Box<tokio::time::Sleep>>> = None;
    loop {
        let next = std::future::poll_fn(|cx| {
            use std::future::Future;
            use std::task::Poll;
            if let Poll::Ready(frame) =
                axum::body::HttpBody::poll_frame(std::pin::Pin::new(&mut body), cx)
            {
                if let Some(t) = timer.as_mut() {
                    t.as_mut().reset(tokio::time::Instant::now() + idle);
                }
                return Poll::Ready(Ok(frame));
            }
            let t = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
            t.as_mut().poll(cx).map(Err)
        })
        .await;
        let frame = match next {
            Err(()) => return Err(Refusal::TimedOut),
            Ok(None) => break,
            Ok(Some(Err(_))) => return Err(Refusal::Broken),
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let had = first.as_ref().map_or(0, Bytes::len) + more.as_ref().map_or(0, |m| m.len());
        if had + data.len() > max {
            return drain(body);
        }
        match (&mut first, &mut more) {
            (None, _) => first = Some(data),
            (Some(f), None) => {
                let want = declared.map_or(0, |n| n as usize).max(f.len() + data.len());
                let mut m = bytes::BytesMut::with_capacity(want);
                m.extend_from_slice(f);
                m.extend_from_slice(&data);
                more = Some(m);
            }
            (Some(_), Some(m)) => m.extend_from_slice(&data),
        }
    }
    Ok(match (first, more) {
        (_, Some(m)) => m.freeze(),
        (Some(f), None) => f,
        (None, None) => Bytes::new(),
    })
}

/// Reads and drops what is left of a refused body (see [`read_body`]).
async fn discard(mut body: axum::body::Body, idle: std::time::Duration) {
    use http_body_util::BodyExt;
    let mut left = DRAIN_LIMIT;
    while let Ok(Some(Ok(frame))) = tokio::time::timeout(idle, body.frame()).await {
        let n = frame.data_ref().map_or(0, |d| d.len() as u64);
        if n >= left {
            break;
        }
        left -= n;
    }
}

/// A response after which the connection closes (its request body was not read to the end).
fn closing(mut resp: Response, close: bool) -> Response {
    if close {
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}

#[allow(clippy::too_many_arguments)]
fn run(
    state: &AppState,
    target: &Target,
    caller: Caller,
    origin: &Origin,
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
        principal: caller.principal.seen_from(&caller.region),
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
        origin: origin.clone(),
    };
    authorize(state, &ctx, model.name, &op.name, &input)?;
    match airlock_services::call(&ctx, model.name, &op.name, &input) {
        Some(Ok(output)) => Ok(envelope::success(model, op, request_id, output)),
        Some(Err(e)) => Err(e),
        None => Err(unknown_operation(model.protocol, &op.name)),
    }
}

/// The IAM step: the caller's policies must allow the operation (`--iam enforce`); `log`
/// logs a refusal and goes on.
fn authorize(
    state: &AppState,
    ctx: &Ctx<'_>,
    service: &str,
    op: &str,
    input: &serde_json::Value,
) -> Result<(), ApiError> {
    let mode = state.config.services.iam;
    if mode == Mode::Off {
        return Ok(());
    }
    match (
        airlock_services::authz::authorize(ctx, service, op, input),
        mode,
    ) {
        (Err(e), Mode::Log) => {
            tracing::warn!(
                target: "airlock::iam",
                service,
                operation = op,
                code = %e.code,
                message = %e.message,
                request_id = %ctx.request_id,
                "would refuse (--iam log)",
            );
            Ok(())
        }
        (result, _) => result,
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
