//! AWS's APIs inside a VPC: an interface endpoint to an AWS service that Airlock runs serves the
//! API port's requests on its interfaces' addresses, over TLS with a certificate from the local
//! CA for the service's names (`sts.us-west-2.amazonaws.com`, `*.<endpoint base name>`).
//!
//! This module ends TLS and says where the connection came from ([`Through`]: the endpoint, its
//! VPC and the client's address in it); the server's [`Handler`] runs the HTTP requests through
//! the same request path as the API port's.

use crate::accept;
use crate::ca::Ca;
use crate::source::Source;
use airlock_services::authz::Through;
use airlock_services::ec2::{fabric as model, vpce::VpcEndpoint};
use airlock_store::Scope;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

/// A decrypted connection to an endpoint.
pub type Stream = tokio_rustls::server::TlsStream<TcpStream>;

/// What serves the API on a decrypted connection (the server's request path); the future ends
/// with the connection.
pub type Handler =
    Arc<dyn Fn(Stream, Through) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

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
        let through = Through {
            scope: scope.clone(),
            endpoint: endpoint.clone(),
            vpc: e.vpc_id.clone(),
            vpc_source_ip: vpc_address(&source, peer),
            service,
        };
        let acceptor = acceptor.clone();
        let handler = handler.clone();
        async move {
            let _ = stream.set_nodelay(true);
            if let Ok(Ok(tls)) =
                tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
            {
                handler(tls, through).await;
            }
        }
    })
    .await
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
