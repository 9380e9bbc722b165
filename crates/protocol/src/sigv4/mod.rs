//! AWS Signature Version 4: verifying what real clients sign (and signing, for tests and for
//! Airlock's own client side).
//!
//! Two forms exist, and both are handled:
//!
//! - the `Authorization` header:
//!   `AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request,
//!   SignedHeaders=host;x-amz-date, Signature=<64 hex>`, with the time in `X-Amz-Date` (or `Date`);
//! - presigned URLs, where the same facts travel as `X-Amz-Algorithm`, `X-Amz-Credential`,
//!   `X-Amz-Date`, `X-Amz-Expires`, `X-Amz-SignedHeaders`, `X-Amz-Signature` (and
//!   `X-Amz-Security-Token`) query parameters.
//!
//! The server calls [`parse`] to learn which access key signed the request, looks the secret up,
//! then calls [`verify`]. Every failure is an [`AuthError`] carrying the message AWS uses; mapping
//! it to a protocol's error code (`IncompleteSignature`, `SignatureDoesNotMatch`,
//! `InvalidSignatureException`, `AccessDenied`, ...) is the server's business.
//!
//! # How the canonical request is built
//!
//! - **URI**: for every service except S3 the SDKs normalise the path (`.`/`..` segments, and
//!   botocore also drops empty segments) and percent-encode the already-encoded path a second time
//!   (`%20` becomes `%2520`). S3 (`s3`, `s3-outposts`, `s3express`, `s3-object-lambda`) signs the
//!   path exactly as sent. Because clients differ in the details (botocore collapses `//`; the
//!   AWS SDK for Rust only normalises paths that contain a `.` and then also drops a trailing
//!   `/`; the newer AWS suite has services that do not normalise at all; curl's `--aws-sigv4`
//!   encodes only once), [`verify`] accepts any of these readings of the path, while
//!   [`signature`] and [`canonical_request`] produce the one the AWS documentation and botocore
//!   use.
//! - **Query**: each `name=value` pair is percent-decoded and re-encoded with the SigV4 unreserved
//!   set (`A-Z a-z 0-9 - _ . ~`), then sorted by name and value. A raw `+` is a literal `+`
//!   (`%2B`), never a space. Presigned requests leave `X-Amz-Signature` out.
//! - **Headers**: the signed header names, each with its values trimmed, inner runs of whitespace
//!   collapsed to one space, and repeated headers joined with `,`.
//! - **Payload**: the `x-amz-content-sha256` header when the request carries one (including
//!   `UNSIGNED-PAYLOAD` and the streaming markers), otherwise the body's SHA-256. Presigned
//!   requests without that header are accepted with either `UNSIGNED-PAYLOAD` (what S3 presigners
//!   use) or the body's hash (what the generic presigners, e.g. STS's, use).

use std::borrow::Cow;

use crate::HttpRequest;
use std::fmt;

use hmac::{Hmac, Mac};
use percent_encoding::{percent_decode_str, percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};
use time::format_description::FormatItem;
use time::macros::format_description;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

type HmacSha256 = Hmac<Sha256>;

/// The only algorithm SigV4 verification supports.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The payload hash a client puts in `x-amz-content-sha256` (and presigned S3 URLs use) when it
/// does not sign the body.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// The last element of every credential scope.
pub const SCOPE_TERMINATOR: &str = "aws4_request";
/// How far the request time may be from the server's clock, in either direction.
pub const MAX_SKEW: Duration = Duration::minutes(15);
/// The longest validity a presigned URL may ask for (`X-Amz-Expires`), in seconds: seven days.
pub const MAX_PRESIGNED_EXPIRES: u64 = 604_800;

/// `YYYYMMDDTHHMMSSZ`, the SigV4 timestamp.
const AMZ_DATE: &[FormatItem<'static>] =
    format_description!("[year][month][day]T[hour][minute][second]Z");
/// RFC 1123 dates, as in the HTTP `Date` header (`Sun, 30 Aug 2015 12:36:00 GMT`).
const HTTP_DATE: &[FormatItem<'static>] = format_description!(
    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
);

/// Everything outside SigV4's unreserved set (`A-Z a-z 0-9 - _ . ~`) gets percent-encoded.
const SIGV4_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The SHA-256 of an empty body, in hex.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// A received request, exactly as it came off the wire, with its body's hash (the server hashes
/// a body once, streaming ones as they are spooled). Reads as the [`HttpRequest`] it wraps.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Method, raw path and query, headers (include `Host`; for HTTP/2, the `:authority` value
    /// under the name `host`). The body itself is not read here.
    pub http: HttpRequest<'a>,
    /// SHA-256 of the body in lowercase hex; [`EMPTY_SHA256`] for no body.
    pub body_sha256: &'a str,
}

