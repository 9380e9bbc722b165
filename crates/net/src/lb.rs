//! Load balancer listeners: what an ALB or NLB does with a connection.
//!
//! Each listener of an active load balancer listens on every zone's interface (fabric address,
//! peers inside the VPC that the load balancer's security groups admit) and, when internet-facing,
//! on the zone's public address (the internet, [`fabric::internet_admits`]); the reconciler
//! passes the admission with the place ([`fabric::admitted`]). Then, by protocol:
//!
//! - `HTTP`/`HTTPS` (ALB): TLS with the listener's ACM certificates ([`crate::tls`]), HTTP/1.1 or
//!   HTTP/2 from the client; each request goes through the listener's rules
//!   ([`routing::choose`]) to a fixed response, a redirect, or a target of the forward action's
//!   target group, reached over HTTP/1.1 (TLS without verification for HTTPS groups) through the
//!   fabric from this zone's interface, with `X-Forwarded-For`, `-Proto`, `-Port` and
//!   `X-Amzn-Trace-Id` added. No target: 503; a target that refuses or breaks: 502; one the
//!   security groups do not let the load balancer reach: 504 (on AWS the packets are dropped
//!   and the connection times out).
//! - `TCP`/`TLS` (NLB): the byte stream (after TLS termination for `TLS`) to a target.
//!
//! The listener record, rules, targets and certificates are read from the state for each
//! connection or request, so changes apply without restarting anything.

use crate::accept;
use crate::fabric::connect_from;
use crate::source::Source;
use crate::tls::{self, ListenerCerts};
use airlock_services::ec2::{eni, fabric};
use airlock_services::elbv2::actions::{Action, FixedResponse};
use airlock_services::elbv2::listeners::Listener;
use airlock_services::elbv2::loadbalancers::LoadBalancer;
use airlock_services::elbv2::routing::{self, Destination};
use airlock_store::Scope;
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode, Uri, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rand::Rng;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};

/// How long a load balancer waits for a target to accept a connection (AWS: 10 s).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a client has to finish a TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

pub type Body = BoxBody<Bytes, hyper::Error>;

type TlsKey = (Option<String>, bool);

/// An HTTP/1.1 connection to a target, ready for a request.
type Sender = hyper::client::conn::http1::SendRequest<Incoming>;

/// Idle keep-alive connections kept per target and protocol (ALB reuses its connections to
/// targets).
const IDLE_PER_TARGET: usize = 64;

/// One listener on one of its load balancer's addresses.
pub struct Front {
    pub source: Arc<Source>,
    pub scope: Scope,
    pub listener: String,
    /// The zone's interface: where connections to targets come from.
    pub eni: String,
    /// On the zone's public address (else on the interface's fabric address).
    pub public: bool,
    /// The listener's port as the VPC sees it.
    pub port: u16,
    certs: Arc<ListenerCerts>,
    /// TLS configurations by security policy and whether HTTP/2 is offered.
    tls: Mutex<HashMap<TlsKey, Arc<rustls::ServerConfig>>>,
    next: AtomicUsize,
    /// Idle connections to targets, by target and whether they speak TLS.
    idle: Mutex<HashMap<(Destination, bool), Vec<Sender>>>,
}

impl Front {
    pub fn new(
        source: Arc<Source>,
        scope: Scope,
        listener: String,
        eni: String,
        public: bool,
        port: u16,
    ) -> Arc<Front> {
        let certs = ListenerCerts::new(source.clone(), scope.clone(), listener.clone());
        Arc::new(Front {
            source,
            scope,
            listener,
            eni,
            public,
            port,
            certs,
            tls: Mutex::new(HashMap::new()),
            next: AtomicUsize::new(0),
            idle: Mutex::new(HashMap::new()),
        })
    }

    fn store(&self) -> &airlock_store::Store {
        self.source.store()
    }

    fn records(&self) -> Option<(Arc<LoadBalancer>, Arc<Listener>, Arc<eni::NetworkInterface>)> {
        self.store().read(|v| {
            let l = v.get::<Listener>(&self.scope, &self.listener)?;
            let lb = v.get::<LoadBalancer>(&self.scope, &l.lb_arn)?;
            let n = v.get::<eni::NetworkInterface>(&self.scope, &self.eni)?;
            Some((lb, l, n))
        })
    }

