//! The environment's webserver, reached through the VPC fabric as a component inside the VPC
//! reaches it (source bound to its own interface's fabric address), with the local CA trusted.

use crate::mwaa::{create, wait_for, world, World};
use airlock_net::dataplane;
use airlock_server::Running;
use airlock_store::Scope;
use airlock_tests::{wait_until, DEADLINE};
use aws_sdk_ec2::types::Filter;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub fn source(server: &Running) -> airlock_net::Source {
    airlock_net::Source {
        store: server.state.clone(),
        config: server.state.config.services.clone(),
    }
}

pub fn scope() -> Scope {
    Scope::new("000000000000", "us-west-2")
}

pub async fn eni(server: &Running, id: &str) -> airlock_services::ec2::eni::NetworkInterface {
    let e = server
        .state
        .store
        .read(|v| v.get::<airlock_services::ec2::eni::NetworkInterface>(&scope(), id));
    (*e.expect("interface exists")).clone()
}

fn tls(server: &Running) -> tokio_rustls::TlsConnector {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mut roots = rustls::RootCertStore::empty();
    let pem = server.state.ca.cert_pem(&server.state.store).unwrap();
    let der = rustls_pki_types::pem::PemObject::from_pem_slice(pem.as_bytes()).unwrap();
    roots.add(der).unwrap();
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// One HTTPS request from interface `from` to the webserver at `to`; (status, headers, body).
async fn https(
    server: &Running,
    host: &str,
    from: &str,
    to: Ipv4Addr,
    request: &str,
) -> std::io::Result<(u16, String, String)> {
    let from = eni(server, from).await;
    let tcp = dataplane::connect_from(&source(server), &scope(), &from, to, 443).await?;
    let name = rustls_pki_types::ServerName::try_from(host.to_owned()).unwrap();
    let mut s = tls(server).connect(name, tcp).await?;
    s.write_all(request.replace("{host}", host).as_bytes())
        .await?;
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .map(|(h, b)| (h.to_owned(), b.to_owned()))
        .unwrap_or_default();
    Ok((status, head, body))
}

fn get(path: &str, extra: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {{host}}\r\n{extra}Connection: close\r\n\r\n")
}

fn post(path: &str, extra: &str, body: &str) -> String {
    format!("POST {path} HTTP/1.1\r\nHost: {{host}}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
}

pub async fn client_interface(w: &World, subnet: &str, group: &str) -> String {
    let e = w
        .ec2
        .create_network_interface()
        .subnet_id(subnet)
        .groups(group)
        .send()
        .await
        .unwrap();
    e.network_interface()
        .unwrap()
        .network_interface_id()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_private_webserver_answers_inside_the_vpc_only() {
    let server = airlock_tests::start_with(crate::mwaa::config(None)).await;
    let w = world(&server).await;
    create(&w, "web").send().await.unwrap();
    wait_for(&w.mwaa, "web", "AVAILABLE").await;
    let env = w.mwaa.get_environment().name("web").send().await.unwrap();
    let env = env.environment().unwrap();
    let host = env.webserver_url().unwrap().to_owned();
    let service = env.webserver_vpc_endpoint_service().unwrap();
    let eps = w
        .ec2
        .describe_vpc_endpoints()
        .filters(
            Filter::builder()
                .name("service-name")
                .values(service)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let web_eni = eni(&server, &eps.vpc_endpoints()[0].network_interface_ids()[0]).await;
    let web_ip = Ipv4Addr::from(web_eni.private_ip);

    // A client in the environment's security group (which admits itself).
    let client = client_interface(&w, &w.private[1], &w.sg).await;
    let (status, head, _) = wait_until("an answer from the webserver", DEADLINE, || async {
        match https(&server, &host, &client, web_ip, &get("/", "")).await {
            Ok(a) if a.0 != 0 => Ok(a),
            other => Err(other.map(|a| a.0)),
        }
    })
    .await;
    assert_eq!(status, 302, "{head}");
    assert!(head.to_ascii_lowercase().contains("location: /"), "{head}");
    let (status, _, body) = https(
        &server,
        &host,
        &client,
        web_ip,
        &get("/api/v2/monitor/health", ""),
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"metadatabase\""), "{body}");

    // A client whose group the environment's group does not admit is refused.
    let outsider_sg = w
        .ec2
        .create_security_group()
        .group_name("outsider")
        .description("x")
        .vpc_id(&w.vpc)
        .send()
        .await
        .unwrap();
    let outsider = client_interface(&w, &w.private[1], outsider_sg.group_id().unwrap()).await;
    assert!(
        https(&server, &host, &outsider, web_ip, &get("/", ""))
            .await
            .is_err(),
        "refused by the security group"
    );
    // So is a host process outside the VPC.
    let mapped = dataplane::address_of(&source(&server), &scope(), &w.vpc, web_ip, 443).unwrap();
    let mut s = tokio::net::TcpStream::connect(mapped).await.unwrap();
    let mut buf = [0u8; 1];
    let n = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf))
        .await
        .unwrap()
        .unwrap_or(0);
    assert_eq!(n, 0, "the host is refused");

    // The web login flow: a token works once.
    let token = w
        .mwaa
        .create_web_login_token()
        .name("web")
        .send()
        .await
        .unwrap()
        .web_token()
        .unwrap()
        .to_owned();
    let form = format!("token={token}");
    let ct = "Content-Type: application/x-www-form-urlencoded\r\n";
    let (status, head, _) = https(
        &server,
        &host,
        &client,
        web_ip,
        &post("/pluginsv2/aws_mwaa/login", ct, &form),
    )
    .await
    .unwrap();
    assert_eq!(status, 302, "{head}");
    let cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let (status, _, _) = https(
        &server,
        &host,
        &client,
        web_ip,
        &post("/pluginsv2/aws_mwaa/login", ct, &form),
    )
    .await
    .unwrap();
    assert_eq!(status, 403, "a token works once");
    let (status, _, body) = https(
        &server,
        &host,
        &client,
        web_ip,
        &get("/home", &format!("Cookie: {cookie}\r\n")),
    )
    .await
    .unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("web"), "{body}");
    let bearer = format!(
        "Authorization: Bearer {}\r\n",
        cookie.split_once('=').unwrap().1
    );
    let (status, _, body) = https(
        &server,
        &host,
        &client,
        web_ip,
        &get("/api/v2/dags", &bearer),
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"tutorial\""), "{body}");

    // The CLI endpoint.
    let cli = w
        .mwaa
        .create_cli_token()
        .name("web")
        .send()
        .await
        .unwrap()
        .cli_token()
        .unwrap()
        .to_owned();
    let auth = format!("Authorization: Bearer {cli}\r\nContent-Type: text/plain\r\n");
    let (status, _, body) = https(
        &server,
        &host,
        &client,
        web_ip,
        &post("/aws_mwaa/cli", &auth, "dags trigger tutorial"),
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    use base64::Engine;
    let out = base64::engine::general_purpose::STANDARD
        .decode(v["stdout"].as_str().unwrap())
        .unwrap();
    assert!(String::from_utf8(out).unwrap().contains("manual__"));
    let (status, _, _) = https(
        &server,
        &host,
        &client,
        web_ip,
        &post("/aws_mwaa/cli", "Authorization: Bearer nope\r\n", "version"),
    )
    .await
    .unwrap();
    assert_eq!(status, 403);

    // The database endpoint accepts connections from the group (and closes them).
    let db = env.database_vpc_endpoint_service().unwrap();
    let dbs = w
        .ec2
        .describe_vpc_endpoints()
        .filters(Filter::builder().name("service-name").values(db).build())
        .send()
        .await
        .unwrap();
    let db_ip = Ipv4Addr::from(
        eni(&server, &dbs.vpc_endpoints()[0].network_interface_ids()[0])
            .await
            .private_ip,
    );
    let from = eni(&server, &client).await;
    assert!(
        dataplane::connect_from(&source(&server), &scope(), &from, db_ip, 5432)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn cidr_rules_admit_by_address_and_token_expiry_is_enforced() {
    let server = airlock_tests::start_with(crate::mwaa::config(None)).await;
    let w = world(&server).await;
    // The environment's group also admits 443 from the second private subnet by CIDR.
    w.ec2
        .authorize_security_group_ingress()
        .group_id(&w.sg)
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(443)
                .to_port(443)
                .ip_ranges(
                    aws_sdk_ec2::types::IpRange::builder()
                        .cidr_ip("10.192.21.0/24")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    create(&w, "cidr").send().await.unwrap();
    wait_for(&w.mwaa, "cidr", "AVAILABLE").await;
    let env = w.mwaa.get_environment().name("cidr").send().await.unwrap();
    let host = env
        .environment()
        .unwrap()
        .webserver_url()
        .unwrap()
        .to_owned();
    let service = env
        .environment()
        .unwrap()
        .webserver_vpc_endpoint_service()
        .unwrap()
        .to_owned();
    let eps = w
        .ec2
        .describe_vpc_endpoints()
        .filters(
            Filter::builder()
                .name("service-name")
                .values(&service)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let web_ip = Ipv4Addr::from(
        eni(&server, &eps.vpc_endpoints()[0].network_interface_ids()[0])
            .await
            .private_ip,
    );
    let plain = w
        .ec2
        .create_security_group()
        .group_name("plain")
        .description("no rules")
        .vpc_id(&w.vpc)
        .send()
        .await
        .unwrap();
    let in_b = client_interface(&w, &w.private[1], plain.group_id().unwrap()).await;
    let in_a = client_interface(&w, &w.private[0], plain.group_id().unwrap()).await;
    let answer = wait_until("200 on /health from 10.192.21.0/24", DEADLINE, || async {
        match https(&server, &host, &in_b, web_ip, &get("/health", "")).await {
            Ok(a) if a.0 == 200 => Ok(a),
            other => Err(other.map(|a| a.0)),
        }
    })
    .await;
    assert_eq!(answer.0, 200, "10.192.21.0/24 is admitted by CIDR");
    assert!(
        https(&server, &host, &in_a, web_ip, &get("/health", ""))
            .await
            .is_err(),
        "10.192.20.0/24 is not"
    );

    // Web login tokens expire after 60 s: one created "61 s ago" is refused.
    let token = w
        .mwaa
        .create_web_login_token()
        .name("cidr")
        .send()
        .await
        .unwrap()
        .web_token()
        .unwrap()
        .to_owned();
    let scope = scope();
    server
        .state
        .store
        .write(|tx| {
            let mut t = (*tx
                .get::<airlock_services::mwaa::Token>(&scope, &token)
                .unwrap())
            .clone();
            t.expires -= time::Duration::seconds(61);
            tx.put(&scope, t)?;
            Ok::<_, airlock_protocol::ApiError>(())
        })
        .unwrap();
    let ct = "Content-Type: application/x-www-form-urlencoded\r\n";
    let (status, _, _) = https(
        &server,
        &host,
        &in_b,
        web_ip,
        &post("/pluginsv2/aws_mwaa/login", ct, &format!("token={token}")),
    )
    .await
    .unwrap();
    assert_eq!(status, 403, "an expired token is refused");
}

/// Signs in to a public Airflow 2 webserver with a web login token: the session cookie
/// (`name=value`).
async fn public_login(server: &Running, host: &str, ip: &str, token: &str) -> String {
    let ct = "Content-Type: application/x-www-form-urlencoded\r\n";
    let login = post("/aws_mwaa/login", ct, &format!("token={token}"));
    let (status, head, _) = https_public(server, host, ip, &login).await;
    assert_eq!(status, 302, "{head}");
    head.lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_owned()
}

/// One HTTPS request straight from the host (public webservers are on the internet).
async fn https_public(
    server: &Running,
    host: &str,
    ip: &str,
    request: &str,
) -> (u16, String, String) {
    let addr = std::net::SocketAddr::new(ip.parse().unwrap(), airlock_net::fabric::port(443));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from(host.to_owned()).unwrap();
    let mut s = tls(server).connect(name, tcp).await.unwrap();
    s.write_all(request.replace("{host}", host).as_bytes())
        .await
        .unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .map(|(h, b)| (h.to_owned(), b.to_owned()))
        .unwrap_or_default();
    (status, head, body)
}

#[tokio::test]
async fn a_public_airflow_2_webserver_is_on_its_public_address() {
    let server = airlock_tests::start_with(crate::mwaa::config(None)).await;
    let w = world(&server).await;
    create(&w, "pub2")
        .webserver_access_mode(aws_sdk_mwaa::types::WebserverAccessMode::PublicOnly)
        .airflow_version("2.10.3")
        .send()
        .await
        .unwrap();
    wait_for(&w.mwaa, "pub2", "AVAILABLE").await;
    let host = w
        .mwaa
        .get_environment()
        .name("pub2")
        .send()
        .await
        .unwrap()
        .environment()
        .unwrap()
        .webserver_url()
        .unwrap()
        .to_owned();
    assert!(!host.contains("-vpce."));
    let env = server
        .state
        .store
        .read(|v| v.get::<airlock_services::mwaa::Environment>(&scope(), "pub2"))
        .unwrap();
    let ip = env.public_ip.clone().expect("a public address");
    assert!(ip.starts_with("127.255."));
    wait_until(&format!("a listener on {ip}"), DEADLINE, || async {
        tokio::net::TcpStream::connect((ip.as_str(), airlock_net::fabric::port(443))).await
    })
    .await;
    let status = https_public(&server, &host, &ip, &get("/", "")).await.0;
    assert_eq!(status, 302);
    let (_, head, _) = https_public(&server, &host, &ip, &get("/", "")).await;
    assert!(
        head.to_ascii_lowercase().contains("location: /home"),
        "{head}"
    );
    let (status, _, body) = https_public(&server, &host, &ip, &get("/health", "")).await;
    assert_eq!(status, 200, "{body}");
    // Airflow 2: /aws_mwaa/login gives a `session` cookie for /api/v1.
    let token = w
        .mwaa
        .create_web_login_token()
        .name("pub2")
        .send()
        .await
        .unwrap()
        .web_token()
        .unwrap()
        .to_owned();
    let cookie = public_login(&server, &host, &ip, &token).await;
    assert!(cookie.starts_with("session="), "{cookie}");
    let (status, _, body) = https_public(
        &server,
        &host,
        &ip,
        &get("/api/v1/dags", &format!("Cookie: {cookie}\r\n")),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _, _) = https_public(&server, &host, &ip, &get("/api/v1/dags", "")).await;
    assert_eq!(status, 401);
    // The root's session is Admin: it may trigger a DAG.
    let ct_json = "Content-Type: application/json\r\n";
    let trigger = |cookie: &str| {
        post(
            "/api/v1/dags/tutorial/dagRuns",
            &format!("{ct_json}Cookie: {cookie}\r\n"),
            "{}",
        )
    };
    let (status, _, body) = https_public(&server, &host, &ip, &trigger(&cookie)).await;
    assert_eq!(status, 200, "{body}");
    // A user whose policies allow only the Viewer role signs in as Viewer: it may read, not
    // trigger.
    let iam = aws_sdk_iam::Client::new(&airlock_tests::default_config(&server).await);
    iam.create_user().user_name("viewer").send().await.unwrap();
    iam.put_user_policy()
        .user_name("viewer")
        .policy_name("viewer")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"airflow:CreateWebLoginToken","Resource":"arn:aws:airflow:*:*:role/pub2/Viewer"}]}"#)
        .send()
        .await
        .unwrap();
    let key = iam
        .create_access_key()
        .user_name("viewer")
        .send()
        .await
        .unwrap();
    let key = key.access_key().unwrap();
    let as_viewer = aws_sdk_mwaa::Client::new(
        &airlock_tests::prefixed_config_as(&server, key.access_key_id(), key.secret_access_key())
            .await,
    );
    let token = as_viewer
        .create_web_login_token()
        .name("pub2")
        .send()
        .await
        .unwrap()
        .web_token()
        .unwrap()
        .to_owned();
    let viewer = public_login(&server, &host, &ip, &token).await;
    let (status, _, body) = https_public(
        &server,
        &host,
        &ip,
        &get("/api/v1/dags", &format!("Cookie: {viewer}\r\n")),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = https_public(&server, &host, &ip, &trigger(&viewer)).await;
    assert_eq!(status, 403, "a Viewer may not trigger a DAG: {body}");
    assert!(body.contains("PermissionDenied"), "{body}");
    let (status, _, _) = https_public(
        &server,
        &host,
        &ip,
        &get("/api/v2/dags", &format!("Cookie: {cookie}\r\n")),
    )
    .await;
    assert_eq!(status, 404, "Airflow 2 has no /api/v2");
}