impl<'a> std::ops::Deref for Request<'a> {
    type Target = HttpRequest<'a>;
    fn deref(&self) -> &HttpRequest<'a> {
        &self.http
    }
}

impl<'a> Request<'a> {
    /// The query parameters, percent-decoded (a `+` stays a `+`), in the order received.
    pub fn query_params(&self) -> Vec<(String, String)> {
        query_pairs(self.query)
            .map(|(n, v)| (decode_lossy(n), decode_lossy(v)))
            .collect()
    }

    /// The first query parameter with this exact (decoded) name.
    fn query_param(&self, name: &str) -> Option<String> {
        query_pairs(self.query)
            .find(|(n, _)| decode(n) == name.as_bytes())
            .map(|(_, v)| decode_lossy(v))
    }
}

/// What the `Authorization` header (or the `X-Amz-*` query parameters of a presigned URL) claims.
/// Parts of the header are borrowed from the request; decoded query parameters are owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim<'a> {
    /// The access key ID, first element of the credential.
    pub access_key_id: Cow<'a, str>,
    /// The credential scope's date, `YYYYMMDD`.
    pub date: Cow<'a, str>,
    /// The credential scope's region, e.g. `us-east-1`.
    pub region: Cow<'a, str>,
    /// The credential scope's service signing name, e.g. `airflow`, `ec2`, `s3`.
    pub service: Cow<'a, str>,
    /// The signed header names, as listed by the client (lowercase, sorted, in practice).
    pub signed_headers: Vec<Cow<'a, str>>,
    /// The signature the client sent, hex.
    pub signature: Cow<'a, str>,
    /// The request time, `YYYYMMDDTHHMMSSZ` (converted from the `Date` header if that is what the
    /// request carried).
    pub amz_date: Cow<'a, str>,
    /// `X-Amz-Security-Token` (header, or query parameter when presigned), for session
    /// credentials.
    pub security_token: Option<Cow<'a, str>>,
    /// Whether this came from query parameters (a presigned URL) rather than the header.
    pub presigned: bool,
    /// `X-Amz-Expires` of a presigned URL, in seconds.
    pub expires: Option<u64>,
}

impl Claim<'_> {
    /// The claim with nothing borrowed from the request.
    pub fn into_owned(self) -> Claim<'static> {
        let own = |c: Cow<'_, str>| Cow::Owned(c.into_owned());
        Claim {
            access_key_id: own(self.access_key_id),
            date: own(self.date),
            region: own(self.region),
            service: own(self.service),
            signed_headers: self.signed_headers.into_iter().map(own).collect(),
            signature: own(self.signature),
            amz_date: own(self.amz_date),
            security_token: self.security_token.map(own),
            presigned: self.presigned,
            expires: self.expires,
        }
    }

    /// The credential scope: `date/region/service/aws4_request`.
    pub fn scope(&self) -> String {
        format!(
            "{}/{}/{}/{SCOPE_TERMINATOR}",
            self.date, self.region, self.service
        )
    }

    /// Whether `name` (any case) is among the signed headers.
    pub fn signs_header(&self, name: &str) -> bool {
        self.signed_headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name))
    }

    /// Whether `host` is signed, as AWS requires (see [`require_signed_host`]).
    pub fn host_is_signed(&self) -> bool {
        self.signs_header("host") || self.signs_header(":authority")
    }

    /// The `Authorization` header value for this claim (header form), e.g. after filling
    /// [`Claim::signature`] with [`signature`].
    pub fn authorization_header(&self) -> String {
        format!(
            "{ALGORITHM} Credential={}/{}, SignedHeaders={}, Signature={}",
            self.access_key_id,
            self.scope(),
            self.signed_headers.join(";"),
            self.signature
        )
    }

    /// Whether the scope names one of the services that sign the path as sent, without
    /// normalising or encoding it again (S3 and its relatives).
    pub fn single_encodes_path(&self) -> bool {
        matches!(
            &*self.service,
            "s3" | "s3-outposts" | "s3express" | "s3-object-lambda"
        )
    }
}