    /// The client's address as the load balancer reports it: its VPC address inside the
    /// fabric, its real address from the host.
    fn client_ip(&self, peer: SocketAddr) -> Ipv4Addr {
        let SocketAddr::V4(p) = peer else {
            return Ipv4Addr::UNSPECIFIED;
        };
        if self.public {
            return *p.ip();
        }
        self.store()
            .read(|v| fabric::vpc_address(v, *p.ip()))
            .map_or(*p.ip(), |(_, _, ip)| ip)
    }

    fn tls_config(&self, lb: &LoadBalancer, l: &Listener) -> Option<Arc<rustls::ServerConfig>> {
        let h2 = l.protocol == "HTTPS" && lb.attribute("routing.http2.enabled") != Some("false");
        let key = (l.ssl_policy.clone(), h2);
        let mut configs = self.tls.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = configs.get(&key) {
            return Some(c.clone());
        }
        let alpn: &[&[u8]] = if h2 {
            &[b"h2", b"http/1.1"]
        } else if l.protocol == "HTTPS" {
            &[b"http/1.1"]
        } else {
            &[]
        };
        let c = tls::server_config(self.certs.clone(), l.ssl_policy.as_deref(), alpn)?;
        configs.insert(key, c.clone());
        Some(c)
    }

    /// An idle connection to `to` that is still open, if there is one.
    fn take_idle(&self, to: Destination, tls: bool) -> Option<Sender> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let list = idle.get_mut(&(to, tls))?;
        while let Some(s) = list.pop() {
            if s.is_ready() && !s.is_closed() {
                return Some(s);
            }
        }
        None
    }

    /// Keeps `sender` for the next request to `to` once its response is done.
    fn keep_when_idle(self: &Arc<Self>, to: Destination, tls: bool, mut sender: Sender) {
        let front = self.clone();
        tokio::spawn(async move {
            if sender.ready().await.is_ok() {
                let mut idle = front.idle.lock().unwrap_or_else(|e| e.into_inner());
                let list = idle.entry((to, tls)).or_default();
                if list.len() < IDLE_PER_TARGET {
                    list.push(sender);
                }
            }
        });
    }

    /// A target of the first target group of `action` (weighted), round robin over the
    /// destinations ([`routing::GroupNow::destinations`]); with whether the group speaks TLS.
    fn pick(&self, action: &Action) -> Option<(Destination, bool)> {
        let groups = &action.target_groups;
        let total: i64 = groups.iter().map(|g| g.weight.max(0)).sum();
        let chosen = if total <= 0 {
            groups.first()?
        } else {
            let mut n = rand::thread_rng().gen_range(0..total);
            groups.iter().find(|g| {
                n -= g.weight.max(0);
                n < 0
            })?
        };
        let clock = self.source.clock();
        let g = self
            .store()
            .read(|v| routing::group_now(v, &self.scope, &chosen.arn, clock))?;
        let dests = g.destinations();
        if dests.is_empty() {
            return None;
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % dests.len();
        let tls = matches!(g.group.protocol.as_deref(), Some("HTTPS" | "TLS"));
        Some((dests[i], tls))
    }
}

/// Why a connection to a target could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreachable {
    /// The security groups drop the load balancer's packets (AWS: a timeout).
    Dropped,
    /// Refused, broken, or no answer in time.
    Failed,
}

/// Opens a connection from interface `from` to `to` through the fabric, as the load balancer
/// (or its health checker) does.
pub async fn connect_target(
    source: &Source,
    scope: &Scope,
    from: &eni::NetworkInterface,
    to: Destination,
) -> Result<TcpStream, Unreachable> {
    let reachable = source
        .store()
        .read(|v| fabric::reachable(v, scope, from, to.ip, to.port));
    if !reachable {
        return Err(Unreachable::Dropped);
    }
    match tokio::time::timeout(
        CONNECT_TIMEOUT,
        connect_from(source, scope, from, to.ip, to.port),
    )
    .await
    {
        Ok(Ok(s)) => {
            let _ = s.set_nodelay(true);
            Ok(s)
        }
        Ok(Err(_)) => Err(Unreachable::Failed),
        Err(_) => Err(Unreachable::Dropped),
    }
}

