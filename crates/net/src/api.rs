//! AWS's APIs inside a VPC, over TLS with certificates from the local CA:
//!
//! - an interface endpoint to an AWS service that Airlock runs serves that service's API on its
//!   interfaces' addresses ([`serve`]; a certificate for the service's names,
//!   `sts.us-west-2.amazonaws.com`, and `*.<endpoint base name>`);
//! - AWS's public endpoints ([`Aws::connect`]): what a component inside a VPC reaches at
//!   [`model::AWS_PUBLIC`] (the address public DNS gives `sts.us-west-2.amazonaws.com`) when its
//!   subnet reaches the internet or a gateway endpoint; no socket, the bastion hands the
//!   connection over.
//!
//! This module ends TLS and says where the connection came from ([`Arrival`]: the endpoint, its
//! VPC and the client's address in it; or the gateway endpoints on the way and the public
//! address); the server's [`Handler`] runs the HTTP requests through the same request path as the
//! API port's.

use crate::accept;
use crate::ca::Ca;
use crate::source::Source;
use airlock_services::authz::{Arrival, Through};
use airlock_services::ec2::{fabric as model, vpce::VpcEndpoint};
use airlock_store::Scope;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;

/// A byte stream: a TCP connection, or the bastion's end of an in-process one.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

/// A decrypted connection to an endpoint.
pub type Stream = tokio_rustls::server::TlsStream<Box<dyn Io>>;

/// What serves the API on a decrypted connection (the server's request path); the future ends
/// with the connection.
pub type Handler =
    Arc<dyn Fn(Stream, Arrival) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// How long a client has to finish a TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// An endpoint's API listener: whose it is and what serves its requests.
pub struct Front {
    pub scope: Scope,
    /// The endpoint's id.
    pub endpoint: String,
    /// The service (botocore name) whose API it serves.
    pub service: &'static str,
    pub handler: Handler,
}

/// Serves `front` on `listener` (one of the endpoint's interfaces) until the task is aborted;
/// `admit` is the fabric's decision for the place.
pub async fn serve(
    listener: TcpListener,
    admit: impl Fn(SocketAddr) -> bool,
    source: Arc<Source>,
    ca: Arc<Ca>,
    front: Front,
) {
    let Front {
        scope,
        endpoint,
        service,
        handler,
    } = front;
    let Some(e) = source
        .store()
        .read(|v| v.get::<VpcEndpoint>(&scope, &endpoint))
    else {
        return;
    };
    if let Err(e) = ca.prepare(source.store()).await {
        tracing::warn!(target: "airlock::api", error = %e, "cannot set up the local CA");
        return;
    }
    let config = match ca.server_config(source.store(), &e.certificate_names()) {
        Ok(c) => c,
        Err(err) => {
            tracing::warn!(target: "airlock::api", endpoint, error = %err, "cannot issue the endpoint's certificate");
            return;
        }
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    accept::serve(listener, accept::UNLIMITED, admit, |stream, peer| {
        let arrival = Arrival {
            endpoint: Some(Through {
                scope: scope.clone(),
                endpoint: endpoint.clone(),
                vpc: e.vpc_id.clone(),
                vpc_source_ip: vpc_address(&source, peer),
                service,
            }),
            ..Arrival::default()
        };
        let acceptor = acceptor.clone();
        let handler = handler.clone();
        async move {
            let _ = stream.set_nodelay(true);
            let stream: Box<dyn Io> = Box::new(stream);
            if let Ok(Ok(tls)) =
                tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
            {
                handler(tls, arrival).await;
            }
        }
    })
    .await
}

/// AWS's public endpoints as the VPCs reach them.
#[derive(Clone)]
pub struct Aws {
    pub ca: Arc<Ca>,
    pub handler: Handler,
}

impl Aws {
    /// A connection to AWS's public endpoints on 443 that arrives as `arrival` says: the caller
    /// gets one end, and the API is served over TLS on the other until either closes.
    pub fn connect(&self, source: &Arc<Source>, arrival: Arrival) -> tokio::io::DuplexStream {
        let (near, far) = tokio::io::duplex(64 * 1024);
        let (ca, handler, source) = (self.ca.clone(), self.handler.clone(), source.clone());
        tokio::spawn(async move {
            if let Err(e) = ca.prepare(source.store()).await {
                tracing::warn!(target: "airlock::api", error = %e, "cannot set up the local CA");
                return;
            }
            let config = match ca.server_config(source.store(), &public_names()) {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(target: "airlock::api", error = %e, "cannot issue the public endpoints' certificate");
                    return;
                }
            };
            let stream: Box<dyn Io> = Box::new(far);
            let acceptor = tokio_rustls::TlsAcceptor::from(config);
            if let Ok(Ok(tls)) =
                tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
            {
                handler(tls, arrival).await;
            }
        });
        near
    }
}

/// The names AWS's public endpoints' certificate holds: every regional endpoint of the
/// services Airlock runs (`*.<region>.amazonaws.com`, `*.airflow.<region>.amazonaws.com`,
/// `*.s3.<region>.amazonaws.com`, in China's regions `amazonaws.com.cn`) and the global ones.
fn public_names() -> Vec<String> {
    let mut names = vec![
        "*.amazonaws.com".to_owned(),
        "*.s3.amazonaws.com".to_owned(),
    ];
    for r in airlock_services::auth::REGIONS {
        let d = airlock_services::partition::dns_suffix(r);
        names.push(format!("*.{r}.{d}"));
        names.push(format!("*.airflow.{r}.{d}"));
        names.push(format!("*.s3.{r}.{d}"));
    }
    names
}

/// The address in its VPC of a peer that connected through the fabric.
fn vpc_address(source: &Source, peer: SocketAddr) -> Option<std::net::Ipv4Addr> {
    let IpAddr::V4(ip) = peer.ip() else {
        return None;
    };
    source
        .store()
        .read(|v| model::vpc_address(v, ip))
        .map(|(_, _, ip)| ip)
}
