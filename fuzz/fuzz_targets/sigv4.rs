//! Fuzzes SigV4 as a request meets it before anyone is authenticated: the bytes are an HTTP
//! request (`airlock_fuzz::HttpRequest`: request line, headers, body), parsed for a claim in the
//! `Authorization` header or the presigned `X-Amz-*` query parameters, and a claim is verified
//! with the default credentials' secret (`test`, which anyone can sign with) at the claim's own
//! time, so the canonical request and the signature are computed for every claim that parses.
#![no_main]

use airlock_fuzz::HttpRequest;
use airlock_protocol::sigv4;
use libfuzzer_sys::fuzz_target;
use time::OffsetDateTime;

fuzz_target!(|data: &[u8]| {
    let http = HttpRequest::parse(data);
    let headers: Vec<(&str, &str)> = http
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let body_sha256 = sigv4::payload_sha256(&http.body);
    let req = sigv4::Request {
        http: airlock_protocol::HttpRequest {
            method: &http.method,
            path: &http.path,
            query: &http.query,
            headers: &headers,
            body: &http.body,
        },
        body_sha256: &body_sha256,
    };
    let _ = req.query_params();
    let Ok(Some(claim)) = sigv4::parse(&req) else {
        return;
    };
    let _ = sigv4::require_signed_host(&claim);
    let _ = claim.authorization_header();
    let now = sigv4::parse_amz_date(&claim.amz_date).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let _ = sigv4::verify(&req, &claim, airlock_services::auth::DEFAULT_SECRET, now);
    // Also a server clock far from the claim's time (the window and expiry checks' errors).
    let _ = sigv4::verify(&req, &claim, "test", OffsetDateTime::UNIX_EPOCH);
});
