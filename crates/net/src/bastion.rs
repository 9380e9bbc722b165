//! EC2 instances as SSH bastion hosts: what `ssh -N -D 8157 ec2-user@<instance>` and
//! `ssh -N -L 8443:<host>:443 ec2-user@<instance>` need, and nothing more (there is no shell).
//!
//! The data plane runs one listener per running instance launched with a key pair, on port 22 of
//! its interface's fabric address (peers inside the VPC that the security groups admit) and of its
//! public address (the internet, if the interface's groups and subnet let it in); the reconciler
//! passes that admission ([`model::admitted`]). The SSH server (russh) then:
//!
//! - presents one ed25519 host key for every bastion, created on first use and kept in the store
//!   ([`HostKeyRecord`]), so `known_hosts` stays valid across restarts;
//! - accepts user `ec2-user` with the public key of the instance's key pair (the `KeyPair` record
//!   of the instance's `KeyName`, read at each attempt), and nothing else: other users, other
//!   keys, passwords and keyboard-interactive get "Permission denied (publickey)";
//! - opens `direct-tcpip` channels from the instance's interface: a name is resolved as the
//!   instance's VPC resolves it ([`airlock_services::dns::lookup_in`]: its interface endpoints'
//!   private DNS, then Airlock's DNS view, CNAMEs followed); an address in the instance's VPC is
//!   reached through the fabric from the instance's interface (so the target's security groups
//!   see the bastion's groups, as on AWS), AWS's public endpoints (`sts.us-west-2.amazonaws.com`
//!   and the like, on 443) in-process ([`crate::api::Aws`], when the subnet reaches the internet
//!   or a gateway endpoint), another public address (`127.255.0.0/16`) directly; anything else
//!   is refused;
//! - answers a `session` channel's shell or exec request with one line saying there is no shell,
//!   exit status 0, and closes it.
//!
//! Stopping the listener (the instance stops or terminates) ends its SSH connections and the
//! forwarded connections inside them.

use crate::accept;
use crate::api::{Aws, Io};
use crate::fabric::{self, connect_from};
use crate::source::Source;
use airlock_services::dns::{self, Answer};
use airlock_services::ec2::{eni, fabric as model, instances, keypair, vpc};
use airlock_store::{Scope, Store, View};
use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::ssh_key::LineEnding;
use russh::keys::{PrivateKey, PublicKey};
use russh::server::{Auth, Msg, PublicKeyOffer, Session, VerifiedPublicKey};
use russh::{Channel, ChannelId, ChannelOpenFailure, MethodKind, MethodSet, SshId};
use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// The only user an Amazon Linux instance lets in with the launch key.
pub const USER: &str = "ec2-user";

/// What a session channel gets instead of a shell.
pub const NO_SHELL: &str =
    "This Airlock bastion forwards ports (ssh -D, ssh -L); it has no shell.\r\n";

/// How long a client has to authenticate (OpenSSH's `LoginGraceTime`).
const LOGIN_GRACE: Duration = Duration::from_secs(120);

/// How many CNAMEs a name may go through before it resolves.
const MAX_CNAMES: usize = 8;

/// The bastions' host key (an OpenSSH private key), kept with the state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostKeyRecord {
    pub id: String,
    pub private_key: String,
}

airlock_store::record!(HostKeyRecord, "airlock.bastion_host_key", id);

const HOST_KEY_ID: &str = "ed25519";

fn global() -> Scope {
    Scope::new("", "")
}

/// The bastions' host key: the stored one, else `cached` (written back, e.g. after
/// `POST /_airlock/reset` emptied the store, so that clients' `known_hosts` stays valid), else a
/// new one (stored). `cached` is updated.
pub fn host_key(store: &Store, cached: &mut Option<PrivateKey>) -> Result<PrivateKey, String> {
    if let Some(r) = store.read(|v| v.get::<HostKeyRecord>(&global(), HOST_KEY_ID)) {
        let key = PrivateKey::from_openssh(&r.private_key).map_err(|e| e.to_string())?;
        *cached = Some(key.clone());
        return Ok(key);
    }
    let key = match cached.take() {
        Some(k) => k,
        None => PrivateKey::from(Ed25519Keypair::from_seed(&rand::random())),
    };
    let pem = key.to_openssh(LineEnding::LF).map_err(|e| e.to_string())?;
    let record = HostKeyRecord {
        id: HOST_KEY_ID.into(),
        private_key: pem.to_string(),
    };
    let stored = store
        .write(|tx| {
            if let Some(existing) = tx.get::<HostKeyRecord>(&global(), HOST_KEY_ID) {
                return Ok::<_, airlock_protocol::ApiError>((*existing).clone());
            }
            tx.put(&global(), record.clone())?;
            Ok(record.clone())
        })
        .map_err(|e| e.to_string())?;
    let key = PrivateKey::from_openssh(&stored.private_key).map_err(|e| e.to_string())?;
    *cached = Some(key.clone());
    Ok(key)
}

