//! AWS Certificate Manager (awsJson 1.1, `X-Amz-Target: CertificateManager.*`).
//! (Being written; see the task. Keep the signatures of `certificate_usable` and `set_in_use`:
//! ELBv2 calls them.)

use crate::Ctx;
use airlock_protocol::ApiResult;
use airlock_store::{Kind, Scope, Tx};
use serde_json::Value;

pub fn record_kinds() -> Vec<Kind> {
    vec![]
}

pub fn call(_ctx: &Ctx<'_>, _op: &str, _input: &Value) -> Option<ApiResult<Value>> {
    None
}

/// Whether `arn` names an ISSUED certificate of this account and region (what an ELB listener
/// may use; anything else is ELBv2's `CertificateNotFound`).
pub fn certificate_usable(_tx: &Tx<'_>, _scope: &Scope, _arn: &str) -> bool {
    false
}

/// Records that `user` (a listener or load balancer ARN) uses the certificate `arn` (or stops
/// using it): `InUseBy` in DescribeCertificate, and DeleteCertificate's `ResourceInUseException`.
pub fn set_in_use(_tx: &mut Tx<'_>, _scope: &Scope, _arn: &str, _user: &str, _in_use: bool) -> ApiResult<()> {
    Ok(())
}

/// The certificate chain and private key (PEM) of `arn`, for the load balancers' TLS.
pub fn key_material(_tx: &Tx<'_>, _scope: &Scope, _arn: &str) -> Option<(String, String)> {
    None
}