/// A boxed stream: plain TCP or TLS over it.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Opens a connection to a target, with TLS (not verified) when `tls`.
pub async fn open(
    source: &Source,
    scope: &Scope,
    from: &eni::NetworkInterface,
    to: Destination,
    tls: bool,
) -> Result<Box<dyn Io>, Unreachable> {
    let stream = connect_target(source, scope, from, to).await?;
    if !tls {
        return Ok(Box::new(stream));
    }
    let name = rustls_pki_types::ServerName::IpAddress(to.ip.into());
    let connector = tokio_rustls::TlsConnector::from(tls::target_client());
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, connector.connect(name, stream)).await {
        Ok(Ok(s)) => Ok(Box::new(s)),
        _ => Err(Unreachable::Failed),
    }
}

/// Serves `listener` for `front` until the task is aborted (which ends its connections); `admit`
/// is the fabric's decision for the listener's place.
pub async fn serve(listener: TcpListener, admit: impl Fn(SocketAddr) -> bool, front: Arc<Front>) {
    accept::serve(listener, accept::UNLIMITED, admit, |stream, peer| {
        connection(front.clone(), stream, peer)
    })
    .await
}

/// One client connection: TLS if the listener is secure, then HTTP routing or a byte stream.
async fn connection(front: Arc<Front>, stream: TcpStream, peer: SocketAddr) {
    let Some((lb, l, _)) = front.records() else {
        return;
    };
    let client: Box<dyn Io> = if l.is_secure() {
        let Some(config) = front.tls_config(&lb, &l) else {
            return;
        };
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
            Ok(Ok(s)) => Box::new(s),
            _ => return,
        }
    } else {
        Box::new(stream)
    };
    if matches!(l.protocol.as_str(), "HTTP" | "HTTPS") {
        serve_http(front, client, peer, l.protocol == "HTTPS").await;
    } else {
        serve_stream(front, client).await;
    }
}

/// NLB: the connection's bytes to a target of the listener's forward action.
async fn serve_stream(front: Arc<Front>, mut client: Box<dyn Io>) {
    let Some((_, l, from)) = front.records() else {
        return;
    };
    let Some(action) = l
        .default_actions
        .iter()
        .find(|a| a.action_type == "forward")
    else {
        return;
    };
    let Some((to, tls)) = front.pick(action) else {
        return;
    };
    let Ok(mut target) = open(&front.source, &front.scope, &from, to, tls).await else {
        return;
    };
    let _ = tokio::io::copy_bidirectional(&mut client, &mut target).await;
}

/// ALB: HTTP/1.1 or HTTP/2 from the client, each request routed by the listener's rules.
async fn serve_http(front: Arc<Front>, client: Box<dyn Io>, peer: SocketAddr, secure: bool) {
    let client_ip = front.client_ip(peer);
    let service = hyper::service::service_fn(move |req| {
        let front = front.clone();
        async move { Ok::<_, Infallible>(handle(&front, req, client_ip, secure).await) }
    });
    let _ = auto::Builder::new(TokioExecutor::new())
        .serve_connection(TokioIo::new(client), service)
        .await;
}

fn full(b: impl Into<Bytes>) -> Body {
    Full::new(b.into()).map_err(|never| match never {}).boxed()
}

/// An answer of the load balancer itself (`Server: awselb/2.0`).
fn own(status: u16, content_type: &str, body: String) -> Response<Body> {
    let mut r = Response::new(full(body));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let h = r.headers_mut();
    h.insert(header::SERVER, HeaderValue::from_static("awselb/2.0"));
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    r
}

/// The load balancer's error page for `status`, as ALB writes it.
pub fn error_page(status: u16) -> Response<Body> {
    let text = match status {
        502 => "502 Bad Gateway",
        503 => "503 Service Temporarily Unavailable",
        504 => "504 Gateway Time-out",
        400 => "400 Bad Request",
        _ => "500 Internal Server Error",
    };
    own(
        status,
        "text/html",
        format!(
            "<html>\r\n<head><title>{text}</title></head>\r\n<body>\r\n<center><h1>{text}</h1></center>\r\n</body>\r\n</html>\r\n"
        ),
    )
}

fn fixed_response(f: &FixedResponse) -> Response<Body> {
    own(
        f.status_code.parse().unwrap_or(200),
        f.content_type
            .as_deref()
            .unwrap_or("text/plain; charset=utf-8"),
        f.message_body.clone().unwrap_or_default(),
    )
}

