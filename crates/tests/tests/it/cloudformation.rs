//! CloudFormation through the AWS SDK for Rust: a bastion-shaped stack (an image from SSM's
//! public parameter, a generated key pair whose private key CloudFormation keeps in Parameter
//! Store, a security group, an instance), conditions, outputs, and deletion that removes it all.

use airlock_tests::{default_config, start};
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::types::{Capability, Parameter, ResourceStatus, StackStatus};

const BASTION: &str = r#"{
  "Parameters": {
    "LatestAmi": {"Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
                  "Default": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"},
    "WithBastion": {"Type": "String", "AllowedValues": ["yes", "no"], "Default": "yes"},
    "Secret": {"Type": "String", "NoEcho": true, "Default": "hunter2"}
  },
  "Conditions": {"Bastion": {"Fn::Equals": [{"Ref": "WithBastion"}, "yes"]}},
  "Resources": {
    "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.7.0.0/16"}},
    "Public": {"Type": "AWS::EC2::Subnet", "Properties": {
      "VpcId": {"Ref": "Vpc"}, "MapPublicIpOnLaunch": "true",
      "CidrBlock": {"Fn::Select": [0, {"Fn::Cidr": [{"Fn::GetAtt": ["Vpc", "CidrBlock"]}, 2, 8]}]},
      "AvailabilityZone": {"Fn::Select": [1, {"Fn::GetAZs": ""}]}}},
    "Ssh": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
      "GroupDescription": "SSH from anywhere", "VpcId": {"Ref": "Vpc"},
      "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": "22", "ToPort": 22, "CidrIp": "0.0.0.0/0"}]}},
    "Key": {"Type": "AWS::EC2::KeyPair", "Properties": {"KeyName": {"Fn::Sub": "${AWS::StackName}-key"}}},
    "Host": {"Type": "AWS::EC2::Instance", "Condition": "Bastion", "Properties": {
      "ImageId": {"Ref": "LatestAmi"}, "InstanceType": "t3.micro", "KeyName": {"Ref": "Key"},
      "SubnetId": {"Ref": "Public"}, "SecurityGroupIds": [{"Ref": "Ssh"}],
      "Tags": [{"Key": "Name", "Value": "bastion"}]}},
    "Param": {"Type": "AWS::SSM::Parameter", "Properties": {
      "Name": "/bastion/host", "Type": "String",
      "Value": {"Fn::If": ["Bastion", {"Fn::GetAtt": ["Host", "PublicIp"]}, "none"]}}}
  },
  "Outputs": {
    "HostId": {"Condition": "Bastion", "Value": {"Ref": "Host"}},
    "KeyPairId": {"Value": {"Fn::GetAtt": ["Key", "KeyPairId"]}},
    "Zone": {"Value": {"Fn::GetAtt": ["Public", "AvailabilityZone"]}},
    "Subnet": {"Value": {"Fn::GetAtt": ["Public", "CidrBlock"]}}
  }
}"#;

