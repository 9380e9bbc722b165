//! The local certificate authority ([`airlock_services::ca`]) as the webservers use it: TLS
//! configurations with certificates it issues, per host name.

use airlock_store::Store;
use rcgen::{CertificateParams, DnType, KeyPair};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio_rustls::rustls::ServerConfig;

pub use airlock_services::ca::CaRecord;

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
        let record = airlock_services::ca::ensure(store).map_err(anyhow_like::err)?;
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
            tx.put(&airlock_services::ca::scope(), self.record.clone())
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
