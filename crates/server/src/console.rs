//! `/_airlock/console/*`: the web console's HTTP side. Pages are `airlock_console::answer` of
//! the path and query, read on the blocking pool; GET and HEAD (and POST of its one form), only
//! for a `Host` that
//! names this machine (a page a browser reaches through DNS rebinding is refused), and with
//! headers that keep other sites from framing or scripting it. The console reads, and offers one
//! action, by a form that carries the server's CSRF secret ("Open Airflow UI" of a public
//! webserver: a web login token); it is off the AWS API's authentication path, like every
//! `/_airlock/*` endpoint, and off entirely with `--console off`.

use crate::AppState;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// Whether `host` (a `Host` header) names the loopback interface: an IP literal on it, or
/// `localhost`.
fn local_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

pub async fn serve(state: Arc<AppState>, req: Request) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
        .unwrap_or("");
    if !local_host(host) {
        return (
            StatusCode::MISDIRECTED_REQUEST,
            "The console answers only on loopback names (127.0.0.1, localhost).",
        )
            .into_response();
    }
    if req.method() == Method::POST {
        return act(state, req).await;
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET, HEAD")],
            "The console only reads (and opens a public Airflow UI by its form).",
        )
            .into_response();
    }
    let path = req.uri().path();
    let Some(rest) = path.strip_prefix(airlock_console::PREFIX) else {
        // `/_airlock/console` without its slash.
        return (
            StatusCode::PERMANENT_REDIRECT,
            [(header::LOCATION, airlock_console::PREFIX)],
        )
            .into_response();
    };
    let rest = decoded(rest);
    let query = req.uri().query().unwrap_or("").to_owned();
    let head = req.method() == Method::HEAD;
    answer(state, rest, query, None, head).await
}

fn decoded(path: &str) -> String {
    percent_encoding::percent_decode_str(path)
        .decode_utf8_lossy()
        .into_owned()
}

/// A console page (or, with a form, the form's outcome), made off the async threads.
async fn answer(
    state: Arc<AppState>,
    rest: String,
    query: String,
    form: Option<axum::body::Bytes>,
    head: bool,
) -> Response {
    let now = time::OffsetDateTime::now_utc();
    let page = tokio::task::spawn_blocking(move || {
        airlock_console::answer(
            &state.store,
            &state.config.services,
            now,
            &site(&state),
            &rest,
            &query,
            form.as_deref(),
        )
    })
    .await;
    respond(page, head)
}

fn site(state: &AppState) -> airlock_console::Site {
    airlock_console::Site {
        dns: state.dns_addr.get().copied(),
        csrf: state.console_secret.clone(),
        https_port: airlock_net::fabric::port(443),
    }
}

/// The console's one form (`.../mwaa/environments/<name>/open`): only from the console's own
/// pages (no foreign `Origin`, no cross-site fetch), a small form body carrying the CSRF token.
async fn act(state: Arc<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let text = |name: header::HeaderName| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let host = text(header::HOST).unwrap_or_default();
    let foreign_origin = text(header::ORIGIN).is_some_and(|o| o != format!("http://{host}"));
    let cross_site = text(header::HeaderName::from_static("sec-fetch-site"))
        .is_some_and(|s| s != "same-origin" && s != "none");
    if foreign_origin || cross_site {
        return (
            StatusCode::FORBIDDEN,
            "The console's form is refused from another site.",
        )
            .into_response();
    }
    let query = parts.uri.query().unwrap_or("").to_owned();
    let Some(rest) = parts.uri.path().strip_prefix(airlock_console::PREFIX) else {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    };
    let rest = decoded(rest);
    drop(parts);
    // Within the API port's read timeout, as every body.
    let read = tokio::time::timeout(
        state.config.limits.read_timeout,
        axum::body::to_bytes(body, 4096),
    );
    let form = match read.await {
        Ok(Ok(form)) => form,
        Ok(Err(_)) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                "The form is larger than 4 KiB.",
            )
                .into_response()
        }
        Err(_) => {
            return (StatusCode::REQUEST_TIMEOUT, "The form came too slowly.").into_response()
        }
    };
    answer(state, rest, query, Some(form), false).await
}

fn respond(page: Result<airlock_console::Page, tokio::task::JoinError>, head: bool) -> Response {
    let page = match page {
        Ok(p) => p,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    let mut res = Response::new(if head {
        Body::empty()
    } else {
        Body::from(page.body)
    });
    *res.status_mut() = StatusCode::from_u16(page.status).unwrap_or(StatusCode::OK);
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(page.content_type),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if page.cacheable {
            "max-age=300"
        } else {
            "no-store"
        }),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self' https:; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if let Some(location) = page.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        h.insert(header::LOCATION, location);
    }
    if let Some(v) = page.version.and_then(|v| HeaderValue::from_str(&v).ok()) {
        h.insert("x-airlock-console-version", v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::local_host;

    #[test]
    fn only_loopback_names_are_served() {
        for ok in [
            "127.0.0.1:4566",
            "127.0.0.1",
            "localhost:4566",
            "LOCALHOST",
            "[::1]:4566",
            "127.9.0.3:80",
        ] {
            assert!(local_host(ok), "{ok}");
        }
        for bad in [
            "evil.example:4566",
            "10.0.0.1:4566",
            "",
            "[fe80::1]:1",
            "localhost.evil.example",
        ] {
            assert!(!local_host(bad), "{bad}");
        }
    }
}
