//! An EC2 instance as an SSH bastion: the AWS tutorial's `ssh -D`/`ssh -L` path to a private
//! webserver, driven with russh's client over real sockets.

use crate::mwaa::{config, create, wait_for, world};
use crate::webserver::{client_interface, eni, scope, source};
use airlock_net::bastion::{HostKeyRecord, NO_SHELL};
use airlock_net::dataplane;
use airlock_store::Scope;
use airlock_tests::{holds, wait_until, DEADLINE};
use aws_sdk_ec2::types::{
    InstanceNetworkInterfaceSpecification, InstanceStateName, InstanceType, IpPermission, KeyType,
    UserIdGroupPair,
};
use russh::keys::{PrivateKey, PrivateKeyWithHashAlg, PublicKey};
use russh::ChannelMsg;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const AMI: &str = "ami-0123456789abcdef0";

/// Accepts any host key and remembers it.
struct Client(Arc<Mutex<Option<PublicKey>>>);

impl russh::client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        if let russh::keys::PublicKeyOrCertificate::PublicKey { key, .. } = key {
            *self.0.lock().unwrap() = Some(key.clone());
        }
        Ok(true)
    }
}

type Ssh = russh::client::Handle<Client>;

/// Connects to `addr` (retrying while the listener comes up) and authenticates as `user`.
async fn ssh(addr: SocketAddr, user: &str, key: &PrivateKey) -> (Ssh, bool, Option<PublicKey>) {
    let config = Arc::new(russh::client::Config::default());
    let seen = Arc::new(Mutex::new(None));
    let mut handle = wait_until(
        &format!("the bastion listening on {addr}"),
        DEADLINE,
        || {
            let (config, seen) = (config.clone(), seen.clone());
            async move { russh::client::connect(config, addr, Client(seen)).await }
        },
    )
    .await;
    let key = PrivateKeyWithHashAlg::new(Arc::new(key.clone()), None);
    let ok = handle
        .authenticate_publickey(user, key)
        .await
        .unwrap()
        .success();
    let host_key = seen.lock().unwrap().clone();
    (handle, ok, host_key)
}

