//! Airlock's local certificate authority: it issues the certificates the emulated webservers
//! present. Kept in the store (so it survives restarts and `--ephemeral` works); users trust it
//! with `airlock ca > airlock-ca.pem`.

use airlock_store::{Record, Scope, Store};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio_rustls::rustls::ServerConfig;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaRecord {
    pub id: String,
    pub cert_pem: String,
    pub key_pem: String,
}

impl Record for CaRecord {
    const KIND: &'static str = "airlock.ca";
    fn id(&self) -> &str {
        &self.id
    }
}

const ID: &str = "local";

/// The CA, and the TLS configurations issued so far (per host name).
pub struct Ca {
    pub cert_pem: String,
    record: CaRecord,
    issuer: rcgen::Issuer<'static, KeyPair>,
    issued: Mutex<HashMap<String, Arc<ServerConfig>>>,
}

fn install_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

impl Ca {
    /// Loads the CA from the store, creating it on first use.
    pub fn load_or_create(store: &Store) -> anyhow_like::Result<Ca> {
        install_provider();
        let scope = Scope::new("", "");
        let record = match store.read(|v| v.get::<CaRecord>(&scope, ID)) {
            Some(r) => (*r).clone(),
            None => {
                let key = KeyPair::generate().map_err(anyhow_like::err)?;
                let mut params = CertificateParams::default();
                let mut dn = DistinguishedName::new();
                dn.push(DnType::CommonName, "Airlock Local CA");
                dn.push(DnType::OrganizationName, "Airlock");
                params.distinguished_name = dn;
                params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
                params.key_usages = vec![
                    KeyUsagePurpose::KeyCertSign,
                    KeyUsagePurpose::CrlSign,
                    KeyUsagePurpose::DigitalSignature,
                ];
                params.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(1);
                params.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(3650);
                let cert = params.self_signed(&key).map_err(anyhow_like::err)?;
                let r = CaRecord {
                    id: ID.into(),
                    cert_pem: cert.pem(),
                    key_pem: key.serialize_pem(),
                };
                let put = r.clone();
                store
                    .write(|tx| {
                        if let Some(existing) = tx.get::<CaRecord>(&scope, ID) {
                            return Ok::<_, airlock_protocol::ApiError>((*existing).clone());
                        }
                        tx.put(&scope, put.clone())?;
                        Ok(put)
                    })
                    .map_err(anyhow_like::err)?
            }
        };
        let key = KeyPair::from_pem(&record.key_pem).map_err(anyhow_like::err)?;
        let issuer =
            rcgen::Issuer::from_ca_cert_pem(&record.cert_pem, key).map_err(anyhow_like::err)?;
        Ok(Ca {
            cert_pem: record.cert_pem.clone(),
            record,
            issuer,
            issued: Mutex::new(HashMap::new()),
        })
    }

    /// Writes the CA back to `store` (after `POST /_airlock/reset` emptied it): the CA users
    /// trusted stays the CA.
    pub fn persist(&self, store: &Store) -> Result<(), airlock_protocol::ApiError> {
        store.write(|tx| {
            tx.put(&Scope::new("", ""), self.record.clone())
                .map_err(Into::into)
        })
    }

    /// A TLS server configuration with a certificate for `host`, issued by this CA.
    pub fn server_config(&self, host: &str) -> anyhow_like::Result<Arc<ServerConfig>> {
        if let Some(c) = self
            .issued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(host)
        {
            return Ok(c.clone());
        }
        let key = KeyPair::generate().map_err(anyhow_like::err)?;
        let mut params = CertificateParams::new(vec![host.to_owned()]).map_err(anyhow_like::err)?;
        params.distinguished_name.push(DnType::CommonName, host);
        params.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(1);
        params.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(395);
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(anyhow_like::err)?;
        let chain = vec![cert.der().clone()];
        let key_der = rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
        let mut config = ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(chain, key_der)
            .map_err(anyhow_like::err)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let config = Arc::new(config);
        self.issued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(host.to_owned(), config.clone());
        Ok(config)
    }
}

/// A small error type for this module (no anyhow in the network crate).
pub mod anyhow_like {
    pub type Result<T> = std::result::Result<T, String>;
    pub fn err(e: impl std::fmt::Display) -> String {
        e.to_string()
    }
}
