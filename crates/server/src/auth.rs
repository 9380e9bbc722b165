//! Who is calling: SigV4 verification against the keys Airlock knows, and each protocol's
//! answer when it fails.

use crate::AppState;
use airlock_model::Protocol;
use airlock_protocol::sigv4::chunked::{
    ChunkDecoder, STREAMING_PAYLOAD, STREAMING_UNSIGNED_TRAILER,
};
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
    /// The decoder of an `aws-chunked` body (`x-amz-content-sha256: STREAMING-...`), seeded
    /// with the request's verified signature.
    pub chunks: Option<ChunkDecoder>,
}

/// The decoder an `aws-chunked` body needs: signed chunks verified from the seed signature
/// (`verified`: the claim and secret), or read unverified with authentication off.
fn chunk_decoder(
    req: &sigv4::Request<'_>,
    verified: Option<(&Claim<'_>, &str)>,
) -> Option<ChunkDecoder> {
    let marker = req.header("x-amz-content-sha256")?.trim();
    if marker == STREAMING_UNSIGNED_TRAILER {
        return Some(ChunkDecoder::unsigned());
    }
    if !marker.starts_with(STREAMING_PAYLOAD) {
        return None;
    }
    Some(match verified {
        Some((claim, secret)) if marker == STREAMING_PAYLOAD => ChunkDecoder::new(claim, secret),
        _ => ChunkDecoder::unverified(),
    })
}

/// Verifies the request's signature (unless `--auth off`) and says who is calling. `service`
/// is the signing name of the service the request was routed to, which the credential scope
/// must name. An operation that takes unsigned requests (`unsigned`: its model says
/// `authtype: none`) answers an unsigned one as nobody: the operation itself decides.
pub fn authenticate(
    state: &AppState,
    protocol: Protocol,
    service: &str,
    unsigned: bool,
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
        return Ok(Caller {
            principal,
            region,
            chunks: chunk_decoder(req, None),
        });
    }
    let claim = match claim {
        Ok(Some(c)) => c,
        Ok(None) if unsigned => {
            return Ok(Caller {
                principal: auth::anonymous(),
                region: UNSIGNED_REGION.to_owned(),
                chunks: None,
            })
        }
        Ok(None) if protocol == Protocol::RestXml => return presigned_v2(state, req, now),
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
        chunks: chunk_decoder(req, Some((&claim, &creds.secret_access_key))),
        principal: creds.principal,
        region: claim.region.into_owned(),
    })
}

/// S3's legacy presigned URLs (SigV2 query-string authentication, what the AWS CLI v1's
/// `aws s3 presign` makes). They carry no region: the request acts in us-east-1.
fn presigned_v2(
    state: &AppState,
    req: &sigv4::Request<'_>,
    now: OffsetDateTime,
) -> Result<Caller, ApiError> {
    let Some(claim) = airlock_protocol::sigv2::parse(req.query) else {
        return Err(missing_token(Protocol::RestXml));
    };
    let Some(creds) = auth::resolve(
        &state.store,
        &state.config.services,
        &claim.access_key_id,
        now,
    ) else {
        return Err(unknown_key(Protocol::RestXml));
    };
    let http = airlock_protocol::HttpRequest {
        method: req.method,
        path: req.path,
        query: req.query,
        headers: req.headers,
        body: &[],
    };
    match airlock_protocol::sigv2::verify(&http, &claim, &creds.secret_access_key, now) {
        Ok(()) => Ok(Caller {
            principal: creds.principal,
            region: UNSIGNED_REGION.to_owned(),
            chunks: None,
        }),
        Err(airlock_protocol::sigv2::Error::Expired) => {
            Err(ApiError::new("AccessDenied", "Request has expired").with_status(403))
        }
        Err(airlock_protocol::sigv2::Error::SignatureMismatch) => {
            Err(rejected(Protocol::RestXml, &AuthError::SignatureMismatch))
        }
    }
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
        Protocol::RestXml => ApiError::new("AccessDenied", "Access Denied").with_status(403),
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
        Protocol::RestXml => ApiError::new(
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
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
        Protocol::RestXml if matches!(e, AuthError::PayloadHashMismatch) => ApiError::new(
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        )
        .with_status(400),
        Protocol::RestXml if expired => {
            ApiError::new("RequestTimeTooSkewed", message).with_status(403)
        }
        Protocol::RestXml if malformed => {
            ApiError::new("AuthorizationHeaderMalformed", message).with_status(400)
        }
        Protocol::RestXml => ApiError::new(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        )
        .with_status(403),
    }
}
