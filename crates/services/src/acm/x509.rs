//! Certificates as ACM sees them: PEM parsing, what DescribeCertificate reports about a
//! certificate, ImportCertificate's checks, and the certificates RequestCertificate issues.
//!
//! Every check answers `ValidationException` (the exception class ACM's console shows for import
//! failures, `com.amazonaws.pki.acm.exceptions.external.ValidationException`). Messages, and where
//! they come from:
//! - "Unable to parse certificate. Please ensure the certificate is in PEM format.": the
//!   Knowledge Center article "acm-import-troubleshooting" (its current revision rewords it "Be
//!   sure that the certificate is in PEM format"; the older wording is what IAM's
//!   UploadServerCertificate answers, word for word, and what the article quoted first).
//! - "The certificate field contains more than one certificate. You can specify only one
//!   certificate in this field.": the same article, and real responses quoted in aws-cli#6569.
//! - "Provided certificate is not a valid self signed. Please provide either a valid self-signed
//!   certificate or certificate chain.", "Could not validate the certificate with the certificate
//!   chain." and "Unable to validate certificate chain. The certificate chain must start with the
//!   immediate signing certificate, followed by any intermediaries in order. The index within the
//!   chain of the invalid certificate is: N": console errors quoted in public write-ups, and the
//!   article (index 0 when the certificate itself is put first in the chain).
//! - "Your private key should not be encrypted.", "The private key is not supported.", "The
//!   private key length N is not supported for key algorithm.": the article.
//! - "Passed PEM was not a private key.": a real response quoted in a public script.
//! - The others (key mismatch, validity window, unsupported algorithm, key size, empty issuer,
//!   chain PEM) are unverified wordings in the same style.

use airlock_protocol::ApiError;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rsa::traits::PublicKeyParts as _;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::x509::{SubjectPublicKeyInfo, X509Name};

/// Private keys larger than this are refused (ImportCertificate's documentation).
pub const MAX_PRIVATE_KEY_BYTES: usize = 5120;

/// What ACM reports about a certificate, read once from the certificate when it is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    /// Subject CN, or the first SAN when there is no CN.
    pub domain_name: String,
    /// The SAN extension's names (the CN first when the SANs leave it out).
    pub sans: Vec<String>,
    /// Colon-separated lowercase hex (`0f:ac:b0:...`).
    pub serial: String,
    /// Bouncy Castle's rendering of the subject: RDNs in certificate order, `C=US,O=Org,CN=x`.
    pub subject: String,
    /// The issuer's O, or its CN when it has no O (what ACM shows for imports).
    pub issuer: String,
    /// Epoch seconds.
    pub not_before: i64,
    pub not_after: i64,
    /// ACM's enum spelling (`RSA_2048`, `EC_prime256v1`).
    pub key_algorithm: String,
    /// `SHA256WITHRSA`, `SHA384WITHECDSA`, ...
    pub signature_algorithm: String,
    /// `KeyUsageName`s; `ANY` when the certificate has no key usage extension.
    pub key_usages: Vec<String>,
    /// `(ExtendedKeyUsageName, OID)`; `(NONE, "")` when there is no EKU extension.
    pub extended_key_usages: Vec<(String, String)>,
}

/// A certificate that passed ImportCertificate's checks, normalised to PEM.
#[derive(Debug, Clone)]
pub struct Checked {
    pub certificate: String,
    pub chain: Vec<String>,
    pub private_key: String,
    pub info: Info,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new("ValidationException", message)
}

const UNPARSABLE: &str =
    "Unable to parse certificate. Please ensure the certificate is in PEM format.";
const MORE_THAN_ONE: &str = "The certificate field contains more than one certificate. You can specify only one certificate in this field.";
const NOT_SELF_SIGNED: &str = "Provided certificate is not a valid self signed. Please provide either a valid self-signed certificate or certificate chain.";
const CHAIN_MISMATCH: &str = "Could not validate the certificate with the certificate chain.";
const CHAIN_PEM: &str = "The certificate chain provided is not in a valid PEM format.";
const KEY_ENCRYPTED: &str = "Your private key should not be encrypted.";
const KEY_UNSUPPORTED: &str = "The private key is not supported.";
const KEY_NOT_A_KEY: &str = "Passed PEM was not a private key.";
const KEY_MISMATCH: &str = "The private key does not match the public key in the certificate.";
const ALGORITHM_UNSUPPORTED: &str = "The certificate key algorithm is not supported.";

