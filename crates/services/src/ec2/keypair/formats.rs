//! The key formats EC2 reads and writes: key generation (PEM, OpenSSH and PuTTY private keys),
//! the SSH wire encoding of public keys, fingerprints, and the parsing of imported public keys
//! (OpenSSH, RFC 4716, DER).

use crate::ids::colon_hex;
use airlock_protocol::ApiError;
use airlock_protocol::ApiResult;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use md5::Md5;
use rsa::pkcs1::EncodeRsaPrivateKey as _;
use rsa::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _};
use rsa::traits::{PrivateKeyParts as _, PublicKeyParts as _};
use rsa::BigUint;
use sha1::Sha1;
use sha2::{Digest as _, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KeyType {
    Rsa,
    Ed25519,
}

impl KeyType {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            KeyType::Rsa => "rsa",
            KeyType::Ed25519 => "ed25519",
        }
    }

    pub(super) fn ssh_name(self) -> &'static str {
        match self {
            KeyType::Rsa => "ssh-rsa",
            KeyType::Ed25519 => "ssh-ed25519",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KeyFormat {
    Pem,
    Ppk,
}

pub(super) struct Generated {
    /// The private key as the client receives it.
    pub(super) material: String,
    pub(super) fingerprint: String,
    /// OpenSSH public key line.
    pub(super) public_key: String,
}

pub(super) fn internal(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(format!("cannot {what}: {e}"))
}

pub(super) fn generate(key_type: KeyType, format: KeyFormat, name: &str) -> ApiResult<Generated> {
    let mut rng = rand::rngs::OsRng;
    match key_type {
        KeyType::Rsa => {
            let key = rsa::RsaPrivateKey::new(&mut rng, 2048)
                .map_err(|e| internal("generate an RSA key", e))?;
            let pkcs8 = key
                .to_pkcs8_der()
                .map_err(|e| internal("encode an RSA key", e))?;
            let fingerprint = colon_hex(&Sha1::digest(pkcs8.as_bytes()));
            let blob = rsa_public_blob(key.e(), key.n());
            let material = match format {
                KeyFormat::Pem => key
                    .to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)
                    .map_err(|e| internal("encode an RSA key", e))?
                    .trim_end()
                    .to_owned(),
                KeyFormat::Ppk => {
                    let iqmp = key
                        .crt_coefficient()
                        .ok_or_else(|| internal("encode an RSA key", "no CRT coefficient"))?;
                    let primes = key.primes();
                    let mut private = Vec::new();
                    put_mpint(&mut private, &key.d().to_bytes_be());
                    put_mpint(&mut private, &primes[0].to_bytes_be());
                    put_mpint(&mut private, &primes[1].to_bytes_be());
                    put_mpint(&mut private, &iqmp.to_bytes_be());
                    ppk_v3("ssh-rsa", name, &blob, &private)
                }
            };
            Ok(Generated {
                material,
                fingerprint,
                public_key: openssh_line("ssh-rsa", &blob, name),
            })
        }
        KeyType::Ed25519 => {
            let keypair = ssh_key::private::Ed25519Keypair::random(&mut rng);
            let blob = ed25519_public_blob(&keypair.public.0);
            let fingerprint = STANDARD.encode(Sha256::digest(&blob));
            let material = match format {
                KeyFormat::Pem => {
                    let private = ssh_key::PrivateKey::new(
                        ssh_key::private::KeypairData::Ed25519(keypair.clone()),
                        "",
                    )
                    .map_err(|e| internal("encode an ED25519 key", e))?;
                    private
                        .to_openssh(ssh_key::LineEnding::LF)
                        .map_err(|e| internal("encode an ED25519 key", e))?
                        .as_str()
                        .to_owned()
                }
                KeyFormat::Ppk => {
                    let mut private = Vec::new();
                    put_string(&mut private, keypair.private.as_ref());
                    ppk_v3("ssh-ed25519", name, &blob, &private)
                }
            };
            Ok(Generated {
                material,
                fingerprint,
                public_key: openssh_line("ssh-ed25519", &blob, name),
            })
        }
    }
}