/// The SSH server settings every bastion uses.
fn server_config(key: PrivateKey) -> russh::server::Config {
    russh::server::Config {
        server_id: SshId::Standard("SSH-2.0-Airlock_bastion".into()),
        methods: MethodSet::from(&[MethodKind::PublicKey][..]),
        auth_rejection_time: Duration::from_millis(250),
        // OpenSSH starts with a `none` probe; answering it at once costs nothing.
        auth_rejection_time_initial: Some(Duration::ZERO),
        keys: vec![key],
        // Idle tunnels stay up (as with sshd); dead clients are found by keepalives.
        inactivity_timeout: None,
        keepalive_interval: Some(Duration::from_secs(30)),
        keepalive_max: 3,
        nodelay: true,
        ..Default::default()
    }
}

/// An instance as the bastion needs it now: its attached interface and its VPC.
struct Host {
    eni: Arc<eni::NetworkInterface>,
    vpc: Arc<vpc::Vpc>,
}

fn host(v: &View<'_>, scope: &Scope, instance: &str) -> Option<Host> {
    let i = v.get::<instances::Instance>(scope, instance)?;
    let e = v
        .get::<eni::NetworkInterface>(scope, &i.eni_id)
        .filter(|e| e.attachment.as_ref().is_some_and(|a| a.instance_id == i.id))?;
    let vpc = v.get::<vpc::Vpc>(scope, &e.vpc_id)?;
    Some(Host { eni: e, vpc })
}

/// Ends an SSH connection when dropped (its listener stopped).
struct EndOnDrop(russh::server::Handle);

impl Drop for EndOnDrop {
    fn drop(&mut self) {
        let handle = self.0.clone();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let _ = handle
                    .disconnect(
                        russh::Disconnect::ByApplication,
                        "The instance is no longer running.".into(),
                        "en".into(),
                    )
                    .await;
            });
        }
    }
}

/// Serves SSH on `listener` for `instance` until the task is aborted (which ends every
/// connection); `admit` is the fabric's decision for the listener's place.
pub async fn serve(
    listener: TcpListener,
    admit: impl Fn(SocketAddr) -> bool,
    source: Arc<Source>,
    scope: Scope,
    instance: String,
    key: PrivateKey,
    aws: Option<Aws>,
) {
    let config = Arc::new(server_config(key));
    accept::serve(listener, accept::UNLIMITED, admit, |stream, peer| {
        let authenticated = Arc::new(AtomicBool::new(false));
        let handler = Connection {
            source: source.clone(),
            scope: scope.clone(),
            instance: instance.clone(),
            aws: aws.clone(),
            peer,
            authenticated: authenticated.clone(),
            forwards: JoinSet::new(),
        };
        session(config.clone(), stream, handler, authenticated)
    })
    .await
}

