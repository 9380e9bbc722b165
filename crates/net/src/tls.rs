//! TLS for load balancers: listeners present their ACM certificates (chosen by SNI, read from the
//! state at each handshake so a re-import or a new listener certificate applies at once), and
//! connections to HTTPS and TLS targets accept whatever certificate the target shows, as ELB does.

use crate::source::Source;
use airlock_services::acm;
use airlock_services::elbv2::{listeners::Listener, ssl};
use airlock_store::Scope;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, DigitallySignedStruct, ServerConfig, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

fn provider() -> Arc<CryptoProvider> {
    static P: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    P.get_or_init(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .clone()
}

/// One certificate as loaded for rustls, with what it was loaded from (to notice re-imports).
struct Loaded {
    from: acm::Served,
    key: Arc<CertifiedKey>,
}

/// The certificates of one listener, resolved at each handshake.
pub struct ListenerCerts {
    source: Arc<Source>,
    scope: Scope,
    listener: String,
    loaded: Mutex<HashMap<String, Arc<Loaded>>>,
}

impl std::fmt::Debug for ListenerCerts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListenerCerts")
            .field("listener", &self.listener)
            .finish()
    }
}

/// Whether certificate name `pattern` (possibly `*.example.com`) covers host `name`.
pub fn name_matches(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.to_ascii_lowercase(), name.to_ascii_lowercase());
    match p.strip_prefix("*.") {
        Some(rest) => n
            .split_once('.')
            .is_some_and(|(first, tail)| !first.is_empty() && tail == rest),
        None => p == n,
    }
}

fn load(served: &acm::Served) -> Option<Arc<CertifiedKey>> {
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(served.chain.as_bytes())
            .collect::<Result<_, _>>()
            .ok()?;
    let key = PrivateKeyDer::from_pem_slice(served.key.as_bytes()).ok()?;
    let signer = provider().key_provider.load_private_key(key).ok()?;
    Some(Arc::new(CertifiedKey::new(chain, signer)))
}

impl ListenerCerts {
    pub fn new(source: Arc<Source>, scope: Scope, listener: String) -> Arc<ListenerCerts> {
        Arc::new(ListenerCerts {
            source,
            scope,
            listener,
            loaded: Mutex::new(HashMap::new()),
        })
    }

    /// The certificate for a client asking for `sni`: one whose names cover it exactly, else
    /// one whose wildcard covers it, else the listener's default certificate.
    fn pick(&self, sni: Option<&str>) -> Option<Arc<CertifiedKey>> {
        let clock = self.source.clock();
        let served: Vec<(String, acm::Served)> = (*self.source.store).as_ref().read(|v| {
            let Some(l) = v.get::<Listener>(&self.scope, &self.listener) else {
                return Vec::new();
            };
            l.certificates()
                .into_iter()
                .filter_map(|arn| acm::served(v, &self.scope, &arn, clock).map(|s| (arn, s)))
                .collect()
        });
        let exact = |(_, s): &&(String, acm::Served)| {
            sni.is_some_and(|n| {
                s.names
                    .iter()
                    .any(|p| !p.starts_with("*.") && name_matches(p, n))
            })
        };
        let wild = |(_, s): &&(String, acm::Served)| {
            sni.is_some_and(|n| s.names.iter().any(|p| name_matches(p, n)))
        };
        let (arn, chosen) = served
            .iter()
            .find(exact)
            .or_else(|| served.iter().find(wild))
            .or_else(|| served.first())?;
        let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(l) = loaded.get(arn).filter(|l| &l.from == chosen) {
            return Some(l.key.clone());
        }
        let key = load(chosen)?;
        loaded.insert(
            arn.clone(),
            Arc::new(Loaded {
                from: chosen.clone(),
                key: key.clone(),
            }),
        );
        Some(key)
    }
}

impl ResolvesServerCert for ListenerCerts {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.pick(hello.server_name())
    }
}

/// A server configuration for a listener with security policy `policy` (its TLS versions) and
/// ALPN protocols `alpn`.
pub fn server_config(
    certs: Arc<ListenerCerts>,
    policy: Option<&str>,
    alpn: &[&[u8]],
) -> Option<Arc<ServerConfig>> {
    let protocols = policy
        .and_then(ssl::policy)
        .map(|(p, _)| p)
        .unwrap_or_else(|| vec!["TLSv1.3", "TLSv1.2"]);
    let mut versions = Vec::new();
    if protocols.contains(&"TLSv1.3") {
        versions.push(&rustls::version::TLS13);
    }
    if protocols.contains(&"TLSv1.2") {
        versions.push(&rustls::version::TLS12);
    }
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&versions)
        .ok()?
        .with_no_client_auth()
        .with_cert_resolver(certs);
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Some(Arc::new(config))
}

/// Accepts any certificate a target presents (ELB does not verify targets), but still checks
/// that the handshake is signed by the key of that certificate.
#[derive(Debug)]
struct AnyTarget(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyTarget {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The client configuration for connections to HTTPS and TLS targets (HTTP/1.1, no SNI: targets
/// are addressed by IP).
pub fn target_client() -> Arc<ClientConfig> {
    static C: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    C.get_or_init(|| {
        let p = provider();
        let mut c = ClientConfig::builder_with_provider(p.clone())
            .with_safe_default_protocol_versions()
            .expect("the default provider supports the default versions")
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyTarget(p)))
            .with_no_client_auth();
        c.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(c)
    })
    .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_names() {
        assert!(name_matches("airflow.example.com", "AIRFLOW.example.com"));
        assert!(name_matches("*.example.com", "airflow.example.com"));
        assert!(!name_matches("*.example.com", "a.b.example.com"));
        assert!(!name_matches("*.example.com", "example.com"));
        assert!(!name_matches("other.example.com", "airflow.example.com"));
    }
}
