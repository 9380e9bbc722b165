//! Identifiers in AWS's formats.

use rand::Rng;
use sha2::{Digest as _, Sha256};

/// `prefix-` followed by 17 lowercase hex digits (`vpc-0a1b2c3d4e5f60718`).
pub fn resource_id(prefix: &str) -> String {
    let n: u128 = rand::thread_rng().gen();
    format!("{prefix}-{:017x}", n & ((1u128 << 68) - 1))
}

/// `len` random characters of `alphabet` (ASCII).
pub fn random_string(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char)
        .collect()
}

/// `len` characters of `[a-z0-9]` (the random label of VPC endpoint DNS names).
pub fn lower_alnum(len: usize) -> String {
    random_string(b"abcdefghijklmnopqrstuvwxyz0123456789", len)
}

const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// An access key id (`AKIA…`, `ASIA…`) that carries its account as AWS's have since 2019: the
/// 16 characters after the prefix are the base32 of 10 bytes whose first 6, read as a big-endian
/// number, hold the account in bits 7 to 46 (what GetAccessKeyInfo reads back).
pub fn access_key_id(prefix: &str, account: &str) -> String {
    let mut rng = rand::thread_rng();
    let account: u64 = account.parse().unwrap_or(0) & ((1 << 40) - 1);
    let head = (account << 7) | rng.gen_range(0..128) | (rng.gen_range(0..2u64) << 47);
    let mut bytes = [0u8; 10];
    bytes[..6].copy_from_slice(&head.to_be_bytes()[2..]);
    rng.fill(&mut bytes[6..]);
    let mut bits = u128::from_be_bytes({
        let mut b = [0u8; 16];
        b[6..].copy_from_slice(&bytes);
        b
    });
    let mut out = [0u8; 16];
    for c in out.iter_mut().rev() {
        *c = BASE32[(bits & 31) as usize];
        bits >>= 5;
    }
    format!("{prefix}{}", String::from_utf8_lossy(&out))
}

/// The account an access key id carries ([`access_key_id`]'s reading, as GetAccessKeyInfo does
/// for any key of AWS's format); `None` for an id that is not 20 characters of that alphabet.
pub fn account_of_key(id: &str) -> Option<String> {
    let rest = id.get(4..).filter(|r| r.len() == 16)?;
    let mut bits: u128 = 0;
    for c in rest.bytes() {
        let v = BASE32.iter().position(|b| *b == c)?;
        bits = (bits << 5) | v as u128;
    }
    let head = (bits >> 32) as u64;
    Some(format!("{:012}", (head & 0x7fff_ffff_ff80) >> 7))
}

/// IAM unique ids: a four-letter prefix (`AROA`, `AIDA`, `ANPA`, `AKIA`, `ASIA`) and 16 more
/// characters of `[A-Z2-7]`.
pub fn iam_id(prefix: &str) -> String {
    format!("{prefix}{}", random_string(BASE32, 16))
}

/// A secret access key: 40 characters of base64's alphabet.
pub fn secret_key() -> String {
    random_string(
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        40,
    )
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

    /// Keys carry their account in the bits AWS's decoding reads, whatever the random bits
    /// around it; ids of another shape carry none.
    #[test]
    fn access_key_ids_carry_their_account() {
        for account in [
            "123456789012",
            "000000000000",
            "999999999999",
            "000000000001",
        ] {
            for _ in 0..50 {
                let id = access_key_id("AKIA", account);
                assert_eq!(id.len(), 20);
                assert!(id[4..].bytes().all(|b| BASE32.contains(&b)), "{id}");
                assert_eq!(account_of_key(&id).as_deref(), Some(account), "{id}");
            }
        }
        // All zero bits but bit 7 of the 48: account 1 (the first 6 bytes are 00 00 00 00 00 80).
        assert_eq!(
            account_of_key("AKIAAAAAAAAAQAAAAAAA").as_deref(),
            Some("000000000001")
        );
        assert_eq!(
            account_of_key("AKIAAAAAAAAAAAAAAAAA").as_deref(),
            Some("000000000000")
        );
        assert_eq!(account_of_key("AKIA1AAAAAAAAAAAAAAA"), None);
        assert_eq!(account_of_key("AKIASHORT"), None);
    }
}