fn tls(server: &airlock_server::Running) -> tokio_rustls::TlsConnector {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mut roots = rustls::RootCertStore::empty();
    let der = rustls_pki_types::pem::PemObject::from_pem_slice(
        server
            .state
            .ca
            .cert_pem(&server.state.store)
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    roots.add(der).unwrap();
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// `GET path` over HTTPS through a `direct-tcpip` channel to `host:443`; the status code.
async fn through(
    ssh: &Ssh,
    server: &airlock_server::Running,
    host: &str,
    path: &str,
) -> Result<(u16, String), String> {
    let channel = ssh
        .channel_open_direct_tcpip(host, 443, "127.0.0.1", 50000)
        .await
        .map_err(|e| format!("open: {e}"))?;
    let name = rustls_pki_types::ServerName::try_from(host.to_owned()).unwrap();
    let mut s = tls(server)
        .connect(name, channel.into_stream())
        .await
        .map_err(|e| format!("tls: {e}"))?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    s.write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((status, text))
}

async fn key_pair(ec2: &aws_sdk_ec2::Client, name: &str) -> PrivateKey {
    let k = ec2
        .create_key_pair()
        .key_name(name)
        .key_type(KeyType::Ed25519)
        .send()
        .await
        .unwrap();
    russh::keys::decode_secret_key(k.key_material().unwrap(), None).unwrap()
}

/// TCP 443 from the members of group `from`.
fn https_from(from: &str) -> IpPermission {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(443)
        .to_port(443)
        .user_id_group_pairs(UserIdGroupPair::builder().group_id(from).build())
        .build()
}

#[tokio::test]
async fn an_instance_is_a_bastion_to_the_private_webserver() {
    let server = airlock_tests::start_with(config(None)).await;
    let w = world(&server).await;
    create(&w, "tunnel").send().await.unwrap();

    let key = key_pair(&w.ec2, "bastion").await;
    let bastion_sg = w
        .ec2
        .create_security_group()
        .group_name("bastion")
        .description("SSH from anywhere")
        .vpc_id(&w.vpc)
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_owned();
    w.ec2
        .authorize_security_group_ingress()
        .group_id(&bastion_sg)
        .ip_protocol("tcp")
        .from_port(22)
        .to_port(22)
        .cidr_ip("0.0.0.0/0")
        .send()
        .await
        .unwrap();
    // The environment's group admits the bastion's on 443.
    w.ec2
        .authorize_security_group_ingress()
        .group_id(&w.sg)
        .ip_permissions(https_from(&bastion_sg))
        .send()
        .await
        .unwrap();
    let run = w
        .ec2
        .run_instances()
        .image_id(AMI)
        .instance_type(InstanceType::T3Micro)
        .key_name("bastion")
        .min_count(1)
        .max_count(1)
        .network_interfaces(
            InstanceNetworkInterfaceSpecification::builder()
                .device_index(0)
                .subnet_id(&w.public)
                .groups(&bastion_sg)
                .associate_public_ip_address(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let id = run.instances()[0].instance_id().unwrap().to_owned();
    let public_ip = wait_until(&format!("{id} running"), DEADLINE, || async {
        let d = w
            .ec2
            .describe_instances()
            .instance_ids(&id)
            .send()
            .await
            .unwrap();
        let i = &d.reservations()[0].instances()[0];
        let state = i.state().unwrap().name().cloned();
        holds(state == Some(InstanceStateName::Running), state)
            .map(|()| i.public_ip_address().map(str::to_owned))
    })
    .await;
    let public_ip: Ipv4Addr = public_ip
        .expect("running, with a public address")
        .parse()
        .unwrap();
    assert!(public_ip.octets()[..2] == [127, 255], "{public_ip}");
    let addr = SocketAddr::from((public_ip, airlock_net::fabric::port(22)));

    wait_for(&w.mwaa, "tunnel", "AVAILABLE").await;
    let env = w
        .mwaa
        .get_environment()
        .name("tunnel")
        .send()
        .await
        .unwrap();
    let host = env
        .environment()
        .unwrap()
        .webserver_url()
        .unwrap()
        .to_owned();

    // Another key, or another user, is refused.
    let other = key_pair(&w.ec2, "other").await;
    let (_, ok, _) = ssh(addr, "ec2-user", &other).await;
    assert!(!ok, "a key that is not the instance's is refused");
    let (_, ok, _) = ssh(addr, "root", &key).await;
    assert!(!ok, "only ec2-user logs in");

    // The instance's key: in, with the host key kept in the store.
    let (tunnel, ok, host_key) = ssh(addr, "ec2-user", &key).await;
    assert!(ok, "the instance's key pair authenticates");
    let stored = server
        .state
        .store
        .read(|v| v.get::<HostKeyRecord>(&Scope::new("", ""), "ed25519"))
        .expect("the host key is stored");
    let stored = PrivateKey::from_openssh(&stored.private_key).unwrap();
    assert_eq!(host_key.unwrap().key_data(), stored.public_key().key_data());

    // `ssh -L 8443:<host>:443` / `ssh -D`: the webserver through the bastion.
    let (status, text) = through(&tunnel, &server, &host, "/api/v2/monitor/health")
        .await
        .unwrap();
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("\"metadatabase\""), "{text}");
    // An unknown name, or an address outside the VPC and the public range, is refused.
    assert!(tunnel
        .channel_open_direct_tcpip("nope.example.com", 443, "127.0.0.1", 1)
        .await
        .is_err());
    assert!(tunnel
        .channel_open_direct_tcpip("127.0.0.1", server.addr.port() as u32, "127.0.0.1", 1)
        .await
        .is_err());

    // An address of a secondary IPv4 block is inside the VPC as the primary's are: a plain TCP
    // listener on an interface (in the environment's group, which admits the bastion on 443)
    // in a 10.193.0.0/16 subnet, reached through the bastion.
    w.grow("10.193.0.0/16").await;
    let far = w.subnet("10.193.1.0/24", "us-west-2a").await;
    let far_ip = Ipv4Addr::from(
        eni(&server, &client_interface(&w, &far, &w.sg).await)
            .await
            .private_ip,
    );
    assert_eq!(far_ip.octets()[..2], [10, 193]);
    let at = dataplane::address_of(&source(&server), &scope(), &w.vpc, far_ip, 443).unwrap();
    let listener = tokio::net::TcpListener::bind(at).await.unwrap();
    tokio::spawn(async move {
        if let Ok((mut s, _)) = listener.accept().await {
            let _ = s.write_all(b"from the secondary block").await;
        }
    });
    let channel = tunnel
        .channel_open_direct_tcpip(far_ip.to_string(), 443, "127.0.0.1", 2)
        .await
        .unwrap();
    let mut heard = Vec::new();
    channel.into_stream().read_to_end(&mut heard).await.unwrap();
    assert_eq!(heard, b"from the secondary block");

    // `ssh` without -N: a message, exit status 0, and the channel closes.
    let mut session = tunnel.channel_open_session().await.unwrap();
    session.exec(true, "uptime").await.unwrap();
    let (mut out, mut status) = (Vec::new(), None);
    let wait = async {
        while let Some(msg) = session.wait().await {
            match msg {
                ChannelMsg::Data { data } => out.extend_from_slice(&data),
                ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status),
                ChannelMsg::Close => break,
                _ => {}
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), wait)
        .await
        .expect("the session channel closes");
    assert_eq!(String::from_utf8_lossy(&out), NO_SHELL);
    assert_eq!(status, Some(0));

    // Without the rule, the environment's group refuses the bastion: the channel cannot open.
    w.ec2
        .revoke_security_group_ingress()
        .group_id(&w.sg)
        .ip_permissions(https_from(&bastion_sg))
        .send()
        .await
        .unwrap();
    let refused = through(&tunnel, &server, &host, "/api/v2/monitor/health").await;
    assert!(refused.is_err(), "{refused:?}");

    // Without the SSH rule, the internet cannot reach port 22.
    w.ec2
        .revoke_security_group_ingress()
        .group_id(&bastion_sg)
        .ip_protocol("tcp")
        .from_port(22)
        .to_port(22)
        .cidr_ip("0.0.0.0/0")
        .send()
        .await
        .unwrap();
    let config = Arc::new(russh::client::Config::default());
    let seen = Arc::new(Mutex::new(None));
    assert!(
        russh::client::connect(config.clone(), addr, Client(seen.clone()))
            .await
            .is_err(),
        "refused without an ingress rule for 22"
    );

    // Stopping the instance stops the bastion and ends its connections.
    w.ec2
        .stop_instances()
        .instance_ids(&id)
        .send()
        .await
        .unwrap();
    // The bastion stops with its instance.
    wait_until(
        "the tunnel closed and the bastion gone",
        DEADLINE,
        || async {
            let closed = tunnel.is_closed();
            let listening = tokio::net::TcpStream::connect(addr).await.is_ok();
            holds(closed && !listening, (closed, listening))
        },
    )
    .await;
}
