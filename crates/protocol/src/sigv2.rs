//! S3's legacy query-string authentication (Signature Version 2 presigned URLs:
//! `?AWSAccessKeyId=..&Expires=..&Signature=..`), which the AWS CLI v1's `aws s3 presign` and
//! older SDKs still produce. Only the presigned form is read; SigV2 `Authorization` headers are
//! not accepted.

use crate::rest::virtual_host_bucket;
use base64::Engine;
use hmac::{Hmac, Mac};
use time::OffsetDateTime;

/// A SigV2 presigned URL's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub access_key_id: String,
    pub signature: String,
    /// Seconds since the epoch.
    pub expires: i64,
}

/// Why a SigV2 presigned request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    Expired,
    SignatureMismatch,
}

/// The query parameters that are part of the string to sign (S3's sub-resources and response
/// overrides).
const SUBRESOURCES: &[&str] = &[
    "acl",
    "cors",
    "delete",
    "lifecycle",
    "location",
    "logging",
    "notification",
    "partNumber",
    "policy",
    "publicAccessBlock",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
];

/// The SigV2 presigned parameters of a query string, if it has all three.
pub fn parse(raw_query: &str) -> Option<Claim> {
    let (mut key, mut sig, mut expires) = (None, None, None);
    for (k, v) in form_urlencoded::parse(raw_query.as_bytes()) {
        match &*k {
            "AWSAccessKeyId" => key = Some(v.into_owned()),
            "Signature" => sig = Some(v.into_owned()),
            "Expires" => expires = v.parse::<i64>().ok(),
            _ => {}
        }
    }
    Some(Claim {
        access_key_id: key?,
        signature: sig?,
        expires: expires?,
    })
}

/// The string a SigV2 presigned request signs.
fn string_to_sign(req: &crate::HttpRequest<'_>, expires: i64) -> String {
    let header = |n: &str| req.header(n).unwrap_or("").trim().to_owned();
    let mut amz: Vec<(String, String)> = req
        .headers
        .iter()
        .filter(|(k, _)| k.to_ascii_lowercase().starts_with("x-amz-"))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    amz.sort();
    let mut resource = String::new();
    if let Some(bucket) = req.header("host").and_then(virtual_host_bucket) {
        resource.push('/');
        resource.push_str(bucket);
    }
    resource.push_str(req.path);
    let mut sub: Vec<(String, String)> = form_urlencoded::parse(req.query.as_bytes())
        .into_owned()
        .filter(|(k, _)| SUBRESOURCES.contains(&k.as_str()))
        .collect();
    sub.sort();
    for (i, (k, v)) in sub.iter().enumerate() {
        resource.push(if i == 0 { '?' } else { '&' });
        resource.push_str(k);
        if !v.is_empty() {
            resource.push('=');
            resource.push_str(v);
        }
    }
    let mut sts = format!(
        "{}\n{}\n{}\n{expires}\n",
        req.method,
        header("content-md5"),
        header("content-type")
    );
    for (k, v) in amz {
        sts.push_str(&k);
        sts.push(':');
        sts.push_str(&v);
        sts.push('\n');
    }
    sts.push_str(&resource);
    sts
}

/// Checks a SigV2 presigned request: not expired at `now`, signed with `secret`.
pub fn verify(
    req: &crate::HttpRequest<'_>,
    claim: &Claim,
    secret: &str,
    now: OffsetDateTime,
) -> Result<(), Error> {
    if now.unix_timestamp() > claim.expires {
        return Err(Error::Expired);
    }
    let provided = base64::engine::general_purpose::STANDARD
        .decode(&claim.signature)
        .map_err(|_| Error::SignatureMismatch)?;
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes())
        .map_err(|_| Error::SignatureMismatch)?;
    mac.update(string_to_sign(req, claim.expires).as_bytes());
    mac.verify_slice(&provided)
        .map_err(|_| Error::SignatureMismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The S3 Developer Guide's example ("Query string request authentication alternative"):
    /// GET /photos/puppy.jpg on the virtual-hosted bucket johnsmith, expiring 1175139620.
    #[test]
    fn aws_example_verifies() {
        let headers = [("Host", "johnsmith.s3.amazonaws.com")];
        let req = crate::HttpRequest {
            method: "GET",
            path: "/photos/puppy.jpg",
            query: "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139620&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D",
            headers: &headers,
            body: b"",
        };
        let claim = parse(req.query).unwrap();
        assert_eq!(claim.expires, 1175139620);
        let then = OffsetDateTime::from_unix_timestamp(1175139600).unwrap();
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        assert_eq!(verify(&req, &claim, secret, then), Ok(()));
        assert_eq!(
            verify(&req, &claim, "wrong", then),
            Err(Error::SignatureMismatch)
        );
        let later = OffsetDateTime::from_unix_timestamp(1175139621).unwrap();
        assert_eq!(verify(&req, &claim, secret, later), Err(Error::Expired));
    }
}
