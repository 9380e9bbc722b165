//! Shared helpers for the integration tests: an in-process Airlock on a loopback port and AWS SDK
//! clients pointed at it.

use airlock_server::{Running, ServerConfig};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use std::net::SocketAddr;

/// Starts an ephemeral Airlock on 127.0.0.1 (a free port) with signature verification on.
pub async fn start() -> Running {
    start_with(ServerConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        dns_listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        ..ServerConfig::default()
    })
    .await
}

/// Every server a test binary starts gets its own fabric slots, so tests running side by side
/// never bind the same loopback addresses.
fn own_slots() -> std::ops::RangeInclusive<u8> {
    static NEXT: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);
    let block = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 60;
    let start = 10 + block * 4;
    start..=start + 3
}

pub async fn start_with(mut config: ServerConfig) -> Running {
    if config.services.fabric_slots == (1..=254) {
        config.services.fabric_slots = own_slots();
    }
    airlock_server::start(config).await.expect("airlock starts")
}

/// SDK configuration for `server` with the given keys and region.
pub async fn sdk_config(
    server: &Running,
    key: &str,
    secret: &str,
    token: Option<String>,
    region: &str,
) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(format!("http://{}", server.addr))
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new(key, secret, token, None, "airlock-tests"))
        .load()
        .await
}

/// The default `test`/`test` credentials in us-west-2.
pub async fn default_config(server: &Running) -> SdkConfig {
    sdk_config(server, "test", "test", None, "us-west-2").await
}

/// Resolves every name to Airlock's address. The Rust SDK always puts MWAA's host prefixes
/// (`api.`, `env.`, `ops.`) in front of the endpoint host and has no switch to stop it, so
/// `http://127.0.0.1:PORT` becomes `http://api.127.0.0.1:PORT`; this resolver sends those names
/// back to the server.
#[derive(Debug, Clone)]
pub struct ToAirlock(pub std::net::IpAddr);

impl aws_smithy_runtime_api::client::dns::ResolveDns for ToAirlock {
    fn resolve_dns<'a>(
        &'a self,
        _name: &'a str,
    ) -> aws_smithy_runtime_api::client::dns::DnsFuture<'a> {
        aws_smithy_runtime_api::client::dns::DnsFuture::ready(Ok(vec![self.0]))
    }
}

/// SDK configuration whose HTTP client resolves every host to the server (for MWAA).
pub async fn prefixed_config(server: &Running) -> SdkConfig {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .build_with_resolver(ToAirlock(server.addr.ip()));
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(format!("http://{}", server.addr))
        .region(Region::new("us-west-2"))
        .credentials_provider(Credentials::new(
            "test",
            "test",
            None,
            None,
            "airlock-tests",
        ))
        .http_client(http)
        .load()
        .await
}
