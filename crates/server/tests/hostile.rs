//! Hostile clients on raw sockets: slow headers, idle and truncated connections, oversized
//! bodies, too many connections from one source, and SigV4 refusals that need the whole
//! server. Timeouts are short here (the server's are configurable); every wait has a generous
//! bound, and no assertion depends on how fast the server is.

use airlock_server::{Limits, Running, ServerConfig};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long any test waits for the server to act before it fails.
const BOUND: Duration = Duration::from_secs(10);

async fn server(read_timeout: Duration, per_ip: usize, max_body: usize) -> Running {
    server_capped(read_timeout, per_ip, 8192, max_body).await
}

async fn server_capped(
    read_timeout: Duration,
    per_ip: usize,
    total: usize,
    max_body: usize,
) -> Running {
    let mut config = ServerConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        dns_listen: None,
        max_body,
        limits: Limits {
            read_timeout,
            max_connections_per_ip: per_ip,
            max_connections: total,
        },
        ..ServerConfig::default()
    };
    // Slots of their own: no listener of another test binary's servers shares them.
    config.services.fabric_slots = 250..=253;
    airlock_server::start(config).await.expect("airlock starts")
}

async fn quick() -> Running {
    server(Duration::from_millis(300), 1024, 1024).await
}

/// Reads until the server closes the connection (or fails the test after [`BOUND`]).
async fn read_until_closed(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    let read = tokio::time::timeout(BOUND, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "the server kept the connection open for {BOUND:?}; read so far: {}",
        String::from_utf8_lossy(&out)
    );
    String::from_utf8_lossy(&out).into_owned()
}

