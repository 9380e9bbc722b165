//! Who is calling: SigV4 verification against the keys Airlock knows, and each protocol's
//! answer when it fails.

use crate::AppState;
use airlock_model::Protocol;
use airlock_protocol::sigv4::{self, AuthError, Claim};
use airlock_protocol::ApiError;
use airlock_services::{auth, Principal};
use time::OffsetDateTime;

/// The region requests without a signature act in (only with `--auth off`).
pub const UNSIGNED_REGION: &str = "us-east-1";

#[derive(Debug)]
pub struct Caller {
    pub principal: Principal,
    /// From the credential scope.
    pub region: String,
}

/// Verifies the request's signature (unless `--auth off`) and says who is calling. `service`
/// is the signing name of the service the request was routed to, which the credential scope
/// must name.
pub fn authenticate(
    state: &AppState,
    protocol: Protocol,
    service: &str,
    req: &sigv4::Request<'_>,
    claim: Result<Option<Claim<'_>>, AuthError>,
    now: OffsetDateTime,
) -> Result<Caller, ApiError> {
    let services = &state.config.services;
    if !state.config.auth {
        let claim = claim.ok().flatten();
        let key = claim.as_ref().map(|c| &*c.access_key_id).unwrap_or("test");
        let principal = auth::resolve(&state.store, services, key, now)
            .map(|c| c.principal)
            .unwrap_or_else(|| auth::unverified_principal(services, key));
        let region = claim
            .map(|c| c.region.into_owned())
            .unwrap_or_else(|| UNSIGNED_REGION.to_owned());
        return Ok(Caller { principal, region });
    }
    let claim = match claim {
        Ok(Some(c)) => c,
        Ok(None) => return Err(missing_token(protocol)),
        Err(e) => return Err(rejected(protocol, &e)),
    };
    let Some(creds) = auth::resolve(&state.store, services, &claim.access_key_id, now) else {
        return Err(unknown_key(protocol));
    };
    // A session key needs its token; a long-term key takes none (AWS refuses a token sent
    // with one as an invalid token).
    if creds.session_token.as_deref() != claim.security_token.as_deref() {
        return Err(unknown_key(protocol));
    }
    sigv4::require_signed_host(&claim).map_err(|e| rejected(protocol, &e))?;
    sigv4::require_scope_service(&claim, service).map_err(|e| rejected(protocol, &e))?;
    sigv4::require_region(&claim, auth::region_exists).map_err(|e| rejected(protocol, &e))?;
    sigv4::verify(req, &claim, &creds.secret_access_key, now)
        .map_err(|e| rejected(protocol, &e))?;
    Ok(Caller {
        principal: creds.principal,
        region: claim.region.into_owned(),
    })
}

fn missing_token(protocol: Protocol) -> ApiError {
    match protocol {
        Protocol::Ec2 => ApiError::new(
            "MissingAuthenticationToken",
            "The request must contain either a valid (registered) AWS access key ID or X.509 certificate.",
        )
        .with_status(401),
        Protocol::Query => {
            ApiError::new("MissingAuthenticationToken", "Request is missing Authentication Token").with_status(403)
        }
        Protocol::Json => ApiError::new("MissingAuthenticationTokenException", "Missing Authentication Token")
            .with_status(400),
        Protocol::RestJson => ApiError::new("MissingAuthenticationTokenException", "Missing Authentication Token")
            .with_status(403),
    }
}

fn unknown_key(protocol: Protocol) -> ApiError {
    match protocol {
        Protocol::Ec2 => ApiError::new(
            "AuthFailure",
            "AWS was not able to validate the provided access credentials",
        )
        .with_status(401),
        Protocol::Query => ApiError::new(
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        )
        .with_status(403),
        Protocol::Json => ApiError::new(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        )
        .with_status(400),
        Protocol::RestJson => ApiError::new(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        )
        .with_status(403),
    }
}

/// A signature that is malformed, wrong or out of its time window.
fn rejected(protocol: Protocol, e: &AuthError) -> ApiError {
    let message = e.to_string();
    let expired = matches!(e, AuthError::Skewed(_) | AuthError::Expired);
    let malformed = matches!(
        e,
        AuthError::Malformed(_) | AuthError::UnsupportedAlgorithm(_)
    );
    // A scope naming another date, region or service is a signature mismatch with its own
    // message (AWS's "Troubleshoot signed requests" page; STS answers SignatureDoesNotMatch,
    // JSON services InvalidSignatureException).
    let scope = matches!(e, AuthError::InvalidScope(_));
    match protocol {
        Protocol::Ec2 if expired => ApiError::new("RequestExpired", message).with_status(400),
        Protocol::Ec2 if malformed || scope => {
            ApiError::new("AuthFailure", message).with_status(401)
        }
        Protocol::Ec2 => unknown_key(protocol),
        Protocol::Query => {
            let code = if malformed {
                "IncompleteSignature"
            } else {
                "SignatureDoesNotMatch"
            };
            ApiError::new(code, message).with_status(403)
        }
        Protocol::Json => {
            let code = if malformed {
                "IncompleteSignatureException"
            } else {
                "InvalidSignatureException"
            };
            ApiError::new(code, message).with_status(400)
        }
        Protocol::RestJson => {
            let code = if malformed {
                "IncompleteSignatureException"
            } else {
                "InvalidSignatureException"
            };
            ApiError::new(code, message).with_status(403)
        }
    }
}
