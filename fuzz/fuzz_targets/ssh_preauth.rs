//! Fuzzes the SSH server's pre-authentication phase as the bastions run it: russh's
//! `server::run_stream` over an in-memory stream (no socket), the bytes being everything the
//! client sends (identification line, then binary packets: KEXINIT, the key exchange's first
//! message). Past NEWKEYS the packets are encrypted, so this covers what an unauthenticated
//! client can make the server parse in clear text. The handler keeps russh's defaults (every
//! authentication rejected); the settings are the bastion's except the timeouts, which would
//! only slow each run down.
#![no_main]

use libfuzzer_sys::fuzz_target;
use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::PrivateKey;
use russh::{MethodKind, MethodSet, SshId};
use std::sync::{Arc, OnceLock};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Rejecting;
impl russh::server::Handler for Rejecting {
    type Error = russh::Error;
}

fn config() -> Arc<russh::server::Config> {
    static CONFIG: OnceLock<Arc<russh::server::Config>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            Arc::new(russh::server::Config {
                server_id: SshId::Standard("SSH-2.0-Airlock_bastion".into()),
                methods: MethodSet::from(&[MethodKind::PublicKey][..]),
                auth_rejection_time: std::time::Duration::ZERO,
                auth_rejection_time_initial: Some(std::time::Duration::ZERO),
                keys: vec![PrivateKey::from(Ed25519Keypair::from_seed(&[7; 32]))],
                inactivity_timeout: None,
                keepalive_interval: None,
                nodelay: true,
                ..Default::default()
            })
        })
        .clone()
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    runtime().block_on(async {
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let session = tokio::spawn(async move {
            if let Ok(running) = russh::server::run_stream(config(), server, Rejecting).await {
                let _ = running.await;
            }
        });
        let _ = client.write_all(data).await;
        let _ = client.shutdown().await;
        // Read what the server answers until it closes the stream, so it never blocks on a full
        // pipe.
        let mut sink = Vec::new();
        let _ = client.read_to_end(&mut sink).await;
        let _ = session.await;
    });
});