/// One SSH connection: the client has [`LOGIN_GRACE`] to authenticate.
async fn session(
    config: Arc<russh::server::Config>,
    stream: TcpStream,
    handler: Connection,
    authenticated: Arc<AtomicBool>,
) {
    let Ok(Ok(session)) = tokio::time::timeout(
        LOGIN_GRACE,
        russh::server::run_stream(config, stream, handler),
    )
    .await
    else {
        return;
    };
    let end = EndOnDrop(session.handle());
    let grace = async {
        tokio::time::sleep(LOGIN_GRACE).await;
        if authenticated.load(Ordering::Relaxed) {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        _ = session => {}
        () = grace => {}
    }
    drop(end);
}

/// One SSH connection.
struct Connection {
    source: Arc<Source>,
    scope: Scope,
    instance: String,
    /// AWS's public endpoints, if the server serves them.
    aws: Option<Aws>,
    peer: SocketAddr,
    authenticated: Arc<AtomicBool>,
    /// Forwarded connections: they end with the SSH connection (the handler is dropped).
    forwards: JoinSet<()>,
}

impl Connection {
    /// The public key of the instance's key pair, as it is now.
    fn authorized_key(&self) -> Option<PublicKey> {
        let line = self.source.store().read(|v| {
            let i = v.get::<instances::Instance>(&self.scope, &self.instance)?;
            let name = i.key_name.as_deref()?;
            v.list::<keypair::KeyPair>(&self.scope)
                .into_iter()
                .find(|k| k.key_name == name)
                .map(|k| k.public_key.clone())
        })?;
        PublicKey::from_openssh(line.trim()).ok()
    }

    fn allowed(&self, user: &str, key: &PublicKey) -> bool {
        user == USER
            && self
                .authorized_key()
                .is_some_and(|k| k.key_data() == key.key_data())
    }

    fn decide(&self, user: &str, key: &PublicKey) -> Auth {
        if self.allowed(user, key) {
            Auth::Accept
        } else {
            Auth::reject()
        }
    }

    /// Answers a shell or exec request: no shell here.
    fn no_shell(&mut self, channel: ChannelId, session: &mut Session) -> Result<(), russh::Error> {
        session.channel_success(channel)?;
        session.data(channel, NO_SHELL.as_bytes().to_vec())?;
        session.exit_status_request(channel, 0)?;
        session.eof(channel)?;
        session.close(channel)
    }
}

impl russh::server::Handler for Connection {
    type Error = russh::Error;

    async fn auth_publickey_offered(
        &mut self,
        user: &str,
        offer: PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        Ok(self.decide(user, offer.public_key))
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        let decision = self.decide(user, key.public_key);
        if decision == Auth::Accept {
            tracing::info!(target: "airlock::bastion", peer = %self.peer, instance = self.instance, user, "authenticated");
        }
        Ok(decision)
    }

    async fn auth_succeeded(&mut self, _session: &mut Session) -> Result<(), Self::Error> {
        self.authenticated.store(true, Ordering::Relaxed);
        Ok(())
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: russh::server::ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        // The handler's callbacks answer the requests; nobody reads the channel object.
        drop(channel);
        reply.accept().await;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _term: &str,
        _col_width: u32,
        _row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)
    }

    async fn env_request(
        &mut self,
        channel: ChannelId,
        _variable_name: &str,
        _variable_value: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.no_shell(channel, session)
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        _data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.no_shell(channel, session)
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        _name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)?;
        session.close(channel)
    }

    async fn channel_open_direct_tcpip(
        &mut self,
        channel: Channel<Msg>,
        host_to_connect: &str,
        port_to_connect: u32,
        _originator_address: &str,
        _originator_port: u32,
        reply: russh::server::ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        while self.forwards.try_join_next().is_some() {}
        let source = self.source.clone();
        let scope = self.scope.clone();
        let instance = self.instance.clone();
        let aws = self.aws.clone();
        let target = host_to_connect.to_owned();
        self.forwards.spawn(async move {
            let to = (target.as_str(), port_to_connect);
            match connect(&source, aws.as_ref(), &scope, &instance, to).await {
                Ok(mut tcp) => {
                    reply.accept().await;
                    let mut stream = channel.into_stream();
                    let _ = tokio::io::copy_bidirectional(&mut stream, &mut tcp).await;
                }
                Err(failure) => {
                    tracing::debug!(target: "airlock::bastion", instance, target, port = port_to_connect, ?failure, "forward refused");
                    reply.reject(failure).await;
                }
            }
        });
        Ok(())
    }

    async fn tcpip_forward(
        &mut self,
        _address: &str,
        _port: &mut u32,
        _session: &mut Session,
    ) -> Result<bool, Self::Error> {
        // `ssh -R` is not part of the bastion's job.
        Ok(false)
    }
}

/// The addresses `host` stands for: an IPv4 literal, or a name in Airlock's DNS as the resolver
/// of VPC `inside` (its scope and id) answers it (its endpoints' private DNS first; CNAMEs
/// followed up to [`MAX_CNAMES`] times).
pub fn resolve(
    source: &Source,
    host: &str,
    inside: Option<(&Scope, &str)>,
) -> Option<Vec<Ipv4Addr>> {
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Some(vec![ip]);
    }
    let store = source.store();
    let clock = source.clock();
    let mut name = host.trim_end_matches('.').to_ascii_lowercase();
    for _ in 0..=MAX_CNAMES {
        match dns::lookup_in(store, clock, &name, inside) {
            Answer::A(ips) if !ips.is_empty() => return Some(ips),
            Answer::Cname(target) => name = target.trim_end_matches('.').to_ascii_lowercase(),
            _ => return None,
        }
    }
    None
}