/// Why a request's SigV4 authentication failed. Each variant's [`AuthError::message`] is the
/// text AWS answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// The `Authorization` header or the presigning query parameters are incomplete or
    /// unparseable (AWS: `IncompleteSignature` / `IncompleteSignatureException`; S3:
    /// `AuthorizationHeaderMalformed` / `AuthorizationQueryParametersError`). The message is
    /// AWS's, e.g. "Authorization header requires 'Signature' parameter. Authorization=...".
    Malformed(String),
    /// An algorithm other than `AWS4-HMAC-SHA256` (e.g. SigV4a's `AWS4-ECDSA-P256-SHA256`).
    UnsupportedAlgorithm(String),
    /// The credential scope is inconsistent: its date is not the date of `X-Amz-Date`, it names
    /// another service than the one the request is for, or it does not end in `aws4_request`
    /// (AWS: `SignatureDoesNotMatch` / `InvalidSignatureException`; S3:
    /// `AuthorizationHeaderMalformed`).
    InvalidScope(String),
    /// The signature is not the one the secret key gives (AWS: `SignatureDoesNotMatch` /
    /// `InvalidSignatureException`).
    SignatureMismatch,
    /// The request time is more than 15 minutes away from the server's clock (AWS:
    /// `SignatureDoesNotMatch` / `InvalidSignatureException`; S3: `RequestTimeTooSkewed`). The
    /// message reads "Signature expired: 20260101T000000Z is now earlier than 20260101T001000Z
    /// (20260101T002500Z - 15 min.)".
    Skewed(String),
    /// A presigned URL used after `X-Amz-Date + X-Amz-Expires` (AWS: `AccessDenied` for S3,
    /// `SignatureDoesNotMatch`/`ExpiredToken`-style elsewhere).
    Expired,
    /// The signature is right but the `x-amz-content-sha256` header names a body hash other than
    /// the body received (S3: `XAmzContentSHA256Mismatch`). Only checked when the header is a
    /// hex hash, not `UNSIGNED-PAYLOAD` or a `STREAMING-...` marker.
    PayloadHashMismatch,
}

impl AuthError {
    /// AWS's message for the mismatch of signatures (services other than S3).
    pub const SIGNATURE_MISMATCH_MESSAGE: &'static str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";
    /// S3's wording of the same.
    pub const S3_SIGNATURE_MISMATCH_MESSAGE: &'static str = "The request signature we calculated does not match the signature you provided. Check your key and signing method.";
    /// AWS's message for an expired presigned URL.
    pub const EXPIRED_MESSAGE: &'static str = "Request has expired.";
    /// S3's message for an `x-amz-content-sha256` that is not the body's hash.
    pub const PAYLOAD_HASH_MISMATCH_MESSAGE: &'static str =
        "The provided 'x-amz-content-sha256' header does not match what was computed.";

    /// The message AWS puts in its error response.
    pub fn message(&self) -> &str {
        match self {
            AuthError::Malformed(m)
            | AuthError::UnsupportedAlgorithm(m)
            | AuthError::InvalidScope(m)
            | AuthError::Skewed(m) => m,
            AuthError::SignatureMismatch => Self::SIGNATURE_MISMATCH_MESSAGE,
            AuthError::Expired => Self::EXPIRED_MESSAGE,
            AuthError::PayloadHashMismatch => Self::PAYLOAD_HASH_MISMATCH_MESSAGE,
        }
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for AuthError {}

/// Parses the SigV4 claim of a request.
///
/// Returns `Ok(None)` when the request carries no SigV4 at all: no `Authorization` header and no
/// `X-Amz-Algorithm` query parameter. An `Authorization` header of another scheme (`Bearer`,
/// SigV2's `AWS AKID:sig`) is an error, as on AWS. This only checks syntax; the time window, the
/// scope date and the signature are [`verify`]'s.
pub fn parse<'a>(req: &Request<'a>) -> Result<Option<Claim<'a>>, AuthError> {
    let authorization = req.header("authorization");
    let query_algorithm = req.query_param("X-Amz-Algorithm");
    match (authorization, query_algorithm) {
        (Some(_), Some(_)) => Err(AuthError::Malformed(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified".to_string(),
        )),
        (Some(value), None) if req.header_values("authorization").nth(1).is_none() => {
            parse_header(req, value).map(Some)
        }
        (Some(_), None) => Err(repeated_authorization(req)),
        (None, Some(algorithm)) => parse_query(req, &algorithm).map(Some),
        (None, None) => Ok(None),
    }
}