fn chain_order(index: i64) -> ApiError {
    invalid(format!(
        "Unable to validate certificate chain. The certificate chain must start with the immediate signing certificate, followed by any intermediaries in order. The index within the chain of the invalid certificate is: {index}"
    ))
}

// ------------------------------------------------------------------------------------------------
// PEM

/// One `-----BEGIN X-----` ... `-----END X-----` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PemBlock {
    pub label: String,
    /// RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`).
    pub headers: Vec<(String, String)>,
    pub der: Vec<u8>,
}

/// The PEM blocks of `input`, ignoring text around them. `None` for bytes that are not text, a
/// block without its end line, or a body that is not base64.
pub fn pem_blocks(input: &[u8]) -> Option<Vec<PemBlock>> {
    let text = std::str::from_utf8(input).ok()?;
    let mut blocks = Vec::new();
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut headers = Vec::new();
        let mut body = String::new();
        let mut closed = false;
        for line in lines.by_ref() {
            if line == end {
                closed = true;
                break;
            }
            if body.is_empty() {
                if let Some((k, v)) = line.split_once(':') {
                    headers.push((k.trim().to_owned(), v.trim().to_owned()));
                    continue;
                }
            }
            body.push_str(line);
        }
        if !closed {
            return None;
        }
        let der = STANDARD.decode(body.as_bytes()).ok()?;
        blocks.push(PemBlock {
            label: label.to_owned(),
            headers,
            der,
        });
    }
    Some(blocks)
}

/// `der` as PEM with 64-column lines and a final newline.
pub fn to_pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn parse(der: &[u8]) -> Option<X509Certificate<'_>> {
    match x509_parser::parse_x509_certificate(der) {
        Ok(([], cert)) => Some(cert),
        _ => None,
    }
}

/// The DER of each certificate in a PEM certificate field (`None` when it is not PEM).
fn certificates(input: &[u8]) -> Option<Vec<Vec<u8>>> {
    let blocks = pem_blocks(input)?;
    Some(
        blocks
            .into_iter()
            .filter(|b| b.label == "CERTIFICATE")
            .map(|b| b.der)
            .collect(),
    )
}

// ------------------------------------------------------------------------------------------------
// What a certificate says

/// The key algorithm of a public key, in ACM's enum spelling, or why ACM refuses it.
fn key_algorithm(spki: &SubjectPublicKeyInfo<'_>) -> Result<String, ApiError> {
    match spki.algorithm.algorithm.to_id_string().as_str() {
        "1.2.840.113549.1.1.1" => {
            let Ok(x509_parser::public_key::PublicKey::RSA(rsa)) = spki.parsed() else {
                return Err(invalid(ALGORITHM_UNSUPPORTED));
            };
            let bits = bit_length(rsa.modulus);
            match bits {
                1024 | 2048 | 3072 | 4096 => Ok(format!("RSA_{bits}")),
                _ => Err(invalid(format!(
                    "The private key length {bits} is not supported for key algorithm."
                ))),
            }
        }
        "1.2.840.10045.2.1" => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string());
            match curve.as_deref() {
                Some("1.2.840.10045.3.1.7") => Ok("EC_prime256v1".into()),
                Some("1.3.132.0.34") => Ok("EC_secp384r1".into()),
                Some("1.3.132.0.35") => Ok("EC_secp521r1".into()),
                _ => Err(invalid(ALGORITHM_UNSUPPORTED)),
            }
        }
        _ => Err(invalid(ALGORITHM_UNSUPPORTED)),
    }
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|x| *x != 0).unwrap_or(b.len());
    &b[start..]
}

fn bit_length(be: &[u8]) -> usize {
    let b = strip_zeros(be);
    match b.first() {
        Some(first) => b.len() * 8 - first.leading_zeros() as usize,
        None => 0,
    }
}

/// `RSA_2048` → `RSA-2048` (DescribeCertificate's and ListCertificates' spelling).
pub fn hyphenated(key_algorithm: &str) -> String {
    key_algorithm.replacen('_', "-", 1)
}

