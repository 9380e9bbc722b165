//! IAM instance profiles and the EC2 instances that run with them, as Terraform's
//! `aws_iam_instance_profile` and `aws_instance.iam_instance_profile` use them: create, read,
//! the one-role quota, the delete conflicts, a launch with a profile, and the associations of a
//! running instance (associate, replace, disassociate, describe).

use airlock_tests::{default_config, start};
use aws_sdk_ec2::types::{Filter, IamInstanceProfileSpecification};
use aws_sdk_iam::error::ProvideErrorMetadata;

const AMI: &str = "ami-0123456789abcdef0";
const EC2_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

fn named(name: &str) -> IamInstanceProfileSpecification {
    IamInstanceProfileSpecification::builder()
        .name(name)
        .build()
}

#[tokio::test]
async fn instance_profiles_hold_one_role_and_instances_run_with_them() {
    let server = start().await;
    let config = default_config(&server).await;
    let iam = aws_sdk_iam::Client::new(&config);
    let ec2 = aws_sdk_ec2::Client::new(&config);
    for role in ["bastion", "other"] {
        iam.create_role()
            .role_name(role)
            .assume_role_policy_document(EC2_TRUST)
            .send()
            .await
            .unwrap();
    }
    let made = iam
        .create_instance_profile()
        .instance_profile_name("bastion-profile")
        .path("/mwaa/")
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("team")
                .value("data")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let p = made.instance_profile().unwrap();
    assert_eq!(
        p.arn(),
        "arn:aws:iam::000000000000:instance-profile/mwaa/bastion-profile"
    );
    assert!(p.instance_profile_id().starts_with("AIPA"), "{p:?}");
    assert!(p.roles().is_empty());
    let profile_arn = p.arn().to_owned();
    let profile_id = p.instance_profile_id().to_owned();
    let err = iam
        .create_instance_profile()
        .instance_profile_name("Bastion-Profile")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("EntityAlreadyExists"));

    // One role per profile; unknown roles and profiles are NoSuchEntity.
    iam.add_role_to_instance_profile()
        .instance_profile_name("bastion-profile")
        .role_name("bastion")
        .send()
        .await
        .unwrap();
    let err = iam
        .add_role_to_instance_profile()
        .instance_profile_name("bastion-profile")
        .role_name("other")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("LimitExceeded"));
    assert_eq!(
        err.message(),
        Some("Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1")
    );
    let err = iam
        .get_instance_profile()
        .instance_profile_name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("NoSuchEntity"));
    assert_eq!(
        err.message(),
        Some("Instance Profile nope cannot be found.")
    );
    let got = iam
        .get_instance_profile()
        .instance_profile_name("bastion-profile")
        .send()
        .await
        .unwrap();
    let got = got.instance_profile().unwrap();
    assert_eq!(got.roles().len(), 1);
    assert_eq!(got.roles()[0].role_name(), "bastion");
    assert_eq!(got.tags().len(), 1);
    let for_role = iam
        .list_instance_profiles_for_role()
        .role_name("bastion")
        .send()
        .await
        .unwrap();
    assert_eq!(for_role.instance_profiles().len(), 1);
    let listed = iam
        .list_instance_profiles()
        .path_prefix("/mwaa/")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.instance_profiles().len(), 1);

    // A role in a profile, and a profile with a role, cannot be deleted.
    let err = iam
        .delete_role()
        .role_name("bastion")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("DeleteConflict"));
    assert_eq!(
        err.message(),
        Some("Cannot delete entity, must remove roles from instance profile first.")
    );
    let err = iam
        .delete_instance_profile()
        .instance_profile_name("bastion-profile")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("DeleteConflict"));

    // An instance launched with the profile shows it; its association is listed.
    let vpc = ec2
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
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.7.1.0/24")
        .send()
        .await
        .unwrap()
        .subnet()
        .unwrap()
        .subnet_id()
        .unwrap()
        .to_owned();
    let err = ec2
        .run_instances()
        .image_id(AMI)
        .min_count(1)
        .max_count(1)
        .subnet_id(&subnet)
        .iam_instance_profile(named("missing"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterValue"));
    assert_eq!(
        err.message(),
        Some("Value (missing) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name")
    );
    let run = ec2
        .run_instances()
        .image_id(AMI)
        .min_count(1)
        .max_count(1)
        .subnet_id(&subnet)
        .iam_instance_profile(
            IamInstanceProfileSpecification::builder()
                .arn(&profile_arn)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let instance = &run.instances()[0];
    let id = instance.instance_id().unwrap().to_owned();
    let shown = instance.iam_instance_profile().unwrap();
    assert_eq!(shown.arn(), Some(profile_arn.as_str()));
    assert_eq!(shown.id(), Some(profile_id.as_str()));
    let described = ec2
        .describe_instances()
        .instance_ids(&id)
        .send()
        .await
        .unwrap();
    let described = &described.reservations()[0].instances()[0];
    assert_eq!(
        described.iam_instance_profile().unwrap().arn(),
        Some(profile_arn.as_str())
    );
    let assoc = ec2
        .describe_iam_instance_profile_associations()
        .filters(Filter::builder().name("instance-id").values(&id).build())
        .send()
        .await
        .unwrap();
    let assoc = &assoc.iam_instance_profile_associations()[0];
    let assoc_id = assoc.association_id().unwrap().to_owned();
    assert!(assoc_id.starts_with("iip-assoc-"), "{assoc_id}");
    assert_eq!(assoc.state().map(|s| s.as_str()), Some("associated"));

    // A second association is refused; a replacement gets a new id; removal clears it.
    iam.create_instance_profile()
        .instance_profile_name("other-profile")
        .send()
        .await
        .unwrap();
    let err = ec2
        .associate_iam_instance_profile()
        .instance_id(&id)
        .iam_instance_profile(named("other-profile"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("IncorrectState"));
    let replaced = ec2
        .replace_iam_instance_profile_association()
        .association_id(&assoc_id)
        .iam_instance_profile(named("other-profile"))
        .send()
        .await
        .unwrap();
    let replaced = replaced.iam_instance_profile_association().unwrap();
    assert_ne!(replaced.association_id(), Some(assoc_id.as_str()));
    assert_eq!(replaced.state().map(|s| s.as_str()), Some("associating"));
    let new_id = replaced.association_id().unwrap().to_owned();
    let err = ec2
        .disassociate_iam_instance_profile()
        .association_id(&assoc_id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidAssociationID.NotFound"));
    ec2.disassociate_iam_instance_profile()
        .association_id(&new_id)
        .send()
        .await
        .unwrap();
    let described = ec2
        .describe_instances()
        .instance_ids(&id)
        .send()
        .await
        .unwrap();
    assert!(described.reservations()[0].instances()[0]
        .iam_instance_profile()
        .is_none());
    let none = ec2
        .describe_iam_instance_profile_associations()
        .send()
        .await
        .unwrap();
    assert!(none.iam_instance_profile_associations().is_empty());
    ec2.associate_iam_instance_profile()
        .instance_id(&id)
        .iam_instance_profile(named("bastion-profile"))
        .send()
        .await
        .unwrap();

    // Terraform's destroy order: remove the role, then the profile, then the role.
    iam.remove_role_from_instance_profile()
        .instance_profile_name("bastion-profile")
        .role_name("bastion")
        .send()
        .await
        .unwrap();
    let err = iam
        .remove_role_from_instance_profile()
        .instance_profile_name("bastion-profile")
        .role_name("bastion")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("NoSuchEntity"));
    iam.delete_instance_profile()
        .instance_profile_name("bastion-profile")
        .send()
        .await
        .unwrap();
    iam.delete_role().role_name("bastion").send().await.unwrap();
}
