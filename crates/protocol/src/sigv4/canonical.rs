//! The canonical request and the signing key: how a SigV4 signature is computed.

use super::*;

/// The hex signature of `req` as described by `claim` (everything but `claim.signature` is
/// used), with the canonical request of [`canonical_request`].
pub fn signature(req: &Request, claim: &Claim, secret: &str) -> String {
    let creq = canonical_request(req, claim);
    let sts = string_to_sign(claim, &creq);
    let key = signing_key(secret, &claim.date, &claim.region, &claim.service);
    hex::encode(hmac(&key, sts.as_bytes()))
}

/// The canonical request, in the form the AWS documentation and botocore produce (normalised,
/// twice-encoded path for services other than S3).
pub fn canonical_request(req: &Request, claim: &Claim) -> String {
    let uri = if claim.single_encodes_path() {
        single_encoded_uri(req.path)
    } else {
        encode_path(&remove_dot_segments(req.path))
    };
    let payload = payload_candidates(req, claim)[0];
    join_canonical(
        req.method,
        &uri,
        &canonical_query_string(req.query, claim.presigned),
        &canonical_headers(req, &claim.signed_headers),
        &claim.signed_headers.join(";"),
        payload,
    )
}

/// `AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256 of the canonical request>`.
pub fn string_to_sign(claim: &Claim, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{}\n{}\n{}",
        claim.amz_date,
        claim.scope(),
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    )
}

/// The hex SHA-256 of a request body, as `x-amz-content-sha256` carries it.
pub fn payload_sha256(body: &[u8]) -> String {
    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    if body.is_empty() {
        return EMPTY.to_owned();
    }
    let mut digest = [0u8; 64];
    let _ = hex::encode_to_slice(Sha256::digest(body), &mut digest);
    std::str::from_utf8(&digest).unwrap_or_default().to_owned()
}

/// The SigV4 signing key: HMAC chain of `"AWS4" + secret`, date, region, service, `aws4_request`.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    derive_signing_key(secret, date, region, service)
}

/// An HMAC keyed with the signing key, ready for the string to sign. A key only changes with the
/// day, so each thread keeps the last few it set up.
pub(super) fn keyed_hmac(secret: &str, date: &str, region: &str, service: &str) -> HmacSha256 {
    struct Cached {
        scope: [String; 4],
        mac: HmacSha256,
    }
    thread_local! {
        static KEYS: std::cell::RefCell<Vec<Cached>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let wanted = [secret, date, region, service];
    KEYS.with(|keys| {
        let mut keys = keys.borrow_mut();
        if let Some(c) = keys
            .iter()
            .find(|c| c.scope.iter().zip(wanted).all(|(a, b)| a == b))
        {
            return c.mac.clone();
        }
        let mac = hmac_new(&derive_signing_key(secret, date, region, service));
        if keys.len() >= 8 {
            keys.remove(0);
        }
        keys.push(Cached {
            scope: wanted.map(str::to_owned),
            mac: mac.clone(),
        });
        mac
    })
}

/// A path that every reading of the canonical URI rules leaves as it is.
pub(super) fn is_plain_path(path: &str) -> bool {
    path.starts_with('/')
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~' | b'/'))
        && !path.contains("//")
}

pub(super) fn derive_signing_key(
    secret: &str,
    date: &str,
    region: &str,
    service: &str,
) -> [u8; 32] {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, SCOPE_TERMINATOR.as_bytes())
}

pub(super) fn hmac_new(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail.
    HmacSha256::new_from_slice(key).expect("HMAC takes keys of any size")
}

pub(super) fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = hmac_new(key);
    mac.update(data);
    mac.finalize().into_bytes().into()
}

pub(super) fn join_canonical(
    method: &str,
    uri: &str,
    query: &str,
    headers: &str,
    signed_headers: &str,
    payload: &str,
) -> String {
    format!("{method}\n{uri}\n{query}\n{headers}\n{signed_headers}\n{payload}")
}

/// The payload hashes to try, most likely first.
pub(super) fn payload_candidates<'a>(req: &Request<'a>, claim: &Claim) -> Vec<&'a str> {
    if let Some(h) = req.header("x-amz-content-sha256") {
        return vec![h.trim()];
    }
    if claim.presigned {
        if claim.single_encodes_path() {
            vec![UNSIGNED_PAYLOAD, req.body_sha256]
        } else {
            vec![req.body_sha256, UNSIGNED_PAYLOAD]
        }
    } else {
        vec![req.body_sha256]
    }
}