fn signature_algorithm(oid: &str) -> String {
    match oid {
        "1.2.840.113549.1.1.4" => "MD5WITHRSA",
        "1.2.840.113549.1.1.5" => "SHA1WITHRSA",
        "1.2.840.113549.1.1.11" => "SHA256WITHRSA",
        "1.2.840.113549.1.1.12" => "SHA384WITHRSA",
        "1.2.840.113549.1.1.13" => "SHA512WITHRSA",
        "1.2.840.113549.1.1.10" => "SHA256WITHRSAANDMGF1",
        "1.2.840.10045.4.1" => "SHA1WITHECDSA",
        "1.2.840.10045.4.3.2" => "SHA256WITHECDSA",
        "1.2.840.10045.4.3.3" => "SHA384WITHECDSA",
        "1.2.840.10045.4.3.4" => "SHA512WITHECDSA",
        other => return other.to_owned(),
    }
    .to_owned()
}

/// Bouncy Castle's short name for a DN attribute (BCStyle), or the dotted OID.
fn attribute_name(oid: &str) -> String {
    match oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "STREET",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.5" => "SERIALNUMBER",
        "2.5.4.12" => "T",
        "2.5.4.4" => "SURNAME",
        "2.5.4.42" => "GIVENNAME",
        "2.5.4.43" => "INITIALS",
        "2.5.4.44" => "GENERATION",
        "2.5.4.46" => "DN",
        "2.5.4.65" => "PSEUDONYM",
        "2.5.4.17" => "PostalCode",
        "2.5.4.15" => "BusinessCategory",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        "1.2.840.113549.1.9.1" => "E",
        other => return other.to_owned(),
    }
    .to_owned()
}

