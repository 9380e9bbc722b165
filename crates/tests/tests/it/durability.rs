use airlock_server::ServerConfig;
use airlock_tests::{default_config, start_with};
use std::net::SocketAddr;

#[tokio::test]
async fn state_survives_a_restart_on_the_same_data_dir() {
    let dir = std::env::temp_dir().join(format!("airlock-it-{}-{}", std::process::id(), line!()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = ServerConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        dns_listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        data_dir: Some(dir.clone()),
        ..ServerConfig::default()
    };
    let server = start_with(config.clone()).await;
    let ec2 = aws_sdk_ec2::Client::new(&default_config(&server).await);
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.50.0.0/16")
        .send()
        .await
        .unwrap();
    let id = vpc.vpc().unwrap().vpc_id().unwrap().to_owned();
    let default_vpc = ec2
        .describe_vpcs()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("is-default")
                .values("true")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let default_id = default_vpc.vpcs()[0].vpc_id().unwrap().to_owned();
    let ca = server.state.ca.cert_pem(&server.state.store).unwrap();
    server.stop().await.unwrap();

    let server = start_with(config).await;
    assert_eq!(
        server.state.ca.cert_pem(&server.state.store).unwrap(),
        ca,
        "the local CA survives a restart"
    );
    let ec2 = aws_sdk_ec2::Client::new(&default_config(&server).await);
    let vpcs = ec2.describe_vpcs().send().await.unwrap();
    let ids: Vec<&str> = vpcs.vpcs().iter().filter_map(|v| v.vpc_id()).collect();
    assert!(
        ids.contains(&id.as_str()) && ids.contains(&default_id.as_str()),
        "{ids:?}"
    );
    assert_eq!(ids.len(), 2);
    server.stop().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
