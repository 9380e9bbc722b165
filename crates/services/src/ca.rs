//! Airlock's local certificate authority: one key and self-signed certificate, kept in the store
//! (so it survives restarts and users trust it once, with `airlock ca > airlock-ca.pem`). The
//! environments' webservers present certificates it issues, and so do certificates requested
//! from ACM once validated.

use airlock_protocol::ApiError;
use airlock_store::{Scope, Store};
use rcgen::{BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaRecord {
    pub id: String,
    pub cert_pem: String,
    pub key_pem: String,
}

airlock_store::record!(CaRecord, "airlock.ca", id);

/// The record's id; it lives in the empty scope.
pub const ID: &str = "local";

pub fn scope() -> Scope {
    Scope::new("", "")
}

/// A new CA: an RSA key and its self-signed certificate (slow: the key takes up to a few
/// hundred milliseconds; callers with an event loop run it off the loop).
pub fn create() -> Result<CaRecord, ApiError> {
    let fail = |e: rcgen::Error| ApiError::internal(format!("cannot create the local CA: {e}"));
    // RSA, as the Amazon CA behind most ACM certificates (so requested RSA certificates show
    // `SHA256WITHRSA`, as on AWS).
    let key = KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
        .map_err(fail)?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "Airlock Local CA");
    dn.push(DnType::OrganizationName, "Airlock");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(3650);
    let cert = params.self_signed(&key).map_err(fail)?;
    Ok(CaRecord {
        id: ID.into(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// The stored CA, if there is one yet.
pub fn stored(store: &Store) -> Option<CaRecord> {
    store
        .read(|v| v.get::<CaRecord>(&scope(), ID))
        .map(|r| (*r).clone())
}

/// The CA, created (and stored) on first use.
pub fn ensure(store: &Store) -> Result<CaRecord, ApiError> {
    match stored(store) {
        Some(r) => Ok(r),
        None => adopt(store, create()?),
    }
}

/// Stores `made` as the CA unless one was stored meanwhile; the stored one.
pub fn adopt(store: &Store, made: CaRecord) -> Result<CaRecord, ApiError> {
    store.write(|tx| {
        if let Some(existing) = tx.get::<CaRecord>(&scope(), ID) {
            return Ok((*existing).clone());
        }
        tx.put(&scope(), made.clone())?;
        Ok(made)
    })
}