#[tokio::test]
async fn a_bastion_stack_is_created_from_its_template_and_deleted_with_everything_in_it() {
    let server = start().await;
    let config = default_config(&server).await;
    let cfn = aws_sdk_cloudformation::Client::new(&config);
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let ssm = aws_sdk_ssm::Client::new(&config);

    let id = cfn
        .create_stack()
        .stack_name("bastion")
        .template_body(BASTION)
        .send()
        .await
        .unwrap()
        .stack_id
        .unwrap();
    assert!(
        id.starts_with("arn:aws:cloudformation:us-west-2:000000000000:stack/bastion/"),
        "{id}"
    );
    let stack = wait(&cfn, "bastion", |s| s != &StackStatus::CreateInProgress).await;
    assert_eq!(
        stack.stack_status(),
        Some(&StackStatus::CreateComplete),
        "{:?}",
        stack.stack_status_reason()
    );
    let out = |k: &str| {
        stack
            .outputs()
            .iter()
            .find(|o| o.output_key() == Some(k))
            .and_then(|o| o.output_value())
            .map(str::to_owned)
    };
    assert_eq!(out("Subnet").as_deref(), Some("10.7.0.0/24"));
    assert_eq!(out("Zone").as_deref(), Some("us-west-2b"));
    // The SSM-typed parameter shows its name and the image it resolved to; NoEcho is masked.
    let ami = ssm
        .get_parameter()
        .name("/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64")
        .send()
        .await
        .unwrap()
        .parameter
        .unwrap()
        .value
        .unwrap();
    let param = |k: &str| {
        stack
            .parameters()
            .iter()
            .find(|p| p.parameter_key() == Some(k))
            .cloned()
            .unwrap()
    };
    assert_eq!(param("LatestAmi").resolved_value(), Some(ami.as_str()));
    assert_eq!(param("Secret").parameter_value(), Some("****"));

    let host = out("HostId").unwrap();
    let reservation = ec2
        .describe_instances()
        .instance_ids(&host)
        .send()
        .await
        .unwrap();
    let instance = &reservation.reservations()[0].instances()[0];
    assert_eq!(instance.image_id(), Some(ami.as_str()));
    assert_eq!(instance.key_name(), Some("bastion-key"));
    assert_eq!(
        instance.state().and_then(|s| s.name()).map(|n| n.as_str()),
        Some("running")
    );
    let public_ip = instance.public_ip_address().unwrap().to_owned();
    // Fn::If chose the instance's address.
    let p = ssm
        .get_parameter()
        .name("/bastion/host")
        .send()
        .await
        .unwrap();
    assert_eq!(p.parameter().unwrap().value(), Some(public_ip.as_str()));
    // The generated key's private half is where CloudFormation keeps it.
    let key_id = out("KeyPairId").unwrap();
    let key = ssm
        .get_parameter()
        .name(format!("/ec2/keypair/{key_id}"))
        .with_decryption(true)
        .send()
        .await
        .unwrap();
    assert!(key
        .parameter()
        .unwrap()
        .value()
        .unwrap()
        .contains("PRIVATE KEY"));

    // Refusals: the same name again, a value outside AllowedValues, an unknown stack.
    let e = cfn
        .create_stack()
        .stack_name("bastion")
        .template_body(BASTION)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("AlreadyExistsException"));
    let e = cfn
        .create_stack()
        .stack_name("other")
        .template_body(BASTION)
        .parameters(
            Parameter::builder()
                .parameter_key("WithBastion")
                .parameter_value("maybe")
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ValidationError"));
    assert_eq!(
        e.message(),
        Some("Parameter 'WithBastion' must be one of AllowedValues")
    );
    let e = cfn
        .describe_stacks()
        .stack_name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.message(), Some("Stack with id nope does not exist"));

    cfn.delete_stack()
        .stack_name("bastion")
        .send()
        .await
        .unwrap();
    let gone = wait(&cfn, &id, |s| s != &StackStatus::DeleteInProgress).await;
    assert_eq!(gone.stack_status(), Some(&StackStatus::DeleteComplete));
    let reservation = ec2
        .describe_instances()
        .instance_ids(&host)
        .send()
        .await
        .unwrap();
    assert_eq!(
        reservation.reservations()[0].instances()[0]
            .state()
            .and_then(|s| s.name())
            .map(|n| n.as_str()),
        Some("terminated")
    );
    let keys = ec2.describe_key_pairs().send().await.unwrap();
    assert!(keys.key_pairs().is_empty());
    let e = ssm
        .get_parameter()
        .name(format!("/ec2/keypair/{key_id}"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_ssm::error::ProvideErrorMetadata::code(&e),
        Some("ParameterNotFound")
    );
}

