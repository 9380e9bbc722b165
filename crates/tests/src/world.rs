//! The world builder: one call each for the pieces the integration tests keep building: the MWAA
//! user guide's network, an execution role and an AVAILABLE environment, an imported ACM
//! certificate, and an internet-facing ALB with an HTTPS listener in front of given addresses.

use crate::{default_config, prefixed_config, wait_until, DEADLINE};
use airlock_server::Running;
use aws_sdk_ec2::types::{Filter, IpPermission, UserIdGroupPair};
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Certificate, Matcher, ProtocolEnum, TargetDescription, TargetTypeEnum,
};
use aws_sdk_mwaa::types::NetworkConfiguration;

/// The execution role's trust policy (MWAA's two service principals).
pub const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["airflow.amazonaws.com","airflow-env.amazonaws.com"]},"Action":"sts:AssumeRole"}]}"#;
/// The execution role [`World::role`] creates.
pub const ROLE: &str = "arn:aws:iam::000000000000:role/mwaa-exec";

/// SDK clients for one server (default `test` credentials, us-west-2).
#[derive(Clone)]
pub struct World {
    pub ec2: aws_sdk_ec2::Client,
    pub mwaa: aws_sdk_mwaa::Client,
    pub iam: aws_sdk_iam::Client,
    pub acm: aws_sdk_acm::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    /// Path-style (`http://127.0.0.1:PORT/bucket/key`): the endpoint is an address, which
    /// cannot take a bucket as a subdomain.
    pub s3: aws_sdk_s3::Client,
}

/// The network of the MWAA user guide (what [`World::network`] made), with the clients that
/// made it.
#[derive(Clone)]
pub struct Network {
    pub ec2: aws_sdk_ec2::Client,
    pub mwaa: aws_sdk_mwaa::Client,
    pub vpc: String,
    /// Two private subnets (us-west-2a, us-west-2b) routed through a NAT gateway.
    pub private: [String; 2],
    /// A public subnet (us-west-2a) routed through the internet gateway.
    pub public: String,
    /// A group with the self-referencing rule MWAA needs.
    pub sg: String,
}

/// What [`World::environment`] made.
pub struct Environment {
    pub name: String,
    pub arn: String,
    pub webserver_url: String,
    /// The webserver's VPC endpoint service name.
    pub endpoint_service: String,
    /// The private addresses of the webserver endpoint's interfaces, one per subnet.
    pub ips: Vec<String>,
}

/// What [`World::load_balancer`] made.
pub struct LoadBalancer {
    pub arn: String,
    pub dns: String,
    pub target_group: String,
    pub listener: String,
    /// The second public subnet (us-west-2b) the load balancer needed.
    pub public_b: String,
}

/// The source bucket of the tests' environments.
pub const BUCKET: &str = "my-airflow-bucket";
pub const BUCKET_ARN: &str = "arn:aws:s3:::my-airflow-bucket";

/// The DAG files [`World::bucket`] puts under `dags/`: ids and schedules.
pub const DAGS: [(&str, &str); 3] = [
    ("example_bash_operator", "0 0 * * *"),
    ("example_python_operator", "@once"),
    ("tutorial", "@daily"),
];

