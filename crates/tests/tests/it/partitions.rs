//! ARNs in the partition of the region a request is signed for, as AWS writes them:
//! `arn:aws-cn:` in China, `arn:aws-us-gov:` in GovCloud, `arn:aws:` elsewhere; and ARNs of any
//! partition accepted where a request names one.

use airlock_tests::{sdk_config, start};

#[tokio::test]
async fn arns_carry_the_partition_of_the_region() {
    let server = start().await;
    for (region, partition) in [
        ("cn-north-1", "aws-cn"),
        ("us-gov-west-1", "aws-us-gov"),
        ("eu-west-1", "aws"),
    ] {
        let conf = sdk_config(&server, "test", "test", None, region).await;
        let me = aws_sdk_sts::Client::new(&conf)
            .get_caller_identity()
            .send()
            .await
            .unwrap();
        let root = format!("arn:{partition}:iam::000000000000:root");
        assert_eq!(me.arn(), Some(root.as_str()), "{region}");

        // A role trusting the account by its root ARN in that partition, an AWS managed
        // policy attached by its ARN in that partition, and a session of the role.
        let iam = aws_sdk_iam::Client::new(&conf);
        let name = format!("deployer-{partition}");
        let trust = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{root}"}},"Action":"sts:AssumeRole"}}]}}"#
        );
        let role = iam
            .create_role()
            .role_name(&name)
            .assume_role_policy_document(trust)
            .send()
            .await
            .unwrap();
        let role_arn = format!("arn:{partition}:iam::000000000000:role/{name}");
        assert_eq!(role.role().unwrap().arn(), role_arn);
        let admin = format!("arn:{partition}:iam::aws:policy/AdministratorAccess");
        iam.attach_role_policy()
            .role_name(&name)
            .policy_arn(&admin)
            .send()
            .await
            .unwrap();
        let attached = iam
            .list_attached_role_policies()
            .role_name(&name)
            .send()
            .await
            .unwrap();
        assert_eq!(
            attached.attached_policies()[0].policy_name(),
            Some("AdministratorAccess")
        );
        let session = aws_sdk_sts::Client::new(&conf)
            .assume_role()
            .role_arn(&role_arn)
            .role_session_name("s1")
            .send()
            .await
            .unwrap();
        let assumed = format!("arn:{partition}:sts::000000000000:assumed-role/{name}/s1");
        assert_eq!(session.assumed_role_user().unwrap().arn(), assumed);
        let creds = session.credentials().unwrap();
        let as_role = sdk_config(
            &server,
            creds.access_key_id(),
            creds.secret_access_key(),
            Some(creds.session_token().to_owned()),
            region,
        )
        .await;
        let who = aws_sdk_sts::Client::new(&as_role)
            .get_caller_identity()
            .send()
            .await
            .unwrap();
        assert_eq!(who.arn(), Some(assumed.as_str()));

        // Regional services' ARNs: EC2, ACM, ELBv2.
        let ec2 = aws_sdk_ec2::Client::new(&conf);
        let vpc = ec2
            .create_vpc()
            .cidr_block("10.0.0.0/16")
            .send()
            .await
            .unwrap();
        let vpc_id = vpc.vpc().unwrap().vpc_id().unwrap();
        let subnet = ec2
            .create_subnet()
            .vpc_id(vpc_id)
            .cidr_block("10.0.1.0/24")
            .send()
            .await
            .unwrap();
        let subnet = subnet.subnet().unwrap();
        assert_eq!(
            subnet.subnet_arn().unwrap(),
            format!(
                "arn:{partition}:ec2:{region}:000000000000:subnet/{}",
                subnet.subnet_id().unwrap()
            )
        );
        let cert = aws_sdk_acm::Client::new(&conf)
            .request_certificate()
            .domain_name("example.com")
            .send()
            .await
            .unwrap();
        let prefix = format!("arn:{partition}:acm:{region}:000000000000:certificate/");
        assert!(
            cert.certificate_arn().unwrap().starts_with(&prefix),
            "{cert:?}"
        );
        let tg = aws_sdk_elasticloadbalancingv2::Client::new(&conf)
            .create_target_group()
            .name("web")
            .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
            .port(80)
            .vpc_id(vpc_id)
            .send()
            .await
            .unwrap();
        let prefix =
            format!("arn:{partition}:elasticloadbalancing:{region}:000000000000:targetgroup/web/");
        let tg_arn = tg.target_groups()[0].target_group_arn().unwrap();
        assert!(tg_arn.starts_with(&prefix), "{tg_arn}");
    }
}
