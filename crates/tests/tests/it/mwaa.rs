use airlock_server::{Running, ServerConfig};
use airlock_tests::{default_config, holds, prefixed_config, start_with, wait_until, DEADLINE};
use aws_sdk_ec2::types::{Filter, VpcEndpointType};
use aws_sdk_mwaa::error::ProvideErrorMetadata;
use aws_sdk_mwaa::types::{
    EndpointManagement, Environment, NetworkConfiguration, UpdateNetworkConfigurationInput,
    WebserverAccessMode,
};
use std::net::SocketAddr;
use std::path::PathBuf;

use airlock_tests::world::ROLE;
pub use airlock_tests::Network as World;

pub fn config(data_dir: Option<PathBuf>) -> ServerConfig {
    ServerConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        dns_listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        data_dir,
        services: airlock_services::Config {
            time_scale: 0.001,
            ..Default::default()
        },
        ..ServerConfig::default()
    }
}

async fn clients(server: &Running) -> (aws_sdk_ec2::Client, aws_sdk_mwaa::Client) {
    (
        aws_sdk_ec2::Client::new(&default_config(server).await),
        aws_sdk_mwaa::Client::new(&prefixed_config(server).await),
    )
}

/// The network of the MWAA user guide and an execution role (the world builder's two calls).
pub async fn world(server: &Running) -> World {
    let world = airlock_tests::World::new(server).await;
    world.role().await;
    world.bucket().await;
    world.network().await
}

fn network(subnets: &[&str], groups: &[&str]) -> NetworkConfiguration {
    let mut b = NetworkConfiguration::builder();
    for s in subnets {
        b = b.subnet_ids(*s);
    }
    for g in groups {
        b = b.security_group_ids(*g);
    }
    b.build()
}

pub fn create(
    w: &World,
    name: &str,
) -> aws_sdk_mwaa::operation::create_environment::builders::CreateEnvironmentFluentBuilder {
    w.mwaa
        .create_environment()
        .name(name)
        .execution_role_arn(ROLE)
        .source_bucket_arn(airlock_tests::world::BUCKET_ARN)
        .dag_s3_path("dags")
        .network_configuration(network(&[&w.private[0], &w.private[1]], &[&w.sg]))
}

/// GetEnvironment's environment.
pub async fn environment(mwaa: &aws_sdk_mwaa::Client, name: &str) -> Environment {
    let out = mwaa.get_environment().name(name).send().await.unwrap();
    out.environment.expect("an environment")
}

pub async fn status(mwaa: &aws_sdk_mwaa::Client, name: &str) -> String {
    let env = environment(mwaa, name).await;
    env.status().unwrap().as_str().to_owned()
}