/// A PuTTY private key file, format version 3, unencrypted (PuTTY 0.75 and later; what
/// `puttygen` writes by default). Its MAC is HMAC-SHA-256 with an empty key over the algorithm,
/// encryption, comment and both blobs, each as an SSH string.
pub(super) fn ppk_v3(
    algorithm: &str,
    comment: &str,
    public_blob: &[u8],
    private_blob: &[u8],
) -> String {
    let mut mac_data = Vec::new();
    put_string(&mut mac_data, algorithm.as_bytes());
    put_string(&mut mac_data, b"none");
    put_string(&mut mac_data, comment.as_bytes());
    put_string(&mut mac_data, public_blob);
    put_string(&mut mac_data, private_blob);
    let mut mac = Hmac::<Sha256>::new_from_slice(b"").expect("HMAC takes a key of any length");
    mac.update(&mac_data);
    let mac = mac.finalize().into_bytes();
    let public_lines = wrap64(&STANDARD.encode(public_blob));
    let private_lines = wrap64(&STANDARD.encode(private_blob));
    format!(
        "PuTTY-User-Key-File-3: {algorithm}\nEncryption: none\nComment: {comment}\n\
         Public-Lines: {}\n{}\nPrivate-Lines: {}\n{}\nPrivate-MAC: {}\n",
        public_lines.len(),
        public_lines.join("\n"),
        private_lines.len(),
        private_lines.join("\n"),
        hex::encode(mac)
    )
}

pub(super) fn wrap64(s: &str) -> Vec<String> {
    s.as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect()
}

// ------------------------------------------------------------------------------------------------
// SSH wire encoding

pub(super) fn put_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// An SSH `mpint` of a non-negative number given big-endian.
pub(super) fn put_mpint(out: &mut Vec<u8>, magnitude: &[u8]) {
    let start = magnitude
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(magnitude.len());
    let digits = &magnitude[start..];
    if digits.first().is_some_and(|b| b & 0x80 != 0) {
        out.extend_from_slice(&(digits.len() as u32 + 1).to_be_bytes());
        out.push(0);
        out.extend_from_slice(digits);
    } else {
        put_string(out, digits);
    }
}

pub(super) fn rsa_public_blob(e: &BigUint, n: &BigUint) -> Vec<u8> {
    let mut blob = Vec::new();
    put_string(&mut blob, b"ssh-rsa");
    put_mpint(&mut blob, &e.to_bytes_be());
    put_mpint(&mut blob, &n.to_bytes_be());
    blob
}

pub(super) fn ed25519_public_blob(public: &[u8; 32]) -> Vec<u8> {
    let mut blob = Vec::new();
    put_string(&mut blob, b"ssh-ed25519");
    put_string(&mut blob, public);
    blob
}

pub(super) fn openssh_line(algorithm: &str, blob: &[u8], comment: &str) -> String {
    format!("{algorithm} {} {comment}", STANDARD.encode(blob))
}

// ------------------------------------------------------------------------------------------------
// Public key import

/// An imported public key, reduced to what EC2 keeps.
pub(super) struct ParsedKey {
    pub(super) key_type: KeyType,
    /// The SSH public key blob (RFC 4253 encoding).
    pub(super) blob: Vec<u8>,
    /// RSA only: the key, for the DER-based fingerprint.
    pub(super) rsa: Option<rsa::RsaPublicKey>,
}

impl ParsedKey {
    pub(super) fn import_fingerprint(&self) -> String {
        match &self.rsa {
            Some(key) => {
                let der = key
                    .to_public_key_der()
                    .map(|d| d.as_bytes().to_vec())
                    .unwrap_or_default();
                colon_hex(&Md5::digest(der))
            }
            None => STANDARD.encode(Sha256::digest(&self.blob)),
        }
    }