fn escape_dn_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for (i, c) in v.chars().enumerate() {
        let edge = (i == 0 && (c == '#' || c == ' ')) || (i + 1 == v.chars().count() && c == ' ');
        if matches!(c, ',' | '"' | '\\' | '+' | '=' | '<' | '>' | ';') || edge {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn attribute_value(attr: &x509_parser::x509::AttributeTypeAndValue<'_>) -> String {
    match attr.as_str() {
        Ok(s) => s.to_owned(),
        Err(_) => String::from_utf8_lossy(attr.as_slice()).into_owned(),
    }
}

/// `C=US,ST=WA,O=Example,CN=www.example.com`.
pub fn render_name(name: &X509Name<'_>) -> String {
    name.iter()
        .map(|rdn| {
            rdn.iter()
                .map(|a| {
                    format!(
                        "{}={}",
                        attribute_name(&a.attr_type().to_id_string()),
                        escape_dn_value(&attribute_value(a))
                    )
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The subject common name of a DER certificate (a VPN client's name in the logs).
pub fn common_name_of(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    first_of(cert.subject(), "2.5.4.3")
}

fn first_of(name: &X509Name<'_>, oid: &str) -> Option<String> {
    name.iter_attributes()
        .find(|a| a.attr_type().to_id_string() == oid)
        .map(attribute_value)
        .filter(|v| !v.is_empty())
}

/// A serial number as colon-separated hex, without leading zero bytes (at least one byte).
fn colon_hex(bytes: &[u8]) -> String {
    let b = strip_zeros(bytes);
    crate::ids::colon_hex(if b.is_empty() { &[0u8][..] } else { b })
}

fn ip_string(b: &[u8]) -> Option<String> {
    match b.len() {
        4 => Some(std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string()),
        16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(b);
            Some(std::net::Ipv6Addr::from(a).to_string())
        }
        _ => None,
    }
}

const EKU_NAMES: &[(&str, &str)] = &[
    ("1.3.6.1.5.5.7.3.1", "TLS_WEB_SERVER_AUTHENTICATION"),
    ("1.3.6.1.5.5.7.3.2", "TLS_WEB_CLIENT_AUTHENTICATION"),
    ("1.3.6.1.5.5.7.3.3", "CODE_SIGNING"),
    ("1.3.6.1.5.5.7.3.4", "EMAIL_PROTECTION"),
    ("1.3.6.1.5.5.7.3.5", "IPSEC_END_SYSTEM"),
    ("1.3.6.1.5.5.7.3.6", "IPSEC_TUNNEL"),
    ("1.3.6.1.5.5.7.3.7", "IPSEC_USER"),
    ("1.3.6.1.5.5.7.3.8", "TIME_STAMPING"),
    ("1.3.6.1.5.5.7.3.9", "OCSP_SIGNING"),
    ("2.5.29.37.0", "ANY"),
];

fn extended_key_usages(cert: &X509Certificate<'_>) -> Vec<(String, String)> {
    let oids: Vec<String> = match cert.extended_key_usage() {
        Ok(Some(eku)) => {
            let e = eku.value;
            let mut v: Vec<String> = [
                (e.server_auth, "1.3.6.1.5.5.7.3.1"),
                (e.client_auth, "1.3.6.1.5.5.7.3.2"),
                (e.code_signing, "1.3.6.1.5.5.7.3.3"),
                (e.email_protection, "1.3.6.1.5.5.7.3.4"),
                (e.time_stamping, "1.3.6.1.5.5.7.3.8"),
                (e.ocsp_signing, "1.3.6.1.5.5.7.3.9"),
                (e.any, "2.5.29.37.0"),
            ]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, oid)| (*oid).to_owned())
            .collect();
            v.extend(e.other.iter().map(|o| o.to_id_string()));
            v
        }
        _ => return vec![("NONE".into(), String::new())],
    };
    oids.into_iter()
        .map(|oid| {
            let name = EKU_NAMES
                .iter()
                .find(|(o, _)| *o == oid)
                .map_or("CUSTOM", |(_, n)| n);
            (name.to_owned(), oid)
        })
        .collect()
}

fn key_usages(cert: &X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(ku)) = cert.key_usage() else {
        return vec!["ANY".into()];
    };
    let k = ku.value;
    [
        (k.digital_signature(), "DIGITAL_SIGNATURE"),
        (k.non_repudiation(), "NON_REPUDIATION"),
        (k.key_encipherment(), "KEY_ENCIPHERMENT"),
        (k.data_encipherment(), "DATA_ENCIPHERMENT"),
        (k.key_agreement(), "KEY_AGREEMENT"),
        (k.key_cert_sign(), "CERTIFICATE_SIGNING"),
        (k.crl_sign(), "CRL_SIGNING"),
        (k.encipher_only(), "ENCIPHER_ONLY"),
        (k.decipher_only(), "DECIPHER_ONLY"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, n)| (*n).to_owned())
    .collect()
}

/// What ACM reports about `cert` (whose key algorithm has been checked).
fn inspect(cert: &X509Certificate<'_>, key_algorithm: String) -> Result<Info, ApiError> {
    let cn = first_of(cert.subject(), "2.5.4.3");
    let mut sans: Vec<String> = Vec::new();
    let has_san_extension = matches!(cert.subject_alternative_name(), Ok(Some(_)));
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            let s = match n {
                GeneralName::DNSName(d) => Some((*d).to_owned()),
                GeneralName::IPAddress(ip) => ip_string(ip),
                _ => None,
            };
            if let Some(s) = s.filter(|s| !sans.contains(s)) {
                sans.push(s);
            }
        }
    }
    let domain_name = cn
        .clone()
        .or_else(|| sans.first().cloned())
        .ok_or_else(|| {
            invalid("The certificate must contain a domain name in its subject or subject alternative names.")
        })?;
    if let Some(cn) = &cn {
        if !has_san_extension || !sans.contains(cn) {
            sans.insert(0, cn.clone());
        }
    }
    let issuer = first_of(cert.issuer(), "2.5.4.10")
        .or_else(|| first_of(cert.issuer(), "2.5.4.3"))
        .or_else(|| {
            let r = render_name(cert.issuer());
            (!r.is_empty()).then_some(r)
        })
        .ok_or_else(|| invalid("The certificate issuer field must not be empty."))?;
    Ok(Info {
        domain_name,
        sans,
        serial: colon_hex(cert.raw_serial()),
        subject: render_name(cert.subject()),
        issuer,
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        key_algorithm,
        signature_algorithm: signature_algorithm(
            &cert.signature_algorithm.algorithm.to_id_string(),
        ),
        key_usages: key_usages(cert),
        extended_key_usages: extended_key_usages(cert),
    })
}

/// Reads back the facts of a stored certificate (PEM).
pub fn info_of(pem: &str) -> Option<Info> {
    let der = certificates(pem.as_bytes())?.into_iter().next()?;
    let cert = parse(&der)?;
    let alg = key_algorithm(cert.public_key()).ok()?;
    inspect(&cert, alg).ok()
}

// ------------------------------------------------------------------------------------------------
// Signatures and keys

/// Whether `child` names `parent` as its issuer and carries a valid signature by its key.
pub fn signed_by(child: &X509Certificate<'_>, parent: &X509Certificate<'_>) -> bool {
    let same_name = child.issuer().as_raw() == parent.subject().as_raw()
        || render_name(child.issuer()) == render_name(parent.subject());
    same_name
        && verify(
            parent.public_key(),
            &child.signature_algorithm.algorithm.to_id_string(),
            &child.signature_value.data,
            child.tbs_certificate.as_ref(),
        )
        .unwrap_or_else(|| child.verify_signature(Some(parent.public_key())).is_ok())
}

/// Checks a signature with aws-lc-rs; `None` for algorithms handled elsewhere (RSA-PSS, EdDSA).
fn verify(spki: &SubjectPublicKeyInfo<'_>, sig_oid: &str, sig: &[u8], msg: &[u8]) -> Option<bool> {
    use aws_lc_rs::signature::{self as s, VerificationAlgorithm};
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|o| o.to_id_string())
        .unwrap_or_default();
    let ec = |p256: &'static dyn VerificationAlgorithm,
              p384: &'static dyn VerificationAlgorithm,
              p521: &'static dyn VerificationAlgorithm|
     -> Option<&'static dyn VerificationAlgorithm> {
        match curve.as_str() {
            "1.2.840.10045.3.1.7" => Some(p256),
            "1.3.132.0.34" => Some(p384),
            "1.3.132.0.35" => Some(p521),
            _ => None,
        }
    };
    let alg: &'static dyn VerificationAlgorithm = match sig_oid {
        "1.2.840.113549.1.1.5" => &s::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
        "1.2.840.113549.1.1.11" => &s::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
        "1.2.840.113549.1.1.12" => &s::RSA_PKCS1_2048_8192_SHA384,
        "1.2.840.113549.1.1.13" => &s::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
        "1.2.840.10045.4.3.2" => ec(
            &s::ECDSA_P256_SHA256_ASN1,
            &s::ECDSA_P384_SHA256_ASN1,
            &s::ECDSA_P521_SHA256_ASN1,
        )?,
        "1.2.840.10045.4.3.3" => ec(
            &s::ECDSA_P256_SHA384_ASN1,
            &s::ECDSA_P384_SHA384_ASN1,
            &s::ECDSA_P521_SHA384_ASN1,
        )?,
        "1.2.840.10045.4.3.4" => ec(
            &s::ECDSA_P256_SHA512_ASN1,
            &s::ECDSA_P384_SHA512_ASN1,
            &s::ECDSA_P521_SHA512_ASN1,
        )?,
        _ => return None,
    };
    Some(
        s::UnparsedPublicKey::new(alg, &spki.subject_public_key.data)
            .verify(msg, sig)
            .is_ok(),
    )
}

