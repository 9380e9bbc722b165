//! Identifiers in AWS's formats.

use rand::Rng;
use sha2::{Digest as _, Sha256};

/// `prefix-` followed by 17 lowercase hex digits (`vpc-0a1b2c3d4e5f60718`).
pub fn resource_id(prefix: &str) -> String {
    let n: u128 = rand::thread_rng().gen();
    format!("{prefix}-{:017x}", n & ((1u128 << 68) - 1))
}

/// `len` characters of `[a-z0-9]` (the random label of VPC endpoint DNS names).
pub fn lower_alnum(len: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect()
}

/// IAM unique ids: a four-letter prefix (`AROA`, `AIDA`, `ANPA`, `AKIA`, `ASIA`) and 16 more
/// characters of `[A-Z2-7]`.
pub fn iam_id(prefix: &str) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut rng = rand::thread_rng();
    let rest: String = (0..16)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect();
    format!("{prefix}{rest}")
}

/// A secret access key: 40 characters of base64's alphabet.
pub fn secret_key() -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut rng = rand::thread_rng();
    (0..40)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect()
}

/// A request id (a version 4 UUID), from the thread's generator: no system call per request.
pub fn request_id() -> String {
    let id = uuid::Builder::from_random_bytes(rand::thread_rng().gen()).into_uuid();
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    id.hyphenated().encode_lower(&mut buf).to_owned()
}

/// The first `len` lowercase hex digits of the SHA-256 of `s`: a stable id derived from a name
/// (prefix list ids, endpoint service ids, hosted zones).
pub fn hex_of(s: &str, len: usize) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))[..len].to_owned()
}

/// Bytes as colon-separated lowercase hex pairs (`0a:1b:2c`), as fingerprints and serial numbers
/// are written.
pub fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let id = resource_id("vpc");
        assert_eq!(id.len(), 21);
        assert!(id[4..]
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_eq!(iam_id("AROA").len(), 20);
        let rid = uuid::Uuid::parse_str(&request_id()).unwrap();
        assert_eq!(rid.get_version_num(), 4);
        assert_ne!(request_id(), request_id());
        assert_eq!(secret_key().len(), 40);
        assert!(lower_alnum(8)
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    }
}
