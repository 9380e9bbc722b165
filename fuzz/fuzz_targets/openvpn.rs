//! Fuzzes what an OpenVPN client reaches before it is authenticated: the packet parsers
//! (`Control::parse`, key method 2's `read_client`), the data channel's `open` (framing, replay
//! window, tag check) and a whole server session fed a sequence of datagrams (the reliability
//! layer, TLS over it). The input is datagrams, each a length byte followed by that many bytes.
//! Nothing may panic, and a session never answers more than a bounded amount per datagram.
#![no_main]

use airlock_vpn::data::DataChannel;
use airlock_vpn::keys::{self, DirectionKeys};
use airlock_vpn::packet::Control;
use airlock_vpn::Session;
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

fn tls() -> Arc<rustls::ServerConfig> {
    static C: OnceLock<Arc<rustls::ServerConfig>> = OnceLock::new();
    C.get_or_init(|| {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["server".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert.der().clone()).unwrap();
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .unwrap();
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .unwrap();
        Arc::new(config)
    })
    .clone()
}

fuzz_target!(|data: &[u8]| {
    let mut datagrams = Vec::new();
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let n = (len as usize).min(tail.len());
        datagrams.push(&tail[..n]);
        rest = &tail[n..];
    }
    let k = DirectionKeys {
        cipher: [7; 32],
        implicit_iv: [9; 8],
    };
    let mut data_channel = DataChannel::new(&k, &k, 0, 1);
    let mut session = Session::new(tls(), "topology subnet".into(), "V4".into(), 1, Instant::now()).unwrap();
    let start = Instant::now();
    for (i, d) in datagrams.iter().enumerate() {
        let _ = Control::parse(d);
        let _ = keys::read_client(d);
        let _ = data_channel.open(d);
        let now = start + Duration::from_millis(300 * i as u64);
        session.receive(now, d);
        session.tick(now);
        let out: usize = session.take_output().iter().map(Vec::len).sum();
        assert!(out < 64 * 1024, "one datagram made {out} bytes of answers");
        let _ = session.take_events();
    }
});