    pub(super) fn rsa(n: &[u8], e: &[u8]) -> Option<ParsedKey> {
        let (n, e) = (BigUint::from_bytes_be(n), BigUint::from_bytes_be(e));
        if !(1024..=4096).contains(&n.bits()) {
            return None;
        }
        let key = rsa::RsaPublicKey::new_with_max_size(n, e, 4096).ok()?;
        let blob = rsa_public_blob(key.e(), key.n());
        Some(ParsedKey {
            key_type: KeyType::Rsa,
            blob,
            rsa: Some(key),
        })
    }

    pub(super) fn ed25519(public: &[u8]) -> Option<ParsedKey> {
        let public: [u8; 32] = public.try_into().ok()?;
        Some(ParsedKey {
            key_type: KeyType::Ed25519,
            blob: ed25519_public_blob(&public),
            rsa: None,
        })
    }

    pub(super) fn from_key_data(data: &ssh_key::public::KeyData) -> Option<ParsedKey> {
        match data {
            ssh_key::public::KeyData::Rsa(k) => {
                ParsedKey::rsa(k.n.as_positive_bytes()?, k.e.as_positive_bytes()?)
            }
            ssh_key::public::KeyData::Ed25519(k) => ParsedKey::ed25519(&k.0),
            _ => None,
        }
    }
}

/// Base64 with any whitespace (line breaks) ignored.
pub(super) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.is_empty() {
        return None;
    }
    STANDARD.decode(compact).ok()
}

/// OpenSSH (`ssh-rsa AAAA... comment`), RFC 4716 (`---- BEGIN SSH2 PUBLIC KEY ----`), or DER
/// (SubjectPublicKeyInfo or PKCS#1 RSAPublicKey), raw or as base64 text.
pub(super) fn parse_public_key(raw: &[u8]) -> Option<ParsedKey> {
    if raw.first() == Some(&0x30) {
        if let Some(key) = parse_der(raw) {
            return Some(key);
        }
    }
    let text = std::str::from_utf8(raw).ok()?.trim();
    if text.starts_with("---- BEGIN SSH2 PUBLIC KEY ----") {
        return parse_rfc4716(text);
    }
    if text.contains(char::is_whitespace) && !text.contains('\n') {
        let key = ssh_key::PublicKey::from_openssh(text).ok()?;
        return ParsedKey::from_key_data(key.key_data());
    }
    parse_der(&decode_base64(text)?)
}

pub(super) fn parse_rfc4716(text: &str) -> Option<ParsedKey> {
    let mut lines = text.lines().map(str::trim);
    lines.next()?; // BEGIN
    let mut body = String::new();
    let mut continued_header = false;
    let mut ended = false;
    for line in lines {
        if line == "---- END SSH2 PUBLIC KEY ----" {
            ended = true;
            break;
        }
        if continued_header {
            continued_header = line.ends_with('\\');
            continue;
        }
        if body.is_empty() && line.contains(':') {
            continued_header = line.ends_with('\\');
            continue;
        }
        body.push_str(line);
    }
    if !ended {
        return None;
    }
    let key = ssh_key::PublicKey::from_bytes(&decode_base64(&body)?).ok()?;
    ParsedKey::from_key_data(key.key_data())
}

pub(super) fn parse_der(der: &[u8]) -> Option<ParsedKey> {
    use rsa::pkcs8::der::Decode as _;
    const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
    const ED25519: &str = "1.3.101.112";
    if let Ok(spki) = rsa::pkcs8::SubjectPublicKeyInfoRef::from_der(der) {
        let bits = spki.subject_public_key.as_bytes()?;
        return match spki.algorithm.oid.to_string().as_str() {
            RSA_ENCRYPTION => {
                let key = rsa::pkcs1::RsaPublicKey::from_der(bits).ok()?;
                ParsedKey::rsa(key.modulus.as_bytes(), key.public_exponent.as_bytes())
            }
            ED25519 => ParsedKey::ed25519(bits),
            _ => None,
        };
    }
    let key = rsa::pkcs1::RsaPublicKey::from_der(der).ok()?;
    ParsedKey::rsa(key.modulus.as_bytes(), key.public_exponent.as_bytes())
}