/// Creates bucket `name` with `region` as its location constraint.
pub async fn make_bucket(s3: &aws_sdk_s3::Client, name: &str, region: &str) {
    use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
    s3.create_bucket()
        .bucket(name)
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// Turns versioning on for bucket `name`.
pub async fn enable_versioning(s3: &aws_sdk_s3::Client, name: &str) {
    use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
    s3.put_bucket_versioning()
        .bucket(name)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// Blocks public access to bucket `name` in all four ways, or in three (`all` false: public
/// buckets stay allowed).
pub async fn block_public_access(s3: &aws_sdk_s3::Client, name: &str, all: bool) {
    use aws_sdk_s3::types::PublicAccessBlockConfiguration;
    s3.put_public_access_block()
        .bucket(name)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(all)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// An S3 client for Airlock: path-style addressing.
pub fn s3_client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(true)
            .build(),
    )
}

pub fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

impl World {
    pub async fn new(server: &Running) -> World {
        let config = default_config(server).await;
        World {
            ec2: aws_sdk_ec2::Client::new(&config),
            mwaa: aws_sdk_mwaa::Client::new(&prefixed_config(server).await),
            iam: aws_sdk_iam::Client::new(&config),
            acm: aws_sdk_acm::Client::new(&config),
            elb: aws_sdk_elasticloadbalancingv2::Client::new(&config),
            s3: s3_client(&config),
        }
    }

    /// The source bucket [`BUCKET`] as MWAA requires it (in us-west-2, versioned, every public
    /// access blocked) with the DAG files [`DAGS`] under `dags/` (created once; a second call
    /// finds it).
    pub async fn bucket(&self) {
        if self.s3.head_bucket().bucket(BUCKET).send().await.is_ok() {
            return;
        }
        make_bucket(&self.s3, BUCKET, "us-west-2").await;
        enable_versioning(&self.s3, BUCKET).await;
        block_public_access(&self.s3, BUCKET, true).await;
        for (id, schedule) in DAGS {
            let source = format!(
                "from airflow import DAG\nimport pendulum\n\nwith DAG(\n    dag_id=\"{id}\",\n    \
                 schedule=\"{schedule}\",\n    start_date=pendulum.datetime(2024, 1, 1),\n) as dag:\n    pass\n"
            );
            self.s3
                .put_object()
                .bucket(BUCKET)
                .key(format!("dags/{id}.py"))
                .body(source.into_bytes().into())
                .send()
                .await
                .unwrap();
        }
    }

    /// The MWAA user guide's network: a VPC, a public subnet behind an internet gateway, two
    /// private subnets in two zones behind a NAT gateway, and a self-referencing group.
    pub async fn network(&self) -> Network {
        let ec2 = &self.ec2;
        let vpc = ec2
            .create_vpc()
            .cidr_block("10.192.0.0/16")
            .send()
            .await
            .unwrap()
            .vpc()
            .unwrap()
            .vpc_id()
            .unwrap()
            .to_owned();
        let public = self.subnet(&vpc, "10.192.10.0/24", "us-west-2a").await;
        let private = [
            self.subnet(&vpc, "10.192.20.0/24", "us-west-2a").await,
            self.subnet(&vpc, "10.192.21.0/24", "us-west-2b").await,
        ];
        let igw = ec2
            .create_internet_gateway()
            .send()
            .await
            .unwrap()
            .internet_gateway()
            .unwrap()
            .internet_gateway_id()
            .unwrap()
            .to_owned();
        ec2.attach_internet_gateway()
            .internet_gateway_id(&igw)
            .vpc_id(&vpc)
            .send()
            .await
            .unwrap();
        let public_rt = self.route_table(&vpc).await;
        ec2.create_route()
            .route_table_id(&public_rt)
            .destination_cidr_block("0.0.0.0/0")
            .gateway_id(&igw)
            .send()
            .await
            .unwrap();
        ec2.associate_route_table()
            .route_table_id(&public_rt)
            .subnet_id(&public)
            .send()
            .await
            .unwrap();
        let eip = ec2.allocate_address().send().await.unwrap();
        let nat = ec2
            .create_nat_gateway()
            .subnet_id(&public)
            .allocation_id(eip.allocation_id().unwrap())
            .send()
            .await
            .unwrap();
        let private_rt = self.route_table(&vpc).await;
        ec2.create_route()
            .route_table_id(&private_rt)
            .destination_cidr_block("0.0.0.0/0")
            .nat_gateway_id(nat.nat_gateway().unwrap().nat_gateway_id().unwrap())
            .send()
            .await
            .unwrap();
        for s in &private {
            ec2.associate_route_table()
                .route_table_id(&private_rt)
                .subnet_id(s)
                .send()
                .await
                .unwrap();
        }
        let sg = ec2
            .create_security_group()
            .group_name("mwaa")
            .description("MWAA")
            .vpc_id(&vpc)
            .send()
            .await
            .unwrap()
            .group_id()
            .unwrap()
            .to_owned();
        ec2.authorize_security_group_ingress()
            .group_id(&sg)
            .ip_permissions(
                IpPermission::builder()
                    .ip_protocol("-1")
                    .user_id_group_pairs(UserIdGroupPair::builder().group_id(&sg).build())
                    .build(),
            )
            .send()
            .await
            .unwrap();
        Network {
            ec2: self.ec2.clone(),
            mwaa: self.mwaa.clone(),
            vpc,
            private,
            public,
            sg,
        }
    }

    async fn subnet(&self, vpc: &str, cidr: &str, az: &str) -> String {
        create_subnet(&self.ec2, vpc, cidr, az).await
    }

    async fn route_table(&self, vpc: &str) -> String {
        self.ec2
            .create_route_table()
            .vpc_id(vpc)
            .send()
            .await
            .unwrap()
            .route_table()
            .unwrap()
            .route_table_id()
            .unwrap()
            .to_owned()
    }

    /// The execution role [`ROLE`] (created once; a second call finds it).
    pub async fn role(&self) -> String {
        if let Ok(r) = self.iam.get_role().role_name("mwaa-exec").send().await {
            return r.role().unwrap().arn().to_owned();
        }
        self.iam
            .create_role()
            .role_name("mwaa-exec")
            .assume_role_policy_document(TRUST)
            .send()
            .await
            .unwrap()
            .role()
            .unwrap()
            .arn()
            .to_owned()
    }

    /// An environment `name` in the network's private subnets and group (private webserver),
    /// with the execution role, waited until AVAILABLE.
    pub async fn environment(&self, net: &Network, name: &str) -> Environment {
        let role = self.role().await;
        self.bucket().await;
        let arn = self
            .mwaa
            .create_environment()
            .name(name)
            .execution_role_arn(role)
            .source_bucket_arn(BUCKET_ARN)
            .dag_s3_path("dags")
            .network_configuration(
                NetworkConfiguration::builder()
                    .subnet_ids(&net.private[0])
                    .subnet_ids(&net.private[1])
                    .security_group_ids(&net.sg)
                    .build(),
            )
            .send()
            .await
            .unwrap()
            .arn()
            .unwrap()
            .to_owned();
        let env = wait_until(&format!("{name} AVAILABLE"), DEADLINE, || async {
            let env = self
                .mwaa
                .get_environment()
                .name(name)
                .send()
                .await
                .unwrap()
                .environment
                .expect("an environment");
            match env.status().map(|s| s.as_str()) {
                Some("AVAILABLE") => Ok(env),
                other => Err(other.map(str::to_owned)),
            }
        })
        .await;
        let endpoint_service = env.webserver_vpc_endpoint_service().unwrap().to_owned();
        let eps = self
            .ec2
            .describe_vpc_endpoints()
            .filters(filter("service-name", &endpoint_service))
            .send()
            .await
            .unwrap();
        let enis = self
            .ec2
            .describe_network_interfaces()
            .set_network_interface_ids(Some(
                eps.vpc_endpoints()[0].network_interface_ids().to_vec(),
            ))
            .send()
            .await
            .unwrap();
        let ips = enis
            .network_interfaces()
            .iter()
            .map(|n| n.private_ip_address().unwrap().to_owned())
            .collect();
        Environment {
            name: name.to_owned(),
            arn,
            webserver_url: env.webserver_url().unwrap().to_owned(),
            endpoint_service,
            ips,
        }
    }

    /// Imports a certificate (PEM leaf, optional PEM chain, PEM key) into ACM: its ARN.
    pub async fn certificate(&self, leaf: &str, chain: Option<&str>, key: &str) -> String {
        let blob = |s: &str| aws_sdk_acm::primitives::Blob::new(s.as_bytes().to_vec());
        self.acm
            .import_certificate()
            .certificate(blob(leaf))
            .set_certificate_chain(chain.map(blob))
            .private_key(blob(key))
            .send()
            .await
            .unwrap()
            .certificate_arn()
            .unwrap()
            .to_owned()
    }

    /// An internet-facing ALB `name` with security group `group`, in the public subnet and a
    /// second one it adds (us-west-2b), waited until active; an IP target group `{name}-targets`
    /// (HTTPS 443, the `matcher` codes) holding `targets`; and an HTTPS listener on 443 with
    /// `certificate` forwarding to it. Call once per network.
    pub async fn load_balancer(
        &self,
        net: &Network,
        name: &str,
        group: &str,
        targets: &[String],
        certificate: &str,
        matcher: &str,
    ) -> LoadBalancer {
        let public_b = net.second_public_subnet().await;
        let elb = &self.elb;
        let lb = elb
            .create_load_balancer()
            .name(name)
            .subnets(&net.public)
            .subnets(&public_b)
            .security_groups(group)
            .send()
            .await
            .unwrap();
        let lb = &lb.load_balancers()[0];
        let arn = lb.load_balancer_arn().unwrap().to_owned();
        let dns = lb.dns_name().unwrap().to_owned();
        wait_active(elb, &arn).await;
        let tg = elb
            .create_target_group()
            .name(format!("{name}-targets"))
            .protocol(ProtocolEnum::Https)
            .port(443)
            .vpc_id(&net.vpc)
            .target_type(TargetTypeEnum::Ip)
            .matcher(Matcher::builder().http_code(matcher).build())
            .send()
            .await
            .unwrap();
        let target_group = tg.target_groups()[0].target_group_arn().unwrap().to_owned();
        let mut register = elb.register_targets().target_group_arn(&target_group);
        for t in targets {
            register = register.targets(TargetDescription::builder().id(t).build());
        }
        register.send().await.unwrap();
        let listener = elb
            .create_listener()
            .load_balancer_arn(&arn)
            .protocol(ProtocolEnum::Https)
            .port(443)
            .certificates(Certificate::builder().certificate_arn(certificate).build())
            .default_actions(
                Action::builder()
                    .r#type(ActionTypeEnum::Forward)
                    .target_group_arn(&target_group)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        LoadBalancer {
            arn,
            dns,
            target_group,
            listener: listener.listeners()[0].listener_arn().unwrap().to_owned(),
            public_b,
        }
    }
}

/// A VPC with block `cidr` and DNS hostnames on, and a subnet per `(cidr, zone)`: the VPC's id
/// and the subnets' ids.
pub async fn vpc_with_subnets(
    ec2: &aws_sdk_ec2::Client,
    cidr: &str,
    subnets: &[(&str, &str)],
) -> (String, Vec<String>) {
    let vpc = ec2.create_vpc().cidr_block(cidr).send().await.unwrap();
    let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_owned();
    enable_dns_hostnames(ec2, &vpc).await;
    let mut ids = Vec::new();
    for (cidr, az) in subnets {
        ids.push(create_subnet(ec2, &vpc, cidr, az).await);
    }
    (vpc, ids)
}

/// `true` as EC2's Modify*Attribute calls take it.
pub fn yes() -> aws_sdk_ec2::types::AttributeBooleanValue {
    aws_sdk_ec2::types::AttributeBooleanValue::builder()
        .value(true)
        .build()
}

/// Turns DNS hostnames on for `vpc` (interface endpoints' private DNS needs them).
pub async fn enable_dns_hostnames(ec2: &aws_sdk_ec2::Client, vpc: &str) {
    ec2.modify_vpc_attribute()
        .vpc_id(vpc)
        .enable_dns_hostnames(yes())
        .send()
        .await
        .unwrap();
}

/// A subnet of `vpc` with block `cidr` in zone `az`; its id.
pub async fn create_subnet(ec2: &aws_sdk_ec2::Client, vpc: &str, cidr: &str, az: &str) -> String {
    ec2.create_subnet()
        .vpc_id(vpc)
        .cidr_block(cidr)
        .availability_zone(az)
        .send()
        .await
        .unwrap()
        .subnet()
        .unwrap()
        .subnet_id()
        .unwrap()
        .to_owned()
}

impl Network {
    /// Associates secondary IPv4 block `cidr` with the network's VPC.
    pub async fn grow(&self, cidr: &str) {
        self.ec2
            .associate_vpc_cidr_block()
            .vpc_id(&self.vpc)
            .cidr_block(cidr)
            .send()
            .await
            .unwrap();
    }

    /// Another subnet of the network's VPC (`cidr` in zone `az`); its id.
    pub async fn subnet(&self, cidr: &str, az: &str) -> String {
        create_subnet(&self.ec2, &self.vpc, cidr, az).await
    }

    /// A second public subnet (10.192.11.0/24, us-west-2b) on the public subnet's route table.
    pub async fn second_public_subnet(&self) -> String {
        let s = self.subnet("10.192.11.0/24", "us-west-2b").await;
        let rts = self
            .ec2
            .describe_route_tables()
            .filters(filter("association.subnet-id", &self.public))
            .send()
            .await
            .unwrap();
        let rt = rts.route_tables()[0].route_table_id().unwrap().to_owned();
        self.ec2
            .associate_route_table()
            .route_table_id(rt)
            .subnet_id(&s)
            .send()
            .await
            .unwrap();
        s
    }
}

/// Polls until the load balancer is active (it is `provisioning` until then).
pub async fn wait_active(elb: &aws_sdk_elasticloadbalancingv2::Client, arn: &str) {
    wait_until(&format!("{arn} active"), DEADLINE, || async {
        let d = elb
            .describe_load_balancers()
            .load_balancer_arns(arn)
            .send()
            .await
            .unwrap();
        let code = d.load_balancers()[0]
            .state()
            .unwrap()
            .code()
            .unwrap()
            .as_str()
            .to_owned();
        assert!(
            code == "active" || code == "provisioning",
            "{arn} is {code}"
        );
        crate::holds(code == "active", code)
    })
    .await
}
