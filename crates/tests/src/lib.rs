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
    prefixed_config_as(server, "test", "test").await
}

/// [`prefixed_config`] signing with another access key.
pub async fn prefixed_config_as(server: &Running, key: &str, secret: &str) -> SdkConfig {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .build_with_resolver(ToAirlock(server.addr.ip()));
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(format!("http://{}", server.addr))
        .region(Region::new("us-west-2"))
        .credentials_provider(Credentials::new(key, secret, None, None, "airlock-tests"))
        .http_client(http)
        .load()
        .await
}

pub mod world;
pub use world::{LoadBalancer, Network, World};

/// How long [`wait_until`] waits by default: generous, so a loaded machine does not fail a test;
/// a condition that holds returns as soon as it is seen.
pub const DEADLINE: std::time::Duration = std::time::Duration::from_secs(20);

/// Polls `probe` every 20 ms until it answers `Ok`, and returns that value. `Err` carries what was
/// observed instead; past `deadline` the test fails naming `what` was awaited and the last
/// observed value. Use this instead of sleeping a tuned time before an assertion.
pub async fn wait_until<T, L, F, Fut>(what: &str, deadline: std::time::Duration, mut probe: F) -> T
where
    L: std::fmt::Debug,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, L>>,
{
    let end = tokio::time::Instant::now() + deadline;
    loop {
        match probe().await {
            Ok(v) => return v,
            Err(last) if tokio::time::Instant::now() >= end => {
                panic!("waited {deadline:?} for {what}; last observed: {last:?}")
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
        }
    }
}

/// `Ok(())` when `cond` holds, else `Err(last)`: the shape [`wait_until`] polls.
pub fn holds<L>(cond: bool, last: L) -> Result<(), L> {
    if cond {
        Ok(())
    } else {
        Err(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn wait_until_returns_the_value_once_the_condition_holds() {
        let mut n = 0;
        let got = wait_until("n to reach 3", DEADLINE, || {
            n += 1;
            let now = n;
            async move { holds(now >= 3, now).map(|()| now) }
        })
        .await;
        assert_eq!(got, 3);
    }

    #[tokio::test]
    #[should_panic(expected = "for never; last observed: \"still no\"")]
    async fn wait_until_names_what_it_awaited_and_the_last_value() {
        wait_until("never", Duration::from_millis(60), || async {
            holds(false, "still no")
        })
        .await
    }
}