#[tokio::test]
async fn iam_resources_need_the_capability_and_are_removed_with_their_policies() {
    let server = start().await;
    let config = default_config(&server).await;
    let cfn = aws_sdk_cloudformation::Client::new(&config);
    let iam = aws_sdk_iam::Client::new(&config);
    let template = r#"
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement: [{Effect: Allow, Principal: {Service: ec2.amazonaws.com}, Action: "sts:AssumeRole"}]
      Policies:
        - PolicyName: read
          PolicyDocument: {Statement: [{Effect: Allow, Action: "s3:GetObject", Resource: "*"}]}
  Profile:
    Type: AWS::IAM::InstanceProfile
    Properties:
      Roles: [!Ref Role]
Outputs:
  Arn: {Value: !GetAtt Role.Arn}
  ProfileArn: {Value: !GetAtt Profile.Arn}
"#;
    let e = cfn
        .create_stack()
        .stack_name("roles")
        .template_body(template)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InsufficientCapabilitiesException"));
    assert_eq!(
        e.message(),
        Some("Requires capabilities : [CAPABILITY_IAM]")
    );
    cfn.create_stack()
        .stack_name("roles")
        .template_body(template)
        .capabilities(Capability::CapabilityIam)
        .send()
        .await
        .unwrap();
    let stack = wait(&cfn, "roles", |s| s != &StackStatus::CreateInProgress).await;
    assert_eq!(stack.stack_status(), Some(&StackStatus::CreateComplete));
    let arn = stack.outputs()[0].output_value().unwrap().to_owned();
    let name = arn.rsplit('/').next().unwrap().to_owned();
    assert!(name.starts_with("roles-Role-"), "{arn}");
    let inline = iam
        .list_role_policies()
        .role_name(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(inline.policy_names(), ["read"]);
    let profiles = iam
        .list_instance_profiles_for_role()
        .role_name(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(profiles.instance_profiles().len(), 1);

    cfn.delete_stack().stack_name("roles").send().await.unwrap();
    let e = iam.get_role().role_name(&name).send().await.unwrap_err();
    assert_eq!(
        aws_sdk_iam::error::ProvideErrorMetadata::code(&e),
        Some("NoSuchEntity")
    );
}

/// A property of the wrong type fails its resource with the message of CloudFormation's schema
/// validation, and the service is not called; a missing required one likewise. The stack rolls
/// back.
#[tokio::test]
async fn a_property_the_schema_refuses_fails_its_resource_with_the_schema_message() {
    let server = start().await;
    let config = default_config(&server).await;
    let cfn = aws_sdk_cloudformation::Client::new(&config);
    let iam = aws_sdk_iam::Client::new(&config);
    for (name, properties, why) in [
        (
            "mistyped",
            "{AssumeRolePolicyDocument: {Statement: []}, MaxSessionDuration: one hour}",
            "#/MaxSessionDuration: expected type: Integer, found: String",
        ),
        (
            "missing",
            "{MaxSessionDuration: 3600}",
            "#: required key [AssumeRolePolicyDocument] not found",
        ),
    ] {
        let template = format!(
            "Resources:\n  Role:\n    Type: AWS::IAM::Role\n    Properties: {properties}\n"
        );
        cfn.create_stack()
            .stack_name(name)
            .template_body(template)
            .capabilities(Capability::CapabilityIam)
            .send()
            .await
            .unwrap();
        let stack = wait(&cfn, name, |s| {
            !matches!(
                s,
                StackStatus::CreateInProgress | StackStatus::RollbackInProgress
            )
        })
        .await;
        assert_eq!(stack.stack_status(), Some(&StackStatus::RollbackComplete));
        let events = cfn
            .describe_stack_events()
            .stack_name(name)
            .send()
            .await
            .unwrap();
        let failed = events
            .stack_events()
            .iter()
            .find(|e| e.resource_status() == Some(&ResourceStatus::CreateFailed))
            .expect("a CREATE_FAILED event");
        assert_eq!(failed.logical_resource_id(), Some("Role"));
        let expected =
            format!("Properties validation failed for resource Role with message: {why}");
        assert_eq!(failed.resource_status_reason(), Some(expected.as_str()));
    }
    let roles = iam.list_roles().send().await.unwrap();
    assert!(roles.roles().is_empty(), "{:?}", roles.roles());
}

/// Polls DescribeStacks until the status satisfies `done` (the server runs at a fast clock).
async fn wait(
    cfn: &aws_sdk_cloudformation::Client,
    name: &str,
    done: impl Fn(&StackStatus) -> bool,
) -> aws_sdk_cloudformation::types::Stack {
    for _ in 0..400 {
        let out = cfn.describe_stacks().stack_name(name).send().await.unwrap();
        let stack = out.stacks()[0].clone();
        if stack.stack_status().is_some_and(&done) {
            return stack;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("stack {name} did not settle");
}

#[tokio::test]
async fn an_update_changes_in_place_what_it_can_and_replaces_the_rest() {
    let server = start().await;
    let config = default_config(&server).await;
    let cfn = aws_sdk_cloudformation::Client::new(&config);
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let ssm = aws_sdk_ssm::Client::new(&config);
    let template = r#"{
      "Parameters": {"Description": {"Type": "String"}, "Value": {"Type": "String"}},
      "Resources": {
        "Group": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": {"Ref": "Description"}}},
        "Setting": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": {"Ref": "Value"}}}
      },
      "Outputs": {"Group": {"Value": {"Fn::GetAtt": ["Group", "GroupId"]}}, "Setting": {"Value": {"Ref": "Setting"}}}
    }"#;
    let params = |d: &str, v: &str| {
        vec![
            Parameter::builder()
                .parameter_key("Description")
                .parameter_value(d)
                .build(),
            Parameter::builder()
                .parameter_key("Value")
                .parameter_value(v)
                .build(),
        ]
    };
    cfn.create_stack()
        .stack_name("upd")
        .template_body(template)
        .set_parameters(Some(params("first", "one")))
        .send()
        .await
        .unwrap();
    let created = wait(&cfn, "upd", |s| s != &StackStatus::CreateInProgress).await;
    let output = |s: &aws_sdk_cloudformation::types::Stack, k: &str| {
        s.outputs()
            .iter()
            .find(|o| o.output_key() == Some(k))
            .and_then(|o| o.output_value())
            .unwrap()
            .to_owned()
    };
    let (group1, name) = (output(&created, "Group"), output(&created, "Setting"));
    assert!(name.starts_with("CFN-Setting-"), "{name}");

    // Nothing new: AWS's refusal.
    let e = cfn
        .update_stack()
        .stack_name("upd")
        .use_previous_template(true)
        .set_parameters(Some(params("first", "one")))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.message(), Some("No updates are to be performed."));

    cfn.update_stack()
        .stack_name("upd")
        .use_previous_template(true)
        .set_parameters(Some(params("second", "two")))
        .send()
        .await
        .unwrap();
    let updated = wait(&cfn, "upd", |s| {
        !matches!(
            s,
            StackStatus::UpdateInProgress | StackStatus::UpdateCompleteCleanupInProgress
        )
    })
    .await;
    assert_eq!(updated.stack_status(), Some(&StackStatus::UpdateComplete));
    // The group's description cannot change: a new group replaced it, and the old one is gone.
    let group2 = output(&updated, "Group");
    assert_ne!(group1, group2);
    let groups = ec2
        .describe_security_groups()
        .group_ids(&group2)
        .send()
        .await
        .unwrap();
    assert_eq!(groups.security_groups()[0].description(), Some("second"));
    let e = ec2
        .describe_security_groups()
        .group_ids(&group1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_ec2::error::ProvideErrorMetadata::code(&e),
        Some("InvalidGroup.NotFound")
    );
    // The parameter's value changes in place: same name, a new version.
    assert_eq!(output(&updated, "Setting"), name);
    let p = ssm.get_parameter().name(&name).send().await.unwrap();
    assert_eq!(p.parameter().unwrap().value(), Some("two"));
    assert_eq!(p.parameter().unwrap().version(), 2);
}