/// Two or more `Authorization` headers. AWS reads them as one header, its values joined with
/// `,` (as HTTP allows), so the second `AWS4-HMAC-SHA256` is a parameter without `=`: the
/// error is that reading's, and any other second value is refused the same way.
fn repeated_authorization(req: &Request) -> AuthError {
    let values: Vec<&str> = req.header_values("authorization").map(str::trim).collect();
    let joined = values.join(",");
    if let Err(e) = parse_header(req, &joined) {
        return e;
    }
    let second = values[1].split_ascii_whitespace().next().unwrap_or("");
    AuthError::Malformed(format!(
        "'{second}' not a valid key=value pair (missing equal-sign) in Authorization header: '{joined}'."
    ))
}

fn parse_header<'a>(req: &Request<'a>, raw: &'a str) -> Result<Claim<'a>, AuthError> {
    let value = raw.trim();
    let (algorithm, rest) = match value.split_once(|c: char| c.is_ascii_whitespace()) {
        Some((a, r)) => (a, r),
        None => (value, ""),
    };
    if algorithm != ALGORITHM && algorithm.starts_with("AWS4-") {
        return Err(AuthError::UnsupportedAlgorithm(format!(
            "Unsupported AWS 'algorithm': '{algorithm}'"
        )));
    }

    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    if algorithm == ALGORITHM {
        for token in auth_params(rest) {
            let Some((key, val)) = token.split_once('=') else {
                return Err(AuthError::Malformed(format!(
                    "'{token}' not a valid key=value pair (missing equal-sign) in Authorization header: '{value}'."
                )));
            };
            match key {
                "Credential" => credential = Some(val),
                "SignedHeaders" => signed_headers = Some(val),
                "Signature" => signature = Some(val),
                _ => {}
            }
        }
    }

    let date = request_date(req)?;
    let mut missing = Vec::new();
    if credential.is_none() {
        missing.push("Authorization header requires 'Credential' parameter.");
    }
    if signature.is_none() {
        missing.push("Authorization header requires 'Signature' parameter.");
    }
    if signed_headers.is_none() {
        missing.push("Authorization header requires 'SignedHeaders' parameter.");
    }
    if date.is_none() {
        missing.push(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        );
    }
    if !missing.is_empty() {
        return Err(AuthError::Malformed(format!(
            "{} Authorization={value}",
            missing.join(" ")
        )));
    }
    let (credential, signed_headers, signature, amz_date) = (
        credential.unwrap_or_default(),
        signed_headers.unwrap_or_default(),
        signature.unwrap_or_default(),
        date.unwrap_or_default(),
    );
    let [access_key_id, scope_date, region, service] =
        parse_credential(credential)?.map(Cow::Borrowed);
    Ok(Claim {
        access_key_id,
        date: scope_date,
        region,
        service,
        signed_headers: split_signed_headers(signed_headers)
            .map(Cow::Borrowed)
            .collect(),
        signature: Cow::Borrowed(signature),
        amz_date,
        security_token: req
            .header("x-amz-security-token")
            .map(|t| Cow::Borrowed(t.trim())),
        presigned: false,
        expires: None,
    })
}

/// The pieces of `s` between commas and ASCII whitespace, empty ones left out (split on bytes:
/// the separators are ASCII, so every piece is whole UTF-8).
fn auth_params(s: &str) -> impl Iterator<Item = &str> {
    let bytes = s.as_bytes();
    let mut start = 0;
    (0..=bytes.len()).filter_map(move |i| {
        if i < bytes.len() && bytes[i] != b',' && !bytes[i].is_ascii_whitespace() {
            return None;
        }
        let piece = &s[start..i];
        start = i + 1;
        (!piece.is_empty()).then_some(piece)
    })
}