/// The private key of an ImportCertificate request: checked to be a plain PEM key that belongs
/// to `cert`, and returned as PEM without any `EC PARAMETERS` block.
fn check_private_key(input: &[u8], cert: &X509Certificate<'_>) -> Result<String, ApiError> {
    if input.len() > MAX_PRIVATE_KEY_BYTES {
        return Err(invalid(format!(
            "The private key must be no larger than {MAX_PRIVATE_KEY_BYTES} bytes."
        )));
    }
    let blocks = pem_blocks(input).ok_or_else(|| invalid(KEY_UNSUPPORTED))?;
    let encrypted = blocks.iter().any(|b| {
        b.label == "ENCRYPTED PRIVATE KEY"
            || b.headers
                .iter()
                .any(|(k, v)| k.eq_ignore_ascii_case("Proc-Type") && v.contains("ENCRYPTED"))
    });
    if encrypted {
        return Err(invalid(KEY_ENCRYPTED));
    }
    let blocks: Vec<&PemBlock> = blocks
        .iter()
        .filter(|b| b.label != "EC PARAMETERS")
        .collect();
    let [block] = blocks.as_slice() else {
        return Err(invalid(if blocks.is_empty() {
            KEY_UNSUPPORTED
        } else {
            KEY_NOT_A_KEY
        }));
    };
    if !matches!(
        block.label.as_str(),
        "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY"
    ) {
        return Err(invalid(KEY_NOT_A_KEY));
    }
    let matches = match public_of(&block.label, &block.der)? {
        PublicOf::Rsa { n, e } => match cert.public_key().parsed() {
            Ok(x509_parser::public_key::PublicKey::RSA(k)) => {
                strip_zeros(k.modulus) == strip_zeros(&n)
                    && strip_zeros(k.exponent) == strip_zeros(&e)
            }
            _ => false,
        },
        PublicOf::Ec(der) => ec_public_key(&der, cert.public_key())
            .is_some_and(|p| p == cert.public_key().subject_public_key.data.as_ref()),
    };
    if !matches {
        return Err(invalid(KEY_MISMATCH));
    }
    Ok(to_pem(&block.label, &block.der))
}