async fn handle(
    front: &Arc<Front>,
    req: Request<Incoming>,
    client_ip: Ipv4Addr,
    secure: bool,
) -> Response<Body> {
    let Some((_, l, from)) = front.records() else {
        return error_page(503);
    };
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
        .unwrap_or("")
        .to_owned();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let header_refs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let facts = routing::Request {
        method: req.method().as_str(),
        host: &host,
        path: req.uri().path(),
        query: req.uri().query(),
        headers: &header_refs,
        source: client_ip,
    };
    let rules = front
        .store()
        .read(|v| routing::rules_of(v, &front.scope, &l.arn));
    let Some(action) = routing::choose(&l.default_actions, &rules, &facts).cloned() else {
        return error_page(503);
    };
    match action.action_type.as_str() {
        "fixed-response" => match &action.fixed_response {
            Some(f) => fixed_response(f),
            None => error_page(500),
        },
        "redirect" => match &action.redirect {
            Some(r) => {
                let (status, location) =
                    routing::redirect_location(r, &facts, &l.protocol, front.port);
                let mut resp = own(status, "text/html", String::new());
                if let Ok(v) = HeaderValue::from_str(&location) {
                    resp.headers_mut().insert(header::LOCATION, v);
                }
                resp
            }
            None => error_page(500),
        },
        _ => {
            let Some((to, tls)) = front.pick(&action) else {
                return error_page(503);
            };
            forward(front, &from, req, to, tls, client_ip, secure, &host).await
        }
    }
}

/// Headers that belong to one hop and are not passed on.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
];

/// `Root=1-<epoch hex>-<24 hex>`, the trace id ALB adds.
fn trace_id() -> String {
    let epoch = time::OffsetDateTime::now_utc().unix_timestamp();
    let r: [u8; 12] = rand::random();
    format!("Root=1-{epoch:08x}-{}", hex(&r))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[allow(clippy::too_many_arguments)]
async fn forward(
    front: &Arc<Front>,
    from: &eni::NetworkInterface,
    mut req: Request<Incoming>,
    to: Destination,
    tls: bool,
    client_ip: Ipv4Addr,
    secure: bool,
    host: &str,
) -> Response<Body> {
    // The security groups are checked for every request, pooled connection or not.
    let reachable = front
        .store()
        .read(|v| fabric::reachable(v, &front.scope, from, to.ip, to.port));
    if !reachable {
        return error_page(504);
    }
    // Origin form, HTTP/1.1, the client's Host, and ALB's headers.
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    *req.uri_mut() = path
        .parse::<Uri>()
        .unwrap_or_else(|_| Uri::from_static("/"));
    *req.version_mut() = Version::HTTP_11;
    let h = req.headers_mut();
    for name in HOP_BY_HOP {
        h.remove(*name);
    }
    if !h.contains_key(header::HOST) {
        if let Ok(v) = HeaderValue::from_str(host) {
            h.insert(header::HOST, v);
        }
    }
    let xff = match h.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        Some(prior) => format!("{prior}, {client_ip}"),
        None => client_ip.to_string(),
    };
    let traced = h.contains_key("x-amzn-trace-id");
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(HeaderName::from_static(name), v);
        }
    };
    set("x-forwarded-for", xff);
    set(
        "x-forwarded-proto",
        if secure { "https" } else { "http" }.into(),
    );
    set("x-forwarded-port", front.port.to_string());
    if !traced {
        set("x-amzn-trace-id", trace_id());
    }
    if let Some(mut sender) = front.take_idle(to, tls) {
        match sender.try_send_request(req).await {
            Ok(resp) => {
                front.keep_when_idle(to, tls, sender);
                return resp.map(|b| b.boxed());
            }
            // The target closed the idle connection before the request went out: a new one.
            Err(mut e) => match e.take_message() {
                Some(unsent) => req = unsent,
                None => return error_page(502),
            },
        }
    }
    let io = match open(&front.source, &front.scope, from, to, tls).await {
        Ok(io) => io,
        Err(Unreachable::Dropped) => return error_page(504),
        Err(Unreachable::Failed) => return error_page(502),
    };
    let Ok((mut sender, conn)) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await
    else {
        return error_page(502);
    };
    tokio::spawn(conn);
    match sender.send_request(req).await {
        Ok(resp) => {
            front.keep_when_idle(to, tls, sender);
            resp.map(|b| b.boxed())
        }
        Err(_) => error_page(502),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_pages_look_like_albs() {
        let r = error_page(503);
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers()[header::SERVER], "awselb/2.0");
        let t = trace_id();
        assert!(t.starts_with("Root=1-") && t.len() == "Root=1-".len() + 8 + 1 + 24);
    }
}