fn parse_query<'a>(req: &Request<'a>, algorithm: &str) -> Result<Claim<'a>, AuthError> {
    if algorithm != ALGORITHM {
        return Err(AuthError::UnsupportedAlgorithm(format!(
            "X-Amz-Algorithm only supports \"{ALGORITHM}\""
        )));
    }
    let credential = req.query_param("X-Amz-Credential");
    let signature = req.query_param("X-Amz-Signature");
    let signed_headers = req.query_param("X-Amz-SignedHeaders");
    let date = req.query_param("X-Amz-Date");
    let mut missing = Vec::new();
    for (name, value) in [
        ("X-Amz-Credential", &credential),
        ("X-Amz-Signature", &signature),
        ("X-Amz-SignedHeaders", &signed_headers),
        ("X-Amz-Date", &date),
    ] {
        if value.is_none() {
            missing.push(format!(
                "AWS query-string parameters must include '{name}'."
            ));
        }
    }
    if !missing.is_empty() {
        return Err(AuthError::Malformed(format!(
            "{} Re-examine the query-string parameters.",
            missing.join(" ")
        )));
    }
    let (credential, signature, signed_headers, date) = (
        credential.unwrap_or_default(),
        signature.unwrap_or_default(),
        signed_headers.unwrap_or_default(),
        date.unwrap_or_default(),
    );
    if parse_amz_date(&date).is_none() {
        return Err(AuthError::Malformed(bad_date_message(&date)));
    }
    let expires = match req.query_param("X-Amz-Expires") {
        None => None,
        Some(e) => {
            let digits = e.strip_prefix('-').unwrap_or(&e);
            let seconds: i64 = match e.parse() {
                Ok(n) => n,
                // Too many digits for a number of seconds: far more than a week either way.
                Err(_) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
                    if e.starts_with('-') {
                        -1
                    } else {
                        i64::MAX
                    }
                }
                Err(_) => {
                    return Err(AuthError::Malformed(
                        "X-Amz-Expires should be a number".to_string(),
                    ))
                }
            };
            if seconds < 0 {
                return Err(AuthError::Malformed(
                    "X-Amz-Expires must be non-negative".to_string(),
                ));
            }
            if seconds.unsigned_abs() > MAX_PRESIGNED_EXPIRES {
                return Err(AuthError::Malformed(format!(
                    "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than {MAX_PRESIGNED_EXPIRES} seconds"
                )));
            }
            Some(seconds.unsigned_abs())
        }
    };
    let own = |s: &str| Cow::Owned(s.to_owned());
    let [access_key_id, scope_date, region, service] = parse_credential(&credential)?.map(own);
    Ok(Claim {
        access_key_id,
        date: scope_date,
        region,
        service,
        signed_headers: split_signed_headers(&signed_headers).map(own).collect(),
        signature: Cow::Owned(signature),
        amz_date: Cow::Owned(date),
        security_token: req.query_param("X-Amz-Security-Token").map(Cow::Owned),
        presigned: true,
        expires,
    })
}

/// `AKID/YYYYMMDD/region/service/aws4_request` → its parts.
fn parse_credential(credential: &str) -> Result<[&str; 4], AuthError> {
    let mut parts = [""; 5];
    let mut n = 0;
    for p in credential.split('/') {
        if n < 5 {
            parts[n] = p;
        }
        n += 1;
    }
    if n != 5 || parts[..4].iter().any(|p| p.is_empty()) {
        return Err(AuthError::Malformed(format!(
            "Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/{SCOPE_TERMINATOR}\", got '{credential}'."
        )));
    }
    if parts[4] != SCOPE_TERMINATOR {
        return Err(AuthError::InvalidScope(format!(
            "Credential should be scoped with a valid terminator: '{SCOPE_TERMINATOR}', not '{}'.",
            parts[4]
        )));
    }
    Ok([parts[0], parts[1], parts[2], parts[3]])
}

fn split_signed_headers(list: &str) -> impl Iterator<Item = &str> {
    list.split(';').map(str::trim).filter(|h| !h.is_empty())
}

fn bad_date_message(value: &str) -> String {
    format!(
        "Date must be in ISO-8601 'basic format'. Got '{value}'. See http://en.wikipedia.org/wiki/ISO_8601"
    )
}

