//! An environment's webserver: the Airflow-like HTTPS site behind the MWAA webserver endpoint.
//!
//! It answers `/` with a redirect to the login path, `/health` with Airflow's health JSON, the
//! MWAA login flow (`/aws_mwaa/aws-console-sso`, `POST /aws_mwaa/login` with a web login token), a
//! home page, the CLI endpoint (`POST /aws_mwaa/cli` with a CLI token) and the REST API, all from
//! the same built-in Airflow stand-in that `InvokeRestApi` uses.

use crate::accept;
use crate::ca::Ca;
use crate::source::Source;
use airlock_console::html::esc as escape;
use airlock_services::mwaa::{self, airflow, Environment, TokenKind};
use airlock_services::{Ctx, Principal};
use airlock_store::Scope;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use base64::Engine;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::net::{TcpListener, TcpStream};

/// Login sessions last 12 hours, as MWAA's do.
const SESSION_SECS: i64 = 12 * 3600;

/// How long a client has to finish a TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves environment `environment`'s site on `listener` until the task is aborted
/// (which ends its connections); `admit` is the fabric's decision for the listener's place.
/// The local CA is loaded (its key made on the blocking pool) before the first accept.
pub async fn serve(
    listener: TcpListener,
    admit: impl Fn(SocketAddr) -> bool,
    source: Arc<Source>,
    ca: Arc<Ca>,
    scope: Scope,
    environment: String,
) {
    let Some(env) = source
        .store()
        .read(|v| v.get::<Environment>(&scope, &environment))
    else {
        return;
    };
    let site = Site::new(source.clone(), scope, &env);
    if let Err(e) = ca.prepare(source.store()).await {
        tracing::warn!(target: "airlock::webserver", error = %e, "cannot set up the local CA");
    }
    accept::serve(listener, accept::UNLIMITED, admit, |stream, _| {
        connection(site.clone(), ca.clone(), stream)
    })
    .await
}

/// One HTTPS connection to the site.
async fn connection(site: Arc<Site>, ca: Arc<Ca>, stream: TcpStream) {
    let Ok(config) = ca.server_config(site.source.store(), std::slice::from_ref(&site.host)) else {
        return;
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let Ok(Ok(tls)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await else {
        return;
    };
    let service = hyper_util::service::TowerToHyperService::new(router(site));
    let _ = auto::Builder::new(TokioExecutor::new())
        .serve_connection(TokioIo::new(tls), service)
        .await;
}

/// One environment's site.
pub struct Site {
    pub source: Arc<Source>,
    pub scope: Scope,
    pub environment: String,
    pub host: String,
    pub airflow3: bool,
    /// Signed-in sessions: when each expires and the Airflow role it acts as.
    sessions: Mutex<HashMap<String, (OffsetDateTime, String)>>,
}

impl Site {
    pub fn new(source: Arc<Source>, scope: Scope, env: &Environment) -> Arc<Site> {
        Arc::new(Site {
            source,
            scope,
            environment: env.name.clone(),
            host: env.webserver_host(),
            airflow3: env.airflow3(),
            sessions: Mutex::new(HashMap::new()),
        })
    }

    fn ctx(&self) -> Ctx<'_> {
        let principal = Principal {
            account: self.scope.account.clone(),
            arn: airlock_services::partition::global_arn(
                &self.scope.region,
                "iam",
                &self.scope.account,
                "root",
            ),
            user_id: self.scope.account.clone(),
            access_key_id: String::new(),
        };
        let (store, config) = (self.source.store(), &self.source.config);
        Ctx::internal(
            store,
            config,
            principal,
            &self.scope.region,
            self.source.clock(),
        )
    }

    fn new_session(&self, role: &str) -> String {
        let raw: [u8; 32] = std::array::from_fn(|_| rand::random());
        let id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
        let mut s = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let now = OffsetDateTime::now_utc();
        s.retain(|_, (exp, _)| *exp > now);
        s.insert(
            id.clone(),
            (now + time::Duration::seconds(SESSION_SECS), role.to_owned()),
        );
        id
    }

    /// The Airflow role of the request's live session (cookie or bearer token), if it has one.
    fn session_role(&self, headers: &HeaderMap) -> Option<String> {
        let now = OffsetDateTime::now_utc();
        let sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let cookie = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'));
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_owned);
        cookie
            .filter_map(|c| c.trim().split_once('='))
            .filter(|(k, _)| *k == "session" || *k == "_token")
            .map(|(_, v)| v.to_owned())
            .chain(bearer)
            .find_map(|v| {
                sessions
                    .get(&v)
                    .filter(|(exp, _)| *exp > now)
                    .map(|(_, role)| role.clone())
            })
    }

    fn has_session(&self, headers: &HeaderMap) -> bool {
        self.session_role(headers).is_some()
    }

    fn prefix(&self) -> &'static str {
        if self.airflow3 {
            "/pluginsv2"
        } else {
            ""
        }
    }
}