fn status(response: &str) -> u16 {
    response
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// An `Authorization` header for the `test` key scoped to `service` (the signature itself is
/// never checked by these tests: the refusals come first).
fn auth_for(service: &str) -> String {
    format!(
        "Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000\r\nX-Amz-Date: 20260101T000000Z\r\n"
    )
}

const JSON_ACM: &str = "X-Amz-Target: CertificateManager.ListCertificates\r\nContent-Type: application/x-amz-json-1.1\r\n";

#[tokio::test]
async fn slow_headers_are_cut_off() {
    let server = quick().await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(b"GET /_airlock/health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // One more header line every 50 ms, never the blank line that ends them.
    let mut buf = [0u8; 256];
    let closed = tokio::time::timeout(BOUND, async {
        loop {
            if s.write_all(b"X-Slow: 1\r\n").await.is_err() {
                return;
            }
            match tokio::time::timeout(Duration::from_millis(50), s.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return,
                _ => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "a slowloris client kept its connection");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn silent_connections_are_closed() {
    let server = quick().await;
    // Nothing at all, and the first bytes of HTTP/2's preface then nothing.
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    let mut stalled = TcpStream::connect(server.addr).await.unwrap();
    stalled.write_all(b"PRI * HTTP/2").await.unwrap();
    assert_eq!(read_until_closed(&mut silent).await, "");
    assert_eq!(read_until_closed(&mut stalled).await, "");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed_and_live_ones_reused() {
    let server = quick().await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    let request = b"GET /_airlock/health HTTP/1.1\r\nHost: x\r\n\r\n";
    // Two requests on one connection: keep-alive works.
    for _ in 0..2 {
        s.write_all(request).await.unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&got).contains("\"status\":\"running\"") {
            let n = tokio::time::timeout(BOUND, s.read(&mut buf))
                .await
                .expect("an answer")
                .unwrap();
            assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&got));
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(status(&String::from_utf8_lossy(&got)), 200);
    }
    // Then idle: closed without a word.
    assert_eq!(read_until_closed(&mut s).await, "");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_body_cut_short_gets_request_timeout_then_close() {
    let server = quick().await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(
        format!("POST / HTTP/1.1\r\nHost: x\r\n{JSON_ACM}Content-Length: 100\r\n\r\n{{").as_bytes(),
    )
    .await
    .unwrap();
    let response = read_until_closed(&mut s).await;
    assert_eq!(status(&response), 400, "{response}");
    assert!(
        response.contains("\"__type\":\"RequestTimeout\""),
        "{response}"
    );
    assert!(
        response.contains("Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed."),
        "{response}"
    );
    assert!(
        response.to_ascii_lowercase().contains("connection: close"),
        "{response}"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_chunked_body_cut_short_gets_request_timeout_in_the_protocols_envelope() {
    let server = quick().await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    // EC2 (by the credential scope), a form body sent in chunks, the last one never sent.
    s.write_all(
        format!(
            "POST / HTTP/1.1\r\nHost: x\r\n{}Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nAction\r\n3\r\n=De",
            auth_for("ec2")
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let response = read_until_closed(&mut s).await;
    assert_eq!(status(&response), 400, "{response}");
    assert!(
        response.contains("<Response><Errors><Error><Code>RequestTimeout</Code>"),
        "{response}"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn an_oversized_content_length_is_answered_before_the_body() {
    let server = quick().await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    // Headers only: the answer must come without the server waiting for 10 MB.
    s.write_all(
        format!(
            "POST / HTTP/1.1\r\nHost: x\r\n{}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 10485760\r\n\r\n",
            auth_for("ec2")
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let response = read_until_closed(&mut s).await;
    assert_eq!(status(&response), 400, "{response}");
    assert!(
        response.contains("<Code>RequestEntityTooLarge</Code>"),
        "{response}"
    );
    assert!(
        response.contains("exceeds the maximum of 1024 bytes"),
        "{response}"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_client_sending_an_oversized_body_reads_the_answer_not_a_reset() {
    let server = server(Duration::from_secs(5), 1024, 1024).await;
    let s = TcpStream::connect(server.addr).await.unwrap();
    let (mut r, mut w) = s.into_split();
    let body = vec![b'a'; 4 * 1024 * 1024];
    // Like most HTTP clients: write the whole body, then read the answer.
    let head = format!(
        "POST / HTTP/1.1\r\nHost: x\r\n{JSON_ACM}Content-Length: {}\r\n\r\n",
        body.len()
    );
    let writer = tokio::spawn(async move {
        w.write_all(head.as_bytes()).await.unwrap();
        w.write_all(&body).await.unwrap();
        w
    });
    let _w = tokio::time::timeout(BOUND, writer)
        .await
        .expect("the body was read (and discarded)")
        .unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(BOUND, r.read_to_end(&mut out))
        .await
        .expect("closed")
        .expect("no connection reset");
    let response = String::from_utf8_lossy(&out);
    assert_eq!(status(&response), 400, "{response}");
    assert!(
        response.contains("\"__type\":\"RequestEntityTooLarge\""),
        "{response}"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn an_oversized_chunked_body_is_answered_once_over_the_limit() {
    let server = quick().await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(
        format!("POST / HTTP/1.1\r\nHost: x\r\n{JSON_ACM}Transfer-Encoding: chunked\r\n\r\n")
            .as_bytes(),
    )
    .await
    .unwrap();
    let chunk = format!("400\r\n{}\r\n", "a".repeat(0x400));
    for _ in 0..2 {
        s.write_all(chunk.as_bytes()).await.unwrap();
    }
    // The body never ends; the answer comes anyway.
    let response = read_until_closed(&mut s).await;
    assert_eq!(status(&response), 400, "{response}");
    assert!(
        response.contains("\"__type\":\"RequestEntityTooLarge\""),
        "{response}"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn connections_from_one_source_are_capped() {
    let server = server(Duration::from_secs(30), 4, 1024).await;
    let mut held = Vec::new();
    for _ in 0..4 {
        // Served: each answers a request and stays open.
        held.push(held_from(&server, [127, 0, 0, 1]).await);
    }
    // The fifth is closed at once, before any request.
    let mut fifth = TcpStream::connect(server.addr).await.unwrap();
    assert_eq!(read_until_closed(&mut fifth).await, "");
    // One closes; a new one is served again.
    held.pop();
    served_again(&server, [127, 0, 0, 1]).await;
    server.stop().await.unwrap();
}

/// Waits (at most [`BOUND`]) until a new connection from `source` is served again: a place
/// freed by a closed connection is given back.
async fn served_again(server: &Running, source: [u8; 4]) {
    let served = tokio::time::timeout(BOUND, async {
        loop {
            let mut s = connect_from(server, source).await;
            let _ = s
                .write_all(b"GET /_airlock/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .await;
            if status(&read_until_closed(&mut s).await) == 200 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(served.is_ok(), "a freed place was never given back");
}

/// A served connection from `source` (a loopback address), held open.
async fn held_from(server: &Running, source: [u8; 4]) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((source, 0))).unwrap();
    let mut s = socket.connect(server.addr).await.unwrap();
    s.write_all(b"GET /_airlock/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = tokio::time::timeout(BOUND, s.read(&mut buf))
        .await
        .expect("an answer")
        .unwrap();
    assert!(n > 0);
    s
}

/// A connection from `source` (a loopback address) that sent nothing yet.
async fn connect_from(server: &Running, source: [u8; 4]) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((source, 0))).unwrap();
    socket.connect(server.addr).await.unwrap()
}

#[tokio::test]
async fn connections_from_all_sources_together_are_capped_with_a_reserve_for_the_few() {
    // Sixteen in all (two more for sources holding fewer than eight), sixteen per source.
    let server = server_capped(Duration::from_secs(30), 16, 16, 1024).await;
    let mut held = Vec::new();
    for _ in 0..16 {
        held.push(held_from(&server, [127, 0, 0, 1]).await);
    }
    // The flooding source is at the cap: its next connection is closed at once.
    let mut over = connect_from(&server, [127, 0, 0, 1]).await;
    assert_eq!(read_until_closed(&mut over).await, "");
    // Two other sources holding none still get in, into the reserve...
    held.push(held_from(&server, [127, 0, 0, 2]).await);
    held.push(held_from(&server, [127, 0, 0, 3]).await);
    // ... which then is full too.
    let mut past = connect_from(&server, [127, 0, 0, 4]).await;
    assert_eq!(read_until_closed(&mut past).await, "");
    // Places closed anywhere are given back.
    held.truncate(14);
    served_again(&server, [127, 0, 0, 4]).await;
    server.stop().await.unwrap();
}

/// Sends `head` (a request without its final blank line) with `Connection: close` and returns
/// the whole response.
async fn exchange(addr: SocketAddr, head: &str, body: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(
        format!(
            "{head}Connection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    read_until_closed(&mut s).await
}

#[tokio::test]
async fn a_scope_naming_another_service_is_refused_with_aws_message() {
    let server = quick().await;
    // An EC2 action (Action + Version) signed for STS.
    let response = exchange(
        server.addr,
        &format!(
            "POST / HTTP/1.1\r\nHost: x\r\n{}Content-Type: application/x-www-form-urlencoded\r\n",
            auth_for("sts")
        ),
        "Action=DescribeRegions&Version=2016-11-15",
    )
    .await;
    assert_eq!(status(&response), 401, "{response}");
    assert!(response.contains("<Code>AuthFailure</Code><Message>Credential should be scoped to correct service: &apos;ec2&apos;. </Message>")
        || response.contains("<Code>AuthFailure</Code><Message>Credential should be scoped to correct service: 'ec2'. </Message>"), "{response}");
    // A JSON service: InvalidSignatureException.
    let response = exchange(
        server.addr,
        &format!(
            "POST / HTTP/1.1\r\nHost: x\r\n{}{JSON_ACM}",
            auth_for("sts")
        ),
        "{}",
    )
    .await;
    assert_eq!(status(&response), 400, "{response}");
    assert!(
        response.contains("\"__type\":\"InvalidSignatureException\""),
        "{response}"
    );
    assert!(
        response.contains("Credential should be scoped to correct service: 'acm'. "),
        "{response}"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_made_up_region_is_refused_with_aws_message() {
    let server = quick().await;
    let auth = auth_for("sts").replace("us-east-1", "xx-fake-1");
    let response = exchange(
        server.addr,
        &format!("POST / HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/x-www-form-urlencoded\r\n"),
        "Action=GetCallerIdentity&Version=2011-06-15",
    )
    .await;
    assert_eq!(status(&response), 403, "{response}");
    assert!(
        response.contains("<Code>SignatureDoesNotMatch</Code>"),
        "{response}"
    );
    assert!(
        response
            .contains("Credential should be scoped to a valid region, not &apos;xx-fake-1&apos;. ")
            || response
                .contains("Credential should be scoped to a valid region, not 'xx-fake-1'. "),
        "{response}"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_security_token_with_a_long_term_key_is_an_invalid_token() {
    let server = quick().await;
    let response = exchange(
        server.addr,
        &format!(
            "POST / HTTP/1.1\r\nHost: x\r\n{}X-Amz-Security-Token: made-up\r\nContent-Type: application/x-www-form-urlencoded\r\n",
            auth_for("sts")
        ),
        "Action=GetCallerIdentity&Version=2011-06-15",
    )
    .await;
    assert_eq!(status(&response), 403, "{response}");
    assert!(
        response.contains("<Code>InvalidClientTokenId</Code>"),
        "{response}"
    );
    assert!(
        response.contains("The security token included in the request is invalid."),
        "{response}"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn two_authorization_headers_are_refused() {
    let server = quick().await;
    let auth = auth_for("sts");
    let first = auth.lines().next().unwrap();
    let response = exchange(
        server.addr,
        &format!(
            "POST / HTTP/1.1\r\nHost: x\r\n{auth}{first}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        ),
        "Action=GetCallerIdentity&Version=2011-06-15",
    )
    .await;
    assert_eq!(status(&response), 403, "{response}");
    assert!(
        response.contains("<Code>IncompleteSignature</Code>"),
        "{response}"
    );
    assert!(
        response
            .contains("not a valid key=value pair (missing equal-sign) in Authorization header"),
        "{response}"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn admin_writes_refuse_what_a_web_page_can_send() {
    let server = quick().await;
    let post = |extra: &'static str| {
        let addr = server.addr;
        async move {
            exchange(
                addr,
                &format!("POST /_airlock/reset HTTP/1.1\r\nHost: {addr}\r\n{extra}"),
                "",
            )
            .await
        }
    };
    // What a cross-site form can send without a preflight: refused.
    let r = post("Content-Type: text/plain\r\n").await;
    assert_eq!(status(&r), 415, "{r}");
    let r =
        post("Content-Type: application/x-www-form-urlencoded\r\nOrigin: http://evil.example\r\n")
            .await;
    assert_eq!(status(&r), 403, "{r}");
    assert!(r.contains("CrossOriginRefused"), "{r}");
    let r = post("").await;
    assert_eq!(status(&r), 403, "{r}");
    assert!(r.contains("X-Airlock-Admin: 1"), "{r}");
    // Another origin, even with the header (a page cannot send it without a preflight that
    // Airlock never grants, but the origin is refused anyway).
    let r = post("X-Airlock-Admin: 1\r\nOrigin: http://evil.example\r\n").await;
    assert_eq!(status(&r), 403, "{r}");
    // The admin header, a JSON content type, or the server's own origin: allowed.
    let r = post("X-Airlock-Admin: 1\r\n").await;
    assert_eq!(status(&r), 200, "{r}");
    assert!(r.contains("{\"reset\":true}"), "{r}");
    let r = post("Content-Type: application/json\r\n").await;
    assert_eq!(status(&r), 200, "{r}");
    let own = format!("X-Airlock-Admin: 1\r\nOrigin: http://{}\r\n", server.addr);
    let r = exchange(
        server.addr,
        &format!(
            "POST /_airlock/reset HTTP/1.1\r\nHost: {}\r\n{own}",
            server.addr
        ),
        "",
    )
    .await;
    assert_eq!(status(&r), 200, "{r}");
    server.stop().await.unwrap();
}

/// A request of `body` to `head` (`METHOD PATH` and header lines), with `Content-Length`.
fn raw(head: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "{head}\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

#[tokio::test]
async fn garbage_on_every_protocol_gets_a_4xx_and_the_server_lives() {
    let mut config = ServerConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        dns_listen: None,
        auth: false,
        max_body: 1024 * 1024,
        limits: Limits {
            read_timeout: Duration::from_millis(300),
            max_connections_per_ip: 64,
            max_connections: 8192,
        },
        ..ServerConfig::default()
    };
    config.services.fabric_slots = 250..=253;
    let server = airlock_server::start(config).await.expect("airlock starts");
    let form = "Content-Type: application/x-www-form-urlencoded";
    let json = "Content-Type: application/x-amz-json-1.1\r\nX-Amz-Target: CertificateManager.ListCertificates";
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let huge = format!(
        "Action=CreateVpc&Version=2016-11-15&CidrBlock={}",
        "9".repeat(900_000)
    );
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "binary noise instead of HTTP",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n".to_vec(),
        ),
        ("a request line of spaces", b"   \r\n\r\n".to_vec()),
        (
            "headers without a colon",
            b"GET / HTTP/1.1\r\nno colon here\r\n\r\n".to_vec(),
        ),
        (
            "ec2: invalid UTF-8",
            raw(
                &format!("POST / HTTP/1.1\r\n{form}"),
                b"Action=Describe\xff\xfeVpcs&Version=2016-11-15",
            ),
        ),
        (
            "ec2: a huge string",
            raw(&format!("POST / HTTP/1.1\r\n{form}"), huge.as_bytes()),
        ),
        (
            "ec2: duplicate keys",
            raw(
                &format!("POST / HTTP/1.1\r\n{form}"),
                b"Action=DescribeVpcs&Action=CreateVpc&Version=2016-11-15&VpcId.1=a&VpcId.1=b",
            ),
        ),
        (
            "query: truncated percent escapes",
            raw(
                &format!("POST / HTTP/1.1\r\n{form}"),
                b"Action=ListRoles&Version=2010-05-08&MaxItems=%Z%",
            ),
        ),
        (
            "json: deep nesting",
            raw(&format!("POST / HTTP/1.1\r\n{json}"), deep.as_bytes()),
        ),
        (
            "json: truncated",
            raw(&format!("POST / HTTP/1.1\r\n{json}"), b"{\"MaxItems\": "),
        ),
        (
            "json: duplicate keys",
            raw(
                &format!("POST / HTTP/1.1\r\n{json}"),
                b"{\"MaxItems\": 1, \"MaxItems\": \"x\"}",
            ),
        ),
        (
            "json: invalid UTF-8",
            raw(
                &format!("POST / HTTP/1.1\r\n{json}"),
                b"{\"NextToken\": \"\xff\"}",
            ),
        ),
        (
            "rest: a query name with a multi-byte character across byte 6",
            raw("GET /b?asul%E2%82%ACs HTTP/1.1", b""),
        ),
        (
            "rest-json: path traversal in a label",
            raw("GET /environments/..%2F..%2Fetc%2Fpasswd HTTP/1.1", b""),
        ),
        (
            "rest-json: a label of dots",
            raw("GET /environments/.. HTTP/1.1", b""),
        ),
        (
            "rest-json: garbage body",
            raw(
                "PUT /environments/e HTTP/1.1\r\nContent-Type: application/json",
                b"\x00\x01{{{",
            ),
        ),
    ];
    let mut bad_header = b"POST / HTTP/1.1\r\nX-Amz-Target: \xff\xfe\r\nContent-Type: application/x-amz-json-1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}".to_vec();
    let mut cases = cases;
    cases.push((
        "a header with invalid UTF-8",
        std::mem::take(&mut bad_header),
    ));
    for (what, bytes) in cases {
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        let _ = s.write_all(&bytes).await;
        let response = read_until_closed(&mut s).await;
        let code = status(&response);
        assert!(
            (400..500).contains(&code),
            "{what}: answered {code}: {}",
            response.chars().take(600).collect::<String>()
        );
    }
    let alive = exchange(
        server.addr,
        "GET /_airlock/health HTTP/1.1\r\nHost: x\r\n",
        "",
    )
    .await;
    assert_eq!(status(&alive), 200, "{alive}");
    server.stop().await.unwrap();
}