/// The request time of a header-signed request: `X-Amz-Date`, else `Date` (RFC 1123), as
/// `YYYYMMDDTHHMMSSZ`. `Ok(None)` when neither header is present.
fn request_date<'a>(req: &Request<'a>) -> Result<Option<Cow<'a, str>>, AuthError> {
    if let Some(v) = req.header("x-amz-date") {
        let v = v.trim();
        return match parse_amz_date(v) {
            Some(_) => Ok(Some(Cow::Borrowed(v))),
            None => Err(AuthError::Malformed(bad_date_message(v))),
        };
    }
    if let Some(v) = req.header("date") {
        let v = v.trim();
        return match PrimitiveDateTime::parse(v, HTTP_DATE) {
            Ok(t) => Ok(Some(Cow::Owned(format_amz_date(t.assume_utc())))),
            Err(_) => Err(AuthError::Malformed(bad_date_message(v))),
        };
    }
    Ok(None)
}

/// Parses a `YYYYMMDDTHHMMSSZ` timestamp.
pub fn parse_amz_date(value: &str) -> Option<OffsetDateTime> {
    let b = value.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u16> {
        b[r].iter().try_fold(0u16, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u16::from(c - b'0'))
        })
    };
    let month = time::Month::try_from(num(4..6)? as u8).ok()?;
    let date =
        time::Date::from_calendar_date(i32::from(num(0..4)?), month, num(6..8)? as u8).ok()?;
    let clock =
        time::Time::from_hms(num(9..11)? as u8, num(11..13)? as u8, num(13..15)? as u8).ok()?;
    Some(PrimitiveDateTime::new(date, clock).assume_utc())
}

/// Formats a time as `YYYYMMDDTHHMMSSZ` (in UTC).
pub fn format_amz_date(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(AMZ_DATE)
        .unwrap_or_default()
}

/// Checks the claim against the request: scope date, time window (15 minutes either way, or
/// `X-Amz-Expires` for presigned URLs) against `now`, then the signature, computed with the
/// secret key of `claim.access_key_id` and compared in constant time, and finally that a hex
/// `x-amz-content-sha256` header is the hash of the body received (`req.body_sha256`).
///
/// It does not check that `host` is signed, nor that the scope's region and service are the
/// ones the request was routed to; see [`require_signed_host`].
pub fn verify(
    req: &Request,
    claim: &Claim,
    secret_access_key: &str,
    now: OffsetDateTime,
) -> Result<(), AuthError> {
    let signed_at = parse_amz_date(&claim.amz_date)
        .ok_or_else(|| AuthError::Malformed(bad_date_message(&claim.amz_date)))?;
    let date_part = &claim.amz_date[..8];
    if claim.date != date_part {
        return Err(AuthError::InvalidScope(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{}'.",
            claim.date, date_part, claim.amz_date
        )));
    }
    check_time(claim, signed_at, now)?;
    // A signed header the request does not carry cannot have been signed with its value.
    if claim
        .signed_headers
        .iter()
        .any(|h| !h.eq_ignore_ascii_case(":authority") && req.header(h).is_none())
    {
        return Err(AuthError::SignatureMismatch);
    }

    let mut provided = [0u8; 32];
    if hex::decode_to_slice(claim.signature.as_bytes(), &mut provided).is_err() {
        return Err(AuthError::SignatureMismatch);
    }
    let keyed = keyed_hmac(
        secret_access_key,
        &claim.date,
        &claim.region,
        &claim.service,
    );
    let query = canonical_query_string(req.query, claim.presigned);
    let headers = canonical_headers(req, &claim.signed_headers);
    let signed = claim.signed_headers.join(";");
    let payloads = payload_candidates(req, claim);
    let mut creq = String::with_capacity(
        req.method.len() + req.path.len() * 2 + query.len() + headers.len() + signed.len() + 80,
    );
    let mut matches = |uri: &str| {
        payloads.iter().any(|payload| {
            creq.clear();
            for (i, part) in [req.method, uri, &query, &headers, &signed, payload]
                .into_iter()
                .enumerate()
            {
                if i > 0 {
                    creq.push('\n');
                }
                creq.push_str(part);
            }
            // The string to sign, fed to the MAC as it is made.
            let mut digest = [0u8; 64];
            let _ = hex::encode_to_slice(Sha256::digest(creq.as_bytes()), &mut digest);
            let mut mac = keyed.clone();
            for part in [
                ALGORITHM.as_bytes(),
                b"\n",
                claim.amz_date.as_bytes(),
                b"\n",
                claim.date.as_bytes(),
                b"/",
                claim.region.as_bytes(),
                b"/",
                claim.service.as_bytes(),
                b"/",
                SCOPE_TERMINATOR.as_bytes(),
                b"\n",
                &digest,
            ] {
                mac.update(part);
            }
            mac.verify_slice(&provided).is_ok()
        })
    };
    // A path of unreserved characters without dot or empty segments is its own canonical
    // URI, however a client reads the rules.
    if is_plain_path(req.path) {
        return if matches(req.path) {
            check_payload_hash(req)
        } else {
            Err(AuthError::SignatureMismatch)
        };
    }
    // The documented canonical URI first; the others only if it does not match.
    let mut tried: Vec<String> = Vec::new();
    for candidate in canonical_uri_candidates(claim.single_encodes_path()) {
        let uri = candidate(req.path);
        if tried.contains(&uri) {
            continue;
        }
        if matches(&uri) {
            return check_payload_hash(req);
        }
        tried.push(uri);
    }
    Err(AuthError::SignatureMismatch)
}