pub fn router(site: Arc<Site>) -> Router {
    let mut router = Router::new()
        .route("/", get(root))
        .route("/home", get(home))
        .route("/login/", get(login_page))
        .route("/auth/login/", get(login_page))
        .route("/health", get(health))
        .route("/api/{version}/{*path}", any(api));
    // MWAA's own pages, where Airflow 2 and Airflow 3 (under /pluginsv2) put them.
    for prefix in ["", "/pluginsv2"] {
        router = router
            .route(&format!("{prefix}/aws_mwaa/aws-console-sso"), get(sso_page))
            .route(&format!("{prefix}/aws_mwaa/login"), post(login))
            .route(&format!("{prefix}/aws_mwaa/cli"), post(cli));
    }
    router.fallback(not_found).with_state(site)
}

fn redirect(to: &str) -> Response {
    (
        StatusCode::FOUND,
        [(header::LOCATION, to.to_owned())],
        Html(format!("<a href=\"{to}\">Redirecting…</a>")),
    )
        .into_response()
}

async fn root(State(site): State<Arc<Site>>, headers: HeaderMap) -> Response {
    if site.has_session(&headers) {
        return redirect("/home");
    }
    if site.airflow3 {
        redirect("/auth/login/?next=%2F")
    } else {
        redirect("/home")
    }
}

async fn home(State(site): State<Arc<Site>>, headers: HeaderMap) -> Response {
    if !site.has_session(&headers) {
        return redirect("/login/?next=%2Fhome");
    }
    let dags: String = airflow::dags_of(&site.ctx(), &site.environment)
        .iter()
        .map(|d| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>airflow</td></tr>",
                escape(&d.id),
                escape(d.schedule.as_deref().unwrap_or("None"))
            )
        })
        .collect();
    Html(format!(
        "<!DOCTYPE html><html><head><title>DAGs - Airflow</title></head><body>\
         <h1>Airflow</h1><p>Environment <b>{}</b> ({})</p>\
         <table><tr><th>DAG</th><th>Schedule</th><th>Owner</th></tr>{dags}</table></body></html>",
        site.environment, site.host
    ))
    .into_response()
}

async fn login_page(State(site): State<Arc<Site>>) -> Response {
    Html(format!(
        "<!DOCTYPE html><html><head><title>Sign In - Airflow</title></head><body>\
         <h1>Sign in to {}</h1><p>Open the Airflow UI from the MWAA console, or with a token from \
         <code>aws mwaa create-web-login-token</code>: https://{}{}/aws_mwaa/aws-console-sso?login=true#&lt;token&gt;</p></body></html>",
        site.environment,
        site.host,
        site.prefix()
    ))
    .into_response()
}

async fn health(State(site): State<Arc<Site>>) -> Response {
    let (status, body) = airflow::rest(
        &site.ctx(),
        &site.environment,
        false,
        "Public",
        "GET",
        "/health",
        &Value::Null,
    );
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        axum::Json(body),
    )
        .into_response()
}

/// The page the console opens: its script posts the token from the URL fragment.
async fn sso_page(State(site): State<Arc<Site>>) -> Response {
    let action = format!("{}/aws_mwaa/login", site.prefix());
    Html(format!(
        "<!DOCTYPE html><html><head><title>Airflow</title></head><body>\
         <form id=\"f\" method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"token\" id=\"t\"></form>\
         <script>document.getElementById('t').value = window.location.hash.substring(1);\
         document.getElementById('f').submit();</script></body></html>"
    ))
    .into_response()
}

