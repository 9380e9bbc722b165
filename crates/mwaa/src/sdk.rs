//! SDK clients from the standard chain, with MWAA's host prefixes made to work against a local
//! endpoint, and one way to turn an SDK error into a message.

use aws_config::{BehaviorVersion, Region};
use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_smithy_runtime_api::client::dns::{DnsFuture, ResolveDns, ResolveDnsError};
use aws_smithy_runtime_api::client::result::SdkError;
use std::net::{IpAddr, Ipv4Addr};

/// An EC2 describe filter with one value.
pub(crate) fn filter(name: &str, value: &str) -> aws_sdk_ec2::types::Filter {
    aws_sdk_ec2::types::Filter::builder()
        .name(name)
        .values(value)
        .build()
}

/// One client per service the procedure touches, all for one region.
#[derive(Clone)]
pub struct Clients {
    pub region: String,
    pub ec2: aws_sdk_ec2::Client,
    pub mwaa: aws_sdk_mwaa::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    pub acm: aws_sdk_acm::Client,
    pub iam: aws_sdk_iam::Client,
}

impl Clients {
    /// Clients from the standard chain (environment, profiles, SSO, `credential_process`,
    /// instance metadata); `region` and `profile` override the chain's.
    pub async fn from_env(region: Option<String>, profile: Option<String>) -> anyhow::Result<Self> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http_client());
        if let Some(p) = profile {
            loader = loader.profile_name(p);
        }
        if let Some(r) = region {
            loader = loader.region(Region::new(r));
        }
        Self::from_config(&loader.load().await)
    }

    pub fn from_config(config: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        let region = config.region().map(|r| r.to_string()).ok_or_else(|| {
            anyhow::anyhow!("no region: set AWS_REGION, a profile's region, or --region")
        })?;
        Ok(Clients {
            region,
            ec2: aws_sdk_ec2::Client::new(config),
            mwaa: aws_sdk_mwaa::Client::new(config),
            elb: aws_sdk_elasticloadbalancingv2::Client::new(config),
            acm: aws_sdk_acm::Client::new(config),
            iam: aws_sdk_iam::Client::new(config),
        })
    }
}

/// The SDK's HTTPS client, resolving names with [`HostPrefixes`].
pub fn http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .build_with_resolver(HostPrefixes)
}

/// The Rust SDK puts MWAA's host prefixes (`api.`, `env.`, `ops.`) in front of every endpoint
/// host and has no switch to stop it, so `AWS_ENDPOINT_URL=http://127.0.0.1:4566` becomes
/// `http://api.127.0.0.1:4566`. This resolver answers such a name with the address behind the
/// prefix (and `api.localhost` with loopback); every other name goes to the system resolver.
#[derive(Debug, Clone)]
pub struct HostPrefixes;

/// The address a prefixed endpoint host stands for: `api.127.0.0.1` → 127.0.0.1.
pub fn behind_prefix(name: &str) -> Option<IpAddr> {
    let rest = ["api.", "env.", "ops."]
        .iter()
        .find_map(|p| name.strip_prefix(p))?;
    if rest.eq_ignore_ascii_case("localhost") {
        return Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    rest.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

impl ResolveDns for HostPrefixes {
    fn resolve_dns<'a>(&'a self, name: &'a str) -> DnsFuture<'a> {
        if let Some(ip) = behind_prefix(name) {
            return DnsFuture::ready(Ok(vec![ip]));
        }
        DnsFuture::new(async move {
            let addrs = tokio::net::lookup_host((name, 0))
                .await
                .map_err(ResolveDnsError::new)?;
            Ok(addrs.map(|a| a.ip()).collect())
        })
    }
}

/// An SDK call's result with the error as AWS worded it: `Operation: Code: message`.
pub trait Aws<T> {
    fn aws(self, operation: &str) -> anyhow::Result<T>;
}

impl<T, E, R> Aws<T> for Result<T, SdkError<E, R>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    fn aws(self, operation: &str) -> anyhow::Result<T> {
        self.map_err(|e| match e.as_service_error() {
            Some(s) => anyhow::anyhow!(
                "{operation}: {}: {}",
                s.code().unwrap_or("error"),
                s.message().unwrap_or("")
            ),
            None => anyhow::anyhow!("{operation}: {}", DisplayErrorContext(&e)),
        })
    }
}

/// The error code of a failed SDK call, if AWS answered one.
pub fn code<T, E: ProvideErrorMetadata, R>(r: &Result<T, SdkError<E, R>>) -> Option<&str> {
    match r {
        Err(e) => e.as_service_error().and_then(|s| s.code()),
        Ok(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixed_local_endpoints_resolve_to_the_address_behind_the_prefix() {
        assert_eq!(
            behind_prefix("api.127.0.0.1"),
            Some("127.0.0.1".parse().unwrap())
        );
        assert_eq!(
            behind_prefix("env.127.0.0.2"),
            Some("127.0.0.2".parse().unwrap())
        );
        assert_eq!(behind_prefix("ops.[::1]"), Some("::1".parse().unwrap()));
        assert_eq!(
            behind_prefix("api.localhost"),
            Some("127.0.0.1".parse().unwrap())
        );
        // Real endpoints go to the system resolver.
        assert_eq!(behind_prefix("api.airflow.us-west-2.amazonaws.com"), None);
        assert_eq!(behind_prefix("127.0.0.1"), None);
        assert_eq!(behind_prefix("www.127.0.0.1"), None);
    }
}
