//! The local certificate authority ([`airlock_services::ca`]) as the webservers use it: TLS
//! configurations with certificates it issues, per set of host names.

use airlock_store::Store;
use rcgen::{CertificateParams, DnType, KeyPair};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use tokio_rustls::rustls::ServerConfig;

pub use airlock_services::ca::CaRecord;

/// The CA, loaded from the store (or created) on first use, and the TLS configurations issued so
/// far (per host name). Loading is lazy because creating a CA means generating an RSA key: a
/// server that never serves a webserver or issues a certificate never pays for one, and a fresh
/// `--ephemeral` server answers its first request without waiting for it.
#[derive(Default)]
pub struct Ca {
    loaded: OnceLock<Loaded>,
    issued: Mutex<HashMap<Vec<String>, Arc<ServerConfig>>>,
}

struct Loaded {
    record: CaRecord,
    issuer: rcgen::Issuer<'static, KeyPair>,
}

fn install_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

impl Ca {
    pub fn new() -> Ca {
        install_provider();
        Ca::default()
    }

    fn loaded(&self, store: &Store) -> anyhow_like::Result<&Loaded> {
        if let Some(l) = self.loaded.get() {
            return Ok(l);
        }
        let record = airlock_services::ca::ensure(store).map_err(anyhow_like::err)?;
        let key = KeyPair::from_pem(&record.key_pem).map_err(anyhow_like::err)?;
        let issuer =
            rcgen::Issuer::from_ca_cert_pem(&record.cert_pem, key).map_err(anyhow_like::err)?;
        // Two first uses at once load the same stored record; either result will do.
        Ok(self.loaded.get_or_init(|| Loaded { record, issuer }))
    }

    /// Loads the CA before it is needed (a webserver about to accept connections), generating a
    /// new key on the blocking pool rather than on the caller's event loop. The generation holds
    /// no reference to the store, so a server that stops meanwhile releases its data directory.
    pub async fn prepare(&self, store: &Store) -> anyhow_like::Result<()> {
        if self.loaded.get().is_none() && airlock_services::ca::stored(store).is_none() {
            let made = tokio::task::spawn_blocking(airlock_services::ca::create)
                .await
                .map_err(anyhow_like::err)?
                .map_err(anyhow_like::err)?;
            airlock_services::ca::adopt(store, made).map_err(anyhow_like::err)?;
        }
        self.loaded(store).map(|_| ())
    }

    /// The CA certificate (PEM), what users trust.
    pub fn cert_pem(&self, store: &Store) -> anyhow_like::Result<String> {
        Ok(self.loaded(store)?.record.cert_pem.clone())
    }

    /// Writes the CA back to `store` (after `POST /_airlock/reset` emptied it): the CA users
    /// trusted stays the CA.
    pub fn persist(&self, store: &Store) -> Result<(), airlock_protocol::ApiError> {
        let Some(l) = self.loaded.get() else {
            return Ok(());
        };
        store.write(|tx| {
            tx.put(&airlock_services::ca::scope(), l.record.clone())
                .map_err(Into::into)
        })
    }

    /// A TLS server configuration with a certificate for `names` (the first is its subject's
    /// common name; wildcards allowed), issued by this CA.
    pub fn server_config(
        &self,
        store: &Store,
        names: &[String],
    ) -> anyhow_like::Result<Arc<ServerConfig>> {
        if let Some(c) = self
            .issued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(names)
        {
            return Ok(c.clone());
        }
        let first = names.first().ok_or("a certificate needs a name")?;
        let issuer = &self.loaded(store)?.issuer;
        let key = KeyPair::generate().map_err(anyhow_like::err)?;
        let mut params = CertificateParams::new(names.to_vec()).map_err(anyhow_like::err)?;
        params.distinguished_name.push(DnType::CommonName, first);
        params.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(1);
        params.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(395);
        let cert = params.signed_by(&key, issuer).map_err(anyhow_like::err)?;
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
            .insert(names.to_vec(), config.clone());
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