/// Polls until the status is `want`.
pub async fn wait_for(mwaa: &aws_sdk_mwaa::Client, name: &str, want: &str) {
    wait_until(&format!("{name} {want}"), DEADLINE, || async {
        let last = status(mwaa, name).await;
        holds(last == want, last)
    })
    .await
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

#[tokio::test]
async fn a_private_environment_from_creation_to_deletion() {
    let server = start_with(config(None)).await;
    let w = world(&server).await;
    let arn = create(&w, "MyAirflowEnvironment")
        .tags("team", "data")
        .send()
        .await
        .unwrap();
    assert_eq!(
        arn.arn(),
        Some("arn:aws:airflow:us-west-2:000000000000:environment/MyAirflowEnvironment")
    );
    let env = environment(&w.mwaa, "MyAirflowEnvironment").await;
    assert_eq!(env.status().unwrap().as_str(), "CREATING");
    let url = env.webserver_url().unwrap().to_owned();
    let (uuid, rest) = url.split_once("-vpce.c").expect("private form");
    assert_eq!(uuid.len(), 36);
    assert!(rest.ends_with(".us-west-2.airflow.amazonaws.com"), "{url}");
    assert_eq!(
        env.webserver_access_mode().unwrap().as_str(),
        "PRIVATE_ONLY"
    );
    assert_eq!(env.endpoint_management().unwrap().as_str(), "SERVICE");
    assert_eq!(env.service_role_arn(), Some("arn:aws:iam::000000000000:role/aws-service-role/airflow.amazonaws.com/AWSServiceRoleForAmazonMWAA"));
    assert!(env
        .celery_executor_queue()
        .unwrap()
        .starts_with("arn:aws:sqs:us-west-2:"));
    let web_service = env.webserver_vpc_endpoint_service().unwrap().to_owned();
    let db_service = env.database_vpc_endpoint_service().unwrap().to_owned();
    assert!(
        web_service.starts_with("com.amazonaws.vpce.us-west-2.vpce-svc-")
            && web_service.len() == "com.amazonaws.vpce.us-west-2.vpce-svc-".len() + 17
    );
    assert_eq!(
        env.tags().unwrap().get("team").map(String::as_str),
        Some("data")
    );
    let log = env.logging_configuration().unwrap().task_logs().unwrap();
    assert_eq!(
        log.cloud_watch_log_group_arn(),
        Some("arn:aws:logs:us-west-2:000000000000:log-group:airflow-MyAirflowEnvironment-Task")
    );

    // MWAA's endpoints, in the customer's VPC.
    let eps = w
        .ec2
        .describe_vpc_endpoints()
        .filters(filter("vpc-id", &w.vpc))
        .send()
        .await
        .unwrap();
    assert_eq!(eps.vpc_endpoints().len(), 2);
    let mut names: Vec<&str> = eps
        .vpc_endpoints()
        .iter()
        .filter_map(|e| e.service_name())
        .collect();
    names.sort();
    let mut want = vec![web_service.as_str(), db_service.as_str()];
    want.sort();
    assert_eq!(names, want);
    for e in eps.vpc_endpoints() {
        assert_eq!(e.vpc_endpoint_type().map(|t| t.as_str()), Some("Interface"));
        assert_eq!(e.subnet_ids().len(), 2);
        assert_eq!(e.groups()[0].group_id(), Some(w.sg.as_str()));
        assert!(e
            .tags()
            .iter()
            .any(|t| t.key() == Some("AmazonMWAAManaged")));
        assert!(e.dns_entries()[0]
            .dns_name()
            .unwrap()
            .contains(".vpce-svc-"));
    }
    let svc = w
        .ec2
        .describe_vpc_endpoint_services()
        .service_names(&web_service)
        .send()
        .await
        .unwrap();
    assert_eq!(svc.service_details().len(), 1);
    let enis = w
        .ec2
        .describe_network_interfaces()
        .filters(filter("vpc-id", &w.vpc))
        .filters(filter("interface-type", "vpc_endpoint"))
        .send()
        .await
        .unwrap();
    assert_eq!(enis.network_interfaces().len(), 4);

    // Tokens need an available environment.
    let err = w
        .mwaa
        .create_cli_token()
        .name("MyAirflowEnvironment")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    wait_for(&w.mwaa, "MyAirflowEnvironment", "AVAILABLE").await;
    let token = w
        .mwaa
        .create_cli_token()
        .name("MyAirflowEnvironment")
        .send()
        .await
        .unwrap();
    assert_eq!(token.web_server_hostname(), Some(url.as_str()));
    let web = w
        .mwaa
        .create_web_login_token()
        .name("MyAirflowEnvironment")
        .send()
        .await
        .unwrap();
    assert_eq!(web.web_server_hostname(), Some(url.as_str()));
    assert_eq!(web.iam_identity(), Some("root"));
    assert!(
        !web.airflow_identity().unwrap().is_empty() && web.airflow_identity().unwrap().len() <= 64
    );

    // The REST API through InvokeRestApi.
    let dags = w
        .mwaa
        .invoke_rest_api()
        .name("MyAirflowEnvironment")
        .path("/dags")
        .method(aws_sdk_mwaa::types::RestApiMethod::Get)
        .send()
        .await
        .unwrap();
    assert_eq!(dags.rest_api_status_code(), Some(200));
    let err = w
        .mwaa
        .invoke_rest_api()
        .name("MyAirflowEnvironment")
        .path("/dags/nope")
        .method(aws_sdk_mwaa::types::RestApiMethod::Get)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("RestApiClientException"));

    // Tags by ARN.
    w.mwaa
        .tag_resource()
        .resource_arn(arn.arn().unwrap())
        .tags("cost", "1")
        .send()
        .await
        .unwrap();
    w.mwaa
        .untag_resource()
        .resource_arn(arn.arn().unwrap())
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    let tags = w
        .mwaa
        .list_tags_for_resource()
        .resource_arn(arn.arn().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().unwrap().len(), 1);
    // GetEnvironment (answered before the change above) shows the tags as they are now.
    let env = environment(&w.mwaa, "MyAirflowEnvironment").await;
    let shown = env.tags().unwrap();
    assert_eq!(shown.get("cost").map(String::as_str), Some("1"));
    assert!(!shown.contains_key("team"));
    let listed = w.mwaa.list_environments().send().await.unwrap();
    assert_eq!(listed.environments(), ["MyAirflowEnvironment"]);

    // PUBLIC_ONLY: the webserver endpoint goes, the URL takes the public form.
    w.mwaa
        .update_environment()
        .name("MyAirflowEnvironment")
        .webserver_access_mode(WebserverAccessMode::PublicOnly)
        .network_configuration(
            UpdateNetworkConfigurationInput::builder()
                .security_group_ids(&w.sg)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(status(&w.mwaa, "MyAirflowEnvironment").await, "UPDATING");
    let err = w
        .mwaa
        .update_environment()
        .name("MyAirflowEnvironment")
        .max_workers(3)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    wait_for(&w.mwaa, "MyAirflowEnvironment", "AVAILABLE").await;
    let env = environment(&w.mwaa, "MyAirflowEnvironment").await;
    assert_eq!(
        env.webserver_url(),
        Some(url.replace("-vpce.", ".").as_str())
    );
    assert!(env.webserver_vpc_endpoint_service().is_none());
    let eps = w
        .ec2
        .describe_vpc_endpoints()
        .filters(filter("vpc-id", &w.vpc))
        .send()
        .await
        .unwrap();
    assert_eq!(eps.vpc_endpoints().len(), 1);

    w.mwaa
        .delete_environment()
        .name("MyAirflowEnvironment")
        .send()
        .await
        .unwrap();
    assert_eq!(status(&w.mwaa, "MyAirflowEnvironment").await, "DELETING");
    let gone = wait_until("MyAirflowEnvironment gone", DEADLINE, || async {
        match w
            .mwaa
            .get_environment()
            .name("MyAirflowEnvironment")
            .send()
            .await
        {
            Ok(o) => Err(o.environment().and_then(|e| e.status()).cloned()),
            Err(e) => Ok(e.code().map(str::to_owned)),
        }
    })
    .await;
    assert_eq!(gone.as_deref(), Some("ResourceNotFoundException"));
    // The ticker removes what the environment made.
    wait_until("the environment's endpoints removed", DEADLINE, || async {
        let eps = w
            .ec2
            .describe_vpc_endpoints()
            .filters(filter("vpc-id", &w.vpc))
            .send()
            .await
            .unwrap();
        holds(eps.vpc_endpoints().is_empty(), eps.vpc_endpoints().len())
    })
    .await;
    assert!(w
        .mwaa
        .list_environments()
        .send()
        .await
        .unwrap()
        .environments()
        .is_empty());
}

#[tokio::test]
async fn customer_managed_endpoints_park_the_environment_in_pending() {
    let server = start_with(config(None)).await;
    let w = world(&server).await;
    create(&w, "byo")
        .endpoint_management(EndpointManagement::Customer)
        .send()
        .await
        .unwrap();
    let eps = w
        .ec2
        .describe_vpc_endpoints()
        .filters(filter("vpc-id", &w.vpc))
        .send()
        .await
        .unwrap();
    assert!(
        eps.vpc_endpoints().is_empty(),
        "MWAA creates nothing with CUSTOMER"
    );
    wait_for(&w.mwaa, "byo", "PENDING").await;
    let env = environment(&w.mwaa, "byo").await;
    for service in [
        env.webserver_vpc_endpoint_service().unwrap(),
        env.database_vpc_endpoint_service().unwrap(),
    ] {
        w.ec2
            .create_vpc_endpoint()
            .vpc_endpoint_type(VpcEndpointType::Interface)
            .vpc_id(&w.vpc)
            .service_name(service)
            .subnet_ids(&w.private[0])
            .subnet_ids(&w.private[1])
            .security_group_ids(&w.sg)
            .send()
            .await
            .unwrap();
    }
    wait_for(&w.mwaa, "byo", "AVAILABLE").await;
}

#[tokio::test]
async fn invalid_requests_are_refused_and_create_nothing() {
    let server = start_with(config(None)).await;
    let w = world(&server).await;
    let iam = aws_sdk_iam::Client::new(&default_config(&server).await);
    iam.create_role()
        .role_name("ec2-only")
        .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#)
        .send()
        .await
        .unwrap();
    let other_vpc = w
        .ec2
        .create_vpc()
        .cidr_block("10.7.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_owned();
    let foreign_sg = w
        .ec2
        .create_security_group()
        .group_name("x")
        .description("x")
        .vpc_id(&other_vpc)
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_owned();
    let same_az = w.subnet("10.192.22.0/24", "us-west-2a").await;
    let cases: Vec<(
        &str,
        aws_sdk_mwaa::operation::create_environment::builders::CreateEnvironmentFluentBuilder,
    )> = vec![
        (
            "one subnet",
            create(&w, "e1").network_configuration(network(&[&w.private[0]], &[&w.sg])),
        ),
        (
            "public subnet",
            create(&w, "e2").network_configuration(network(&[&w.public, &w.private[1]], &[&w.sg])),
        ),
        (
            "same zone",
            create(&w, "e3").network_configuration(network(&[&w.private[0], &same_az], &[&w.sg])),
        ),
        (
            "unknown subnet",
            create(&w, "e4").network_configuration(network(
                &[&w.private[0], "subnet-0123456789abcdef0"],
                &[&w.sg],
            )),
        ),
        (
            "group of another VPC",
            create(&w, "e5")
                .network_configuration(network(&[&w.private[0], &w.private[1]], &[&foreign_sg])),
        ),
        (
            "no such role",
            create(&w, "e6").execution_role_arn("arn:aws:iam::000000000000:role/nobody"),
        ),
        (
            "role MWAA cannot assume",
            create(&w, "e7").execution_role_arn("arn:aws:iam::000000000000:role/ec2-only"),
        ),
        ("bad version", create(&w, "e8").airflow_version("1.10.12")),
        ("bad class", create(&w, "e9").environment_class("mw1.huge")),
        ("too many workers", create(&w, "e10").max_workers(26)),
        (
            "micro with two schedulers",
            create(&w, "e11")
                .environment_class("mw1.micro")
                .schedulers(2),
        ),
        ("bad name", create(&w, "1-starts-with-a-digit")),
        (
            "bucket pattern",
            create(&w, "e12").source_bucket_arn("arn:aws:s3:::Bad_Bucket"),
        ),
        (
            "PUBLIC_AND_PRIVATE before Airflow 3.2",
            create(&w, "e13").webserver_access_mode(WebserverAccessMode::PublicAndPrivate),
        ),
        (
            "maintenance window",
            create(&w, "e14").weekly_maintenance_window_start("FRI:12:15"),
        ),
    ];
    for (what, req) in cases {
        let err = req.send().await.expect_err(what);
        assert_eq!(
            err.code(),
            Some("ValidationException"),
            "{what}: {:?}",
            err.message()
        );
    }
    assert!(w
        .mwaa
        .list_environments()
        .send()
        .await
        .unwrap()
        .environments()
        .is_empty());
    let eps = w.ec2.describe_vpc_endpoints().send().await.unwrap();
    assert!(eps.vpc_endpoints().is_empty());
    create(&w, "dup").send().await.unwrap();
    let err = create(&w, "dup").send().await.unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    let err = w
        .mwaa
        .get_environment()
        .name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
    let err = w
        .mwaa
        .delete_environment()
        .name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn a_group_without_the_self_referencing_rule_ends_in_create_failed() {
    let server = start_with(config(None)).await;
    let w = world(&server).await;
    let lonely = w
        .ec2
        .create_security_group()
        .group_name("lonely")
        .description("no self rule")
        .vpc_id(&w.vpc)
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_owned();
    create(&w, "broken")
        .network_configuration(network(&[&w.private[0], &w.private[1]], &[&lonely]))
        .send()
        .await
        .unwrap();
    wait_for(&w.mwaa, "broken", "CREATE_FAILED").await;
    let env = environment(&w.mwaa, "broken").await;
    let error = env.last_update().unwrap().error().unwrap();
    assert_eq!(error.error_code(), Some("INCORRECT_CONFIGURATION"));
    let err = w
        .mwaa
        .update_environment()
        .name("broken")
        .max_workers(3)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.message(),
        Some("Environments with CREATE_FAILED status cannot be updated.")
    );
}

#[tokio::test]
async fn creation_resumes_after_a_restart() {
    let dir = std::env::temp_dir().join(format!("airlock-mwaa-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let server = start_with(config(Some(dir.clone()))).await;
    let w = world(&server).await;
    create(&w, "durable").send().await.unwrap();
    assert_eq!(status(&w.mwaa, "durable").await, "CREATING");
    server.stop().await.unwrap();
    let server = start_with(config(Some(dir.clone()))).await;
    let (_, mwaa) = clients(&server).await;
    wait_for(&mwaa, "durable", "AVAILABLE").await;
    server.stop().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_failing_update_ends_in_update_failed_and_rolls_back() {
    let server = start_with(config(None)).await;
    let w = world(&server).await;
    create(&w, "steady").send().await.unwrap();
    wait_for(&w.mwaa, "steady", "AVAILABLE").await;
    let lonely = w
        .ec2
        .create_security_group()
        .group_name("lonely")
        .description("no self rule")
        .vpc_id(&w.vpc)
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_owned();
    w.mwaa
        .update_environment()
        .name("steady")
        .max_workers(5)
        .network_configuration(
            UpdateNetworkConfigurationInput::builder()
                .security_group_ids(&lonely)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    wait_for(&w.mwaa, "steady", "UPDATE_FAILED").await;
    // The ticker then rolls the network back.
    let env = wait_until("steady rolled back to its group", DEADLINE, || async {
        let env = environment(&w.mwaa, "steady").await;
        let groups = env
            .network_configuration()
            .map(|n| n.security_group_ids().to_vec());
        holds(
            groups.as_deref() == Some(std::slice::from_ref(&w.sg)),
            groups,
        )
        .map(|()| env)
    })
    .await;
    assert_eq!(
        env.last_update().unwrap().status().map(|s| s.as_str()),
        Some("FAILED")
    );
    assert_eq!(
        env.network_configuration().unwrap().security_group_ids(),
        std::slice::from_ref(&w.sg)
    );
    assert_eq!(env.max_workers(), Some(10));
    // An environment in UPDATE_FAILED can be updated again.
    w.mwaa
        .update_environment()
        .name("steady")
        .max_workers(4)
        .send()
        .await
        .unwrap();
    wait_for(&w.mwaa, "steady", "AVAILABLE").await;
}
