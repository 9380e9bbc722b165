//! Raw HTTP over a real socket: what any client, not only the SDKs, gets back.

use airlock_server::ServerConfig;
use airlock_tests::start_with;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn unauthenticated() -> airlock_server::Running {
    start_with(ServerConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        dns_listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        auth: false,
        max_body: 64 * 1024,
        ..ServerConfig::default()
    })
    .await
}

/// Sends one HTTP/1.1 request and returns (status, body).
async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    // A server may refuse before reading the whole body; that is fine.
    let _ = s.write_all(body).await;
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

const FORM: (&str, &str) = (
    "Content-Type",
    "application/x-www-form-urlencoded; charset=utf-8",
);

/// A header sent twice keeps every other header's value in place (the gateway once paired
/// header names and values by position, so a repeated header shifted the ones after it).
#[tokio::test]
async fn a_repeated_header_leaves_the_others_alone() {
    let server = unauthenticated().await;
    let (status, body) = send(
        server.addr,
        "POST",
        "/",
        &[("X-Repeated", "a"), ("X-Repeated", "b"), FORM],
        b"Action=DescribeRegions&Version=2016-11-15",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<DescribeRegionsResponse"), "{body}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn malformed_requests_get_protocol_errors_never_5xx() {
    let server = unauthenticated().await;
    let a = server.addr;
    let (status, body) = send(a, "POST", "/", &[FORM], b"Action=Bogus&Version=2016-11-15").await;
    assert_eq!(status, 400);
    assert!(
        body.contains("<Code>InvalidAction</Code>") && body.contains("<RequestID>"),
        "{body}"
    );
    let (status, body) = send(
        a,
        "POST",
        "/",
        &[FORM],
        b"Action=CreateVpc&Version=2016-11-15",
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("<Code>MissingParameter</Code>"), "{body}");
    let (status, body) = send(
        a,
        "POST",
        "/",
        &[FORM],
        b"Action=DescribeVpcs&Version=2016-11-15&Foo=1",
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("<Code>UnknownParameter</Code>"), "{body}");
    let (status, body) = send(
        a,
        "POST",
        "/",
        &[FORM],
        b"Action=DescribeVpcs&Version=2016-11-15&MaxResults=lots",
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body.contains("<Code>InvalidParameterValue</Code>"),
        "{body}"
    );
    let (status, body) = send(
        a,
        "POST",
        "/",
        &[FORM],
        b"Action=CreateRole&Version=2010-05-08&RoleName=r",
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body.contains("<ErrorResponse") && body.contains("<Code>ValidationError</Code>"),
        "{body}"
    );
    let (status, body) = send(
        a,
        "POST",
        "/",
        &[FORM],
        b"Action=ListRoles&Version=2010-05-08&MaxItems=x%ZZ",
    )
    .await;
    assert!(status == 400, "{status} {body}");
    let (status, body) = send(a, "POST", "/", &[FORM], &[b'A', b'c', 0xff, 0xfe]).await;
    assert!((400..500).contains(&status), "{status} {body}");
    let (status, body) = send(
        a,
        "PUT",
        "/environments/my-env",
        &[("Content-Type", "application/json")],
        b"{\"Name\": ",
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("SerializationException") || body.contains("message"),
        "{body}"
    );
    let big = vec![b'a'; 200 * 1024];
    let (status, _) = send(a, "POST", "/", &[FORM], &big).await;
    assert!((400..500).contains(&status), "oversized body: {status}");
    // Still serving.
    let (status, body) = send(
        a,
        "POST",
        "/",
        &[FORM],
        b"Action=DescribeRegions&Version=2016-11-15",
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        body.contains(
            "<DescribeRegionsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
        ),
        "{body}"
    );
    let (status, body) = send(a, "GET", "/_airlock/health", &[], b"").await;
    assert_eq!(status, 200);
    assert!(body.contains("\"running\""));
}

#[tokio::test]
async fn unsigned_requests_are_refused_when_auth_is_on() {
    let server = airlock_tests::start().await;
    let (status, body) = send(
        server.addr,
        "POST",
        "/",
        &[FORM],
        b"Action=DescribeVpcs&Version=2016-11-15",
    )
    .await;
    assert_eq!(status, 401);
    assert!(
        body.contains("<Code>MissingAuthenticationToken</Code>"),
        "{body}"
    );
    let (status, body) = send(
        server.addr,
        "POST",
        "/",
        &[FORM],
        b"Action=GetCallerIdentity&Version=2011-06-15",
    )
    .await;
    assert_eq!(status, 403);
    assert!(
        body.contains("<Code>MissingAuthenticationToken</Code>"),
        "{body}"
    );
}
