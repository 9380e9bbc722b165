//! SSM Parameter Store and the public image catalogue through the AWS SDK for Rust: what a
//! bastion template resolves (the latest Amazon Linux image's public parameter, then the image
//! itself as Terraform's `data "aws_ami"` finds it) and the account's own parameters.

use airlock_tests::{default_config, start};
use aws_sdk_ec2::types::Filter;
use aws_sdk_ssm::error::ProvideErrorMetadata;
use aws_sdk_ssm::types::{ParameterStringFilter, ParameterType, Tag};

const AL2023: &str = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";

#[tokio::test]
async fn public_image_parameters_name_images_of_the_catalogue() {
    let server = start().await;
    let config = default_config(&server).await;
    let ssm = aws_sdk_ssm::Client::new(&config);
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let got = ssm.get_parameter().name(AL2023).send().await.unwrap();
    let p = got.parameter().unwrap();
    let ami = p.value().unwrap().to_owned();
    assert!(ami.starts_with("ami-") && ami.len() == 21, "{ami}");
    assert_eq!(
        p.arn(),
        Some(format!("arn:aws:ssm:us-west-2::parameter{AL2023}").as_str())
    );
    let image = ec2.describe_images().image_ids(&ami).send().await.unwrap();
    let image = &image.images()[0];
    assert!(image.name().unwrap().starts_with("al2023-ami-2023."));
    assert_eq!(image.owner_id(), Some("137112412989"));
    assert_eq!(image.image_owner_alias(), Some("amazon"));
    assert_eq!(image.architecture().map(|a| a.as_str()), Some("x86_64"));
    assert_eq!(image.root_device_name(), Some("/dev/xvda"));

    // Terraform's data "aws_ami" { owners = ["amazon"], most_recent, name filter }.
    let found = ec2
        .describe_images()
        .owners("amazon")
        .filters(
            Filter::builder()
                .name("name")
                .values("al2023-ami-2023.*-x86_64")
                .build(),
        )
        .filters(
            Filter::builder()
                .name("architecture")
                .values("x86_64")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let newest = found
        .images()
        .iter()
        .max_by_key(|i| i.creation_date().unwrap().to_owned())
        .unwrap();
    assert_eq!(newest.image_id(), Some(ami.as_str()));
    let ubuntu = ec2
        .describe_images()
        .owners("099720109477")
        .filters(
            Filter::builder()
                .name("name")
                .values("ubuntu/images/*noble*amd64*")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(ubuntu.images().len(), 1);
    assert!(ubuntu.images()[0].image_owner_alias().is_none());
    let none = ec2.describe_images().owners("self").send().await.unwrap();
    assert!(none.images().is_empty(), "an account owns no images");
    let err = ec2
        .describe_images()
        .image_ids("ami-0123456789abcdef0")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidAMIID.NotFound"));
    // Another region has other ids for the same images.
    let east = aws_sdk_ssm::Client::new(
        &airlock_tests::sdk_config(&server, "test", "test", None, "us-east-1").await,
    );
    let east_ami = east.get_parameter().name(AL2023).send().await.unwrap();
    assert_ne!(east_ami.parameter().unwrap().value(), Some(ami.as_str()));
    // The family's parameters, by path.
    let listed = ssm
        .get_parameters_by_path()
        .path("/aws/service/ami-amazon-linux-latest")
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = listed
        .parameters()
        .iter()
        .map(|p| p.name().unwrap())
        .collect();
    assert!(names.contains(&AL2023), "{names:?}");
}

#[tokio::test]
async fn parameters_have_versions_types_tags_and_paths() {
    let server = start().await;
    let ssm = aws_sdk_ssm::Client::new(&default_config(&server).await);
    let put = ssm
        .put_parameter()
        .name("/mwaa/env/bucket")
        .value("my-airflow-bucket")
        .r#type(ParameterType::String)
        .tags(Tag::builder().key("team").value("data").build().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(put.version(), 1);
    let err = ssm
        .put_parameter()
        .name("/mwaa/env/bucket")
        .value("other")
        .r#type(ParameterType::String)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ParameterAlreadyExists"));
    let again = ssm
        .put_parameter()
        .name("/mwaa/env/bucket")
        .value("other")
        .overwrite(true)
        .send()
        .await
        .unwrap();
    assert_eq!(again.version(), 2);
    let first = ssm
        .get_parameter()
        .name("/mwaa/env/bucket:1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        first.parameter().unwrap().value(),
        Some("my-airflow-bucket")
    );
    assert_eq!(first.parameter().unwrap().selector(), Some(":1"));
    let current = ssm
        .get_parameter()
        .name("/mwaa/env/bucket")
        .send()
        .await
        .unwrap();
    assert_eq!(current.parameter().unwrap().value(), Some("other"));
    assert_eq!(current.parameter().unwrap().version(), 2);

    ssm.put_parameter()
        .name("/mwaa/env/db/password")
        .value("s3cret")
        .r#type(ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let hidden = ssm
        .get_parameter()
        .name("/mwaa/env/db/password")
        .send()
        .await
        .unwrap();
    assert_ne!(hidden.parameter().unwrap().value(), Some("s3cret"));
    let shown = ssm
        .get_parameter()
        .name("/mwaa/env/db/password")
        .with_decryption(true)
        .send()
        .await
        .unwrap();
    assert_eq!(shown.parameter().unwrap().value(), Some("s3cret"));

    let one_level = ssm
        .get_parameters_by_path()
        .path("/mwaa/env")
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = one_level
        .parameters()
        .iter()
        .map(|p| p.name().unwrap())
        .collect();
    assert_eq!(names, ["/mwaa/env/bucket"]);
    let all = ssm
        .get_parameters_by_path()
        .path("/mwaa")
        .recursive(true)
        .send()
        .await
        .unwrap();
    assert_eq!(all.parameters().len(), 2);
    let described = ssm
        .describe_parameters()
        .parameter_filters(
            ParameterStringFilter::builder()
                .key("Type")
                .values("SecureString")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let described = described.parameters();
    assert_eq!(described.len(), 1);
    assert_eq!(described[0].key_id(), Some("alias/aws/ssm"));
    let tags = ssm
        .list_tags_for_resource()
        .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
        .resource_id("/mwaa/env/bucket")
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tag_list().len(), 1);

    let both = ssm
        .get_parameters()
        .names("/mwaa/env/bucket")
        .names("/nope")
        .send()
        .await
        .unwrap();
    assert_eq!(both.parameters().len(), 1);
    assert_eq!(both.invalid_parameters(), ["/nope"]);
    let err = ssm
        .put_parameter()
        .name("/aws/mine")
        .value("x")
        .r#type(ParameterType::String)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    let err = ssm
        .put_parameter()
        .name("/no/type")
        .value("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    ssm.delete_parameter()
        .name("/mwaa/env/bucket")
        .send()
        .await
        .unwrap();
    let err = ssm
        .get_parameter()
        .name("/mwaa/env/bucket")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ParameterNotFound"));
    let err = ssm
        .delete_parameter()
        .name("/mwaa/env/bucket")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ParameterNotFound"));
}