/// Opens the connection a `direct-tcpip` channel asks for (`to`: host and port), from the
/// instance's interface: into the fabric, to a public address, or to AWS's public endpoints
/// (`aws`).
pub async fn connect(
    source: &Arc<Source>,
    aws: Option<&Aws>,
    scope: &Scope,
    instance: &str,
    (target, port): (&str, u32),
) -> Result<Box<dyn Io>, ChannelOpenFailure> {
    let port = u16::try_from(port)
        .ok()
        .filter(|p| *p != 0)
        .ok_or(ChannelOpenFailure::ConnectFailed)?;
    let store = source.store();
    let (eni, vpc) = store
        .read(|v| host(v, scope, instance).map(|h| (h.eni.clone(), h.vpc.clone())))
        .ok_or(ChannelOpenFailure::ConnectFailed)?;
    let ips =
        resolve(source, target, Some((scope, &vpc.id))).ok_or(ChannelOpenFailure::ConnectFailed)?;
    let mut failure = ChannelOpenFailure::AdministrativelyProhibited;
    for ip in ips {
        let raw = u32::from(ip);
        if vpc.holds(raw) {
            // Through the fabric: the target's listener sees the bastion's interface. Checked
            // here too, so a refusal is an open failure rather than a connection that closes.
            let allowed = store.read(|v| model::reachable(v, scope, &eni, ip, port));
            failure = ChannelOpenFailure::ConnectFailed;
            if !allowed {
                continue;
            }
            if let Ok(s) = connect_from(source, scope, &eni, ip, port).await {
                return Ok(Box::new(s));
            }
        } else if ip == model::AWS_PUBLIC && port == 443 {
            // AWS's public endpoints: through the internet, or a gateway endpoint.
            let out = store.read(|v| model::lets_out(v, scope, &eni.groups, raw, &[], port));
            let arrival = store.read(|v| model::to_aws(v, scope, &eni));
            failure = ChannelOpenFailure::ConnectFailed;
            if let (true, Some(aws), Some(arrival)) = (out, aws, arrival) {
                return Ok(Box::new(aws.connect(source, arrival)));
            }
        } else if fabric::is_public(ip) {
            let out = store.read(|v| model::lets_out(v, scope, &eni.groups, raw, &[], port));
            failure = ChannelOpenFailure::ConnectFailed;
            if !out {
                continue;
            }
            let addr = SocketAddr::V4(SocketAddrV4::new(ip, fabric::port(port)));
            if let Ok(s) = TcpStream::connect(addr).await {
                let _ = s.set_nodelay(true);
                return Ok(Box::new(s));
            }
        }
    }
    Err(failure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_key_survives_restarts_and_resets() {
        let dir = std::env::temp_dir().join(format!("airlock-bastion-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.db");
        let _ = std::fs::remove_file(&path);
        let mut kinds = airlock_services::record_kinds();
        kinds.extend(crate::record_kinds());
        let first = {
            let store = Store::open(&path, &kinds).unwrap();
            let key = host_key(&store, &mut None).unwrap();
            assert_eq!(key.algorithm(), russh::keys::Algorithm::Ed25519);
            key
        };
        let store = Store::open(&path, &kinds).unwrap();
        let mut cached = None;
        let again = host_key(&store, &mut cached).unwrap();
        assert_eq!(again.public_key(), first.public_key());
        // `POST /_airlock/reset` empties the store: the key in memory is written back.
        store.reset().unwrap();
        let after_reset = host_key(&store, &mut cached).unwrap();
        assert_eq!(after_reset.public_key(), first.public_key());
        assert!(store
            .read(|v| v.get::<HostKeyRecord>(&global(), HOST_KEY_ID))
            .is_some());
        drop(store);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn names_resolve_through_cnames_and_literals_directly() {
        let source = Source {
            store: Arc::new(Arc::new(
                Store::ephemeral(&airlock_services::record_kinds()),
            )),
            config: airlock_services::Config::default(),
        };
        assert_eq!(
            resolve(&source, "10.192.20.5", None),
            Some(vec![Ipv4Addr::new(10, 192, 20, 5)])
        );
        assert_eq!(resolve(&source, "nope.example.com", None), None);
        assert_eq!(
            resolve(&source, "ip-10-0-0-9.us-west-2.compute.internal", None),
            None
        );
    }
}