/// Canonical headers: `name:value\n` for each signed header, values trimmed, inner whitespace
/// runs collapsed, repeats joined with `,`.
pub(super) fn canonical_headers(req: &Request, signed_headers: &[Cow<'_, str>]) -> String {
    let mut out = String::with_capacity(
        signed_headers.len() * 2
            + req
                .headers
                .iter()
                .map(|(n, v)| n.len() + v.len() + 2)
                .sum::<usize>(),
    );
    for name in signed_headers {
        out.push_str(name);
        out.push(':');
        let mut first = true;
        for value in req.header_values(name) {
            if !first {
                out.push(',');
            }
            first = false;
            let mut words = value.split_ascii_whitespace();
            if let Some(w) = words.next() {
                out.push_str(w);
                for w in words {
                    out.push(' ');
                    out.push_str(w);
                }
            }
        }
        out.push('\n');
    }
    out
}

/// Splits a raw query string into raw `(name, value)` pieces (empty pieces skipped).
pub(super) fn query_pairs(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
}

pub(super) fn decode(s: &str) -> Vec<u8> {
    percent_decode_str(s).collect()
}

pub(super) fn decode_lossy(s: &str) -> String {
    String::from_utf8_lossy(&decode(s)).into_owned()
}

pub(super) fn encode(bytes: &[u8]) -> String {
    percent_encode(bytes, SIGV4_ENCODE).to_string()
}

/// The canonical query string of a raw query: pairs decoded and re-encoded with the unreserved
/// set, sorted by name then value; `X-Amz-Signature` left out when `presigned`.
pub fn canonical_query_string(query: &str, presigned: bool) -> String {
    let mut pairs: Vec<(String, String)> = query_pairs(query)
        .map(|(n, v)| (decode(n), decode(v)))
        .filter(|(n, _)| !(presigned && n == b"X-Amz-Signature"))
        .map(|(n, v)| (encode(&n), encode(&v)))
        .collect();
    pairs.sort();
    let mut out = String::new();
    for (i, (n, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(n);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// S3's canonical URI: the path as sent.
pub(super) fn single_encoded_uri(path: &str) -> String {
    if path.is_empty() {
        "/".to_string()
    } else {
        path.to_string()
    }
}

/// Percent-encodes each `/`-separated segment of a (raw) path once more.
pub(super) fn encode_path(path: &str) -> String {
    if path.is_empty() {
        return "/".to_string();
    }
    path.split('/')
        .map(|segment| encode(segment.as_bytes()))
        .collect::<Vec<_>>()
        .join("/")
}

/// RFC 3986 dot-segment removal as the AWS documentation and botocore do it: empty segments
/// are dropped too (`//a//` is `/a/`), a trailing `/` is kept, and the empty path is `/`.
pub(super) fn remove_dot_segments(path: &str) -> String {
    let out = segments_without_dots(path);
    let trailing = path.ends_with('/') && !out.is_empty();
    let mut result = format!("/{}", out.join("/"));
    if trailing {
        result.push('/');
    }
    result
}

/// The AWS SDK for Rust's normalisation: paths without a `.` are left alone; others lose their
/// dot segments, empty segments and trailing `/`.
pub(super) fn rust_sdk_normalize(path: &str) -> String {
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    if !path.contains('.') {
        return path;
    }
    format!("/{}", segments_without_dots(&path).join("/"))
}

/// The segments of `path` without empty and `.` segments, each `..` taking the one before away.
fn segments_without_dots(path: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    out
}

/// How to make the canonical URIs clients may have signed for a raw path, the documented one
/// first.
pub(super) fn canonical_uri_candidates(single_encoded: bool) -> &'static [fn(&str) -> String] {
    if single_encoded {
        &[single_encoded_uri]
    } else {
        &[
            |p| encode_path(&remove_dot_segments(p)),
            |p| encode_path(&rust_sdk_normalize(p)),
            encode_path,
            // Clients that do not encode twice (e.g. curl's --aws-sigv4).
            single_encoded_uri,
        ]
    }
}