enum PublicOf {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// An EC private key (SEC1 or PKCS#8), whose public point depends on the curve.
    Ec(Vec<u8>),
}

fn public_of(label: &str, der: &[u8]) -> Result<PublicOf, ApiError> {
    use rsa::pkcs1::DecodeRsaPrivateKey as _;
    use rsa::pkcs8::DecodePrivateKey as _;
    let rsa_key = |k: rsa::RsaPrivateKey| PublicOf::Rsa {
        n: k.n().to_bytes_be(),
        e: k.e().to_bytes_be(),
    };
    match label {
        "RSA PRIVATE KEY" => rsa::RsaPrivateKey::from_pkcs1_der(der)
            .map(rsa_key)
            .map_err(|_| invalid(KEY_UNSUPPORTED)),
        "EC PRIVATE KEY" => Ok(PublicOf::Ec(der.to_vec())),
        _ => {
            let info =
                rsa::pkcs8::PrivateKeyInfo::try_from(der).map_err(|_| invalid(KEY_UNSUPPORTED))?;
            match info.algorithm.oid.to_string().as_str() {
                "1.2.840.113549.1.1.1" => rsa::RsaPrivateKey::from_pkcs8_der(der)
                    .map(rsa_key)
                    .map_err(|_| invalid(KEY_UNSUPPORTED)),
                "1.2.840.10045.2.1" => Ok(PublicOf::Ec(der.to_vec())),
                // Ed25519, DSA, ...: a key ACM does not take, and not the certificate's.
                _ => Err(invalid(KEY_UNSUPPORTED)),
            }
        }
    }
}

/// The public point of an EC private key on the certificate's curve (`None` when it is not a
/// key on that curve).
fn ec_public_key(der: &[u8], spki: &SubjectPublicKeyInfo<'_>) -> Option<Vec<u8>> {
    use aws_lc_rs::signature::{self as s, EcdsaKeyPair, KeyPair as _};
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|o| o.to_id_string())?;
    let alg = match curve.as_str() {
        "1.2.840.10045.3.1.7" => &s::ECDSA_P256_SHA256_ASN1_SIGNING,
        "1.3.132.0.34" => &s::ECDSA_P384_SHA384_ASN1_SIGNING,
        "1.3.132.0.35" => &s::ECDSA_P521_SHA512_ASN1_SIGNING,
        _ => return None,
    };
    let pair = EcdsaKeyPair::from_private_key_der(alg, der).ok()?;
    Some(pair.public_key().as_ref().to_vec())
}

// ------------------------------------------------------------------------------------------------
// ImportCertificate