fn check_time(
    claim: &Claim,
    signed_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<(), AuthError> {
    let now = now.to_offset(time::UtcOffset::UTC);
    if let (true, Some(expires)) = (claim.presigned, claim.expires) {
        let expires = Duration::seconds(i64::try_from(expires).unwrap_or(i64::MAX));
        if now > signed_at + expires {
            return Err(AuthError::Expired);
        }
    } else if signed_at < now - MAX_SKEW {
        return Err(AuthError::Skewed(format!(
            "Signature expired: {} is now earlier than {} ({} - 15 min.)",
            claim.amz_date,
            format_amz_date(now - MAX_SKEW),
            format_amz_date(now)
        )));
    }
    if signed_at > now + MAX_SKEW {
        return Err(AuthError::Skewed(format!(
            "Signature expired: {} is now later than {} ({} + 15 min.)",
            claim.amz_date,
            format_amz_date(now + MAX_SKEW),
            format_amz_date(now)
        )));
    }
    Ok(())
}

/// A hex `x-amz-content-sha256` must be the hash of the body actually received, or a client
/// could sign one body and send another.
fn check_payload_hash(req: &Request) -> Result<(), AuthError> {
    match req.header("x-amz-content-sha256").map(str::trim) {
        Some(h)
            if h.len() == 64
                && h.bytes().all(|b| b.is_ascii_hexdigit())
                && !h.eq_ignore_ascii_case(req.body_sha256) =>
        {
            Err(AuthError::PayloadHashMismatch)
        }
        _ => Ok(()),
    }
}

/// `Ok` when the credential scope names `service` (the signing name of the service the request
/// was routed to); otherwise AWS's message, e.g. "Credential should be scoped to correct
/// service: 'ec2'. " (sic, with the trailing space).
pub fn require_scope_service(claim: &Claim, service: &str) -> Result<(), AuthError> {
    if claim.service == service {
        Ok(())
    } else {
        Err(AuthError::InvalidScope(format!(
            "Credential should be scoped to correct service: '{service}'. "
        )))
    }
}

/// `Ok` when the credential scope's region is one `exists` knows; otherwise AWS's message,
/// "Credential should be scoped to a valid region, not 'xx-fake-1'. ".
pub fn require_region(claim: &Claim, exists: impl Fn(&str) -> bool) -> Result<(), AuthError> {
    if exists(&claim.region) {
        Ok(())
    } else {
        Err(AuthError::InvalidScope(format!(
            "Credential should be scoped to a valid region, not '{}'. ",
            claim.region
        )))
    }
}

/// `Ok` when `host` is among the signed headers, as AWS requires; otherwise AWS's
/// `IncompleteSignature` message.
pub fn require_signed_host(claim: &Claim) -> Result<(), AuthError> {
    if claim.host_is_signed() {
        Ok(())
    } else {
        Err(AuthError::Malformed(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".to_string(),
        ))
    }
}

mod canonical;
pub mod chunked;
use canonical::*;
pub use canonical::{
    canonical_query_string, canonical_request, payload_sha256, signature, signing_key,
    string_to_sign,
};

#[cfg(test)]
mod tests;