async fn login(State(site): State<Arc<Site>>, body: Bytes) -> Response {
    let token = form_urlencoded::parse(&body)
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let store = site.source.store();
    match mwaa::redeem_token(
        store,
        &site.scope,
        &token,
        TokenKind::Web,
        OffsetDateTime::now_utc(),
    ) {
        Some(t) if t.environment == site.environment => {
            let session = site.new_session(&t.airflow_role);
            let cookie = if site.airflow3 {
                format!("_token={session}; Path=/; Secure; SameSite=Lax")
            } else {
                format!("session={session}; Path=/; Secure; HttpOnly; SameSite=Lax")
            };
            (
                StatusCode::FOUND,
                [
                    (header::SET_COOKIE, cookie),
                    (header::LOCATION, "/home".to_owned()),
                ],
                "",
            )
                .into_response()
        }
        _ => (
            StatusCode::FORBIDDEN,
            Html("<h1>Forbidden</h1><p>The login token is not valid or has expired.</p>"),
        )
            .into_response(),
    }
}

async fn cli(State(site): State<Arc<Site>>, headers: HeaderMap, body: Bytes) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let store = site.source.store();
    match mwaa::check_cli_token(store, &site.scope, token, OffsetDateTime::now_utc()) {
        Some(t) if t.environment == site.environment => {}
        _ => {
            return (
                StatusCode::FORBIDDEN,
                axum::Json(json!({"error": "Invalid or expired CLI token"})),
            )
                .into_response()
        }
    }
    let command = String::from_utf8_lossy(&body).into_owned();
    let (stdout, stderr) = run_cli(&site, &command);
    let b64 = |s: String| base64::engine::general_purpose::STANDARD.encode(s);
    axum::Json(json!({"stdout": b64(stdout), "stderr": b64(stderr)})).into_response()
}

/// The Airflow CLI commands the stand-in knows.
fn run_cli(site: &Site, command: &str) -> (String, String) {
    let args: Vec<&str> = command.split_whitespace().collect();
    let ctx = site.ctx();
    let version = if site.airflow3 { "3.0.6" } else { "2.10.3" };
    match args.as_slice() {
        ["version"] => (format!("{version}\n"), String::new()),
        ["dags", "list", ..] => {
            let mut out = String::from("dag_id                  | fileloc                                        | owners  | is_paused\n");
            for d in airflow::dags_of(&ctx, &site.environment) {
                out.push_str(&format!("{:<23} | {} | airflow | False\n", d.id, d.fileloc));
            }
            (out, String::new())
        }
        ["dags", "trigger", dag, ..] => match airflow::trigger(&ctx, &site.environment, dag, None, json!({})) {
            Ok(run) => (
                format!(
                    "Created <DagRun {} @ {}: {}, state:queued, queued_at: {}. externally triggered: True>\n",
                    run.dag_id,
                    run.created,
                    run.run_id,
                    run.created
                ),
                String::new(),
            ),
            Err((_, body)) => (String::new(), format!("{}\n", body["detail"].as_str().unwrap_or("error"))),
        },
        ["dags", "list-runs", "-d", dag, ..] | ["dags", "list-runs", "--dag-id", dag, ..] => {
            let runs = airflow::runs(&ctx, &site.scope, &site.environment, dag);
            let mut out = String::from("dag_id | run_id | state | execution_date\n");
            for r in runs {
                out.push_str(&format!("{} | {} | {} | {}\n", r.dag_id, r.run_id, r.state(&ctx.clock), r.created));
            }
            (out, String::new())
        }
        _ => (
            String::new(),
            format!("airflow command error: argument GROUP_OR_COMMAND: invalid choice: '{}', see help above.\n", args.first().unwrap_or(&"")),
        ),
    }
}

async fn api(
    State(site): State<Arc<Site>>,
    Path((version, path)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let expected = if site.airflow3 { "v2" } else { "v1" };
    let open = path == "health" || path == "monitor/health" || path == "version";
    if version != expected {
        return not_found().await;
    }
    let role = site.session_role(&headers);
    if !open && role.is_none() {
        let body = json!({"detail": null, "status": 401, "title": "Unauthorized", "type": "https://airflow.apache.org/docs/apache-airflow/stable/stable-rest-api-ref.html#section/Errors/Unauthenticated"});
        return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (status, answer) = airflow::rest(
        &site.ctx(),
        &site.environment,
        site.airflow3,
        role.as_deref().unwrap_or("Public"),
        method.as_str(),
        &format!("/{path}"),
        &body,
    );
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        axum::Json(answer),
    )
        .into_response()
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Html("<h1>Not Found</h1>")).into_response()
}