/// Runs ImportCertificate's checks on the decoded blobs, in this order: the certificate field
/// (PEM, one certificate, supported key, valid now, issuer), the private key, the chain.
pub fn check_import(
    certificate: &[u8],
    private_key: &[u8],
    chain: Option<&[u8]>,
    now: OffsetDateTime,
) -> Result<Checked, ApiError> {
    let ders = certificates(certificate).ok_or_else(|| invalid(UNPARSABLE))?;
    let der = match ders.as_slice() {
        [] => return Err(invalid(UNPARSABLE)),
        [one] => one,
        _ => return Err(invalid(MORE_THAN_ONE)),
    };
    let cert = parse(der).ok_or_else(|| invalid(UNPARSABLE))?;
    if cert.version().0 != 2 {
        return Err(invalid(
            "The certificate must be an X.509 version 3 certificate.",
        ));
    }
    let algorithm = key_algorithm(cert.public_key())?;
    let t = now.unix_timestamp();
    if t < cert.validity().not_before.timestamp() {
        return Err(invalid("The certificate is not valid yet."));
    }
    if t > cert.validity().not_after.timestamp() {
        return Err(invalid("The certificate has expired."));
    }
    let info = inspect(&cert, algorithm)?;
    let key = check_private_key(private_key, &cert)?;

    let chain_ders = match chain {
        None => Vec::new(),
        Some(c) => {
            let blocks = pem_blocks(c).ok_or_else(|| invalid(CHAIN_PEM))?;
            if blocks.is_empty() || blocks.iter().any(|b| b.label != "CERTIFICATE") {
                return Err(invalid(CHAIN_PEM));
            }
            blocks.into_iter().map(|b| b.der).collect()
        }
    };
    let mut parsed = Vec::with_capacity(chain_ders.len());
    for d in &chain_ders {
        parsed.push(parse(d).ok_or_else(|| invalid(CHAIN_PEM))?);
    }
    if parsed.is_empty() {
        if !signed_by(&cert, &cert) {
            return Err(invalid(NOT_SELF_SIGNED));
        }
    } else {
        // The certificate's issuer must be in the chain at all; then the chain must run in
        // order from it, each certificate signing the one before.
        if !parsed.iter().any(|p| signed_by(&cert, p)) {
            return Err(invalid(CHAIN_MISMATCH));
        }
        let mut previous = &cert;
        for (i, p) in parsed.iter().enumerate() {
            if !signed_by(previous, p) {
                return Err(chain_order(i as i64));
            }
            previous = p;
        }
    }
    Ok(Checked {
        certificate: to_pem("CERTIFICATE", der),
        chain: chain_ders
            .iter()
            .map(|d| to_pem("CERTIFICATE", d))
            .collect(),
        private_key: key,
        info,
    })
}

// ------------------------------------------------------------------------------------------------
// RequestCertificate

/// A certificate and key for a requested certificate, issued by Airlock's local CA `ca` (its
/// certificate is the chain): `CN=<domain>` with every name as a SAN, valid from `not_before` for 395 days (ACM's 13 months), RSA keys with digital
/// signature and key encipherment, EC keys with digital signature, server and client auth.
pub fn issue(
    domain: &str,
    names: &[String],
    key_algorithm: &str,
    not_before: OffsetDateTime,
    ca: &crate::ca::CaRecord,
) -> Result<Checked, ApiError> {
    use rcgen::{
        CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, KeyPair,
        KeyUsagePurpose, RsaKeySize, SerialNumber,
    };
    let fail = |e: rcgen::Error| ApiError::internal(format!("cannot issue a certificate: {e}"));
    let key = match key_algorithm {
        "EC_prime256v1" => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
        "EC_secp384r1" => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384),
        "RSA_3072" => KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, RsaKeySize::_3072),
        "RSA_4096" => KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, RsaKeySize::_4096),
        _ => KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, RsaKeySize::_2048),
    }
    .map_err(fail)?;
    let mut params = CertificateParams::new(names.to_vec()).map_err(fail)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, domain);
    params.distinguished_name = dn;
    params.not_before = not_before;
    params.not_after = not_before + time::Duration::days(395) - time::Duration::seconds(1);
    let mut serial: [u8; 16] = rand::random();
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    params.key_usages = if key_algorithm.starts_with("EC") {
        vec![KeyUsagePurpose::DigitalSignature]
    } else {
        vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ]
    };
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let ca_key = KeyPair::from_pem(&ca.key_pem).map_err(fail)?;
    let issuer = rcgen::Issuer::from_ca_cert_pem(&ca.cert_pem, ca_key).map_err(fail)?;
    let cert = params.signed_by(&key, &issuer).map_err(fail)?;
    let pem = cert.pem();
    let info = info_of(&pem)
        .ok_or_else(|| ApiError::internal("cannot read back an issued certificate"))?;
    Ok(Checked {
        certificate: pem,
        chain: vec![ca.cert_pem.clone()],
        private_key: key.serialize_pem(),
        info,
    })
}
