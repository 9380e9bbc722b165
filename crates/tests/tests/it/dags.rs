//! An environment's source bucket as MWAA requires it, and its DAGs: the files under `DagS3Path`
//! reach Airflow after the sync interval, leave it when deleted, and a triggered run completes
//! on the scaled clock.

use crate::mwaa::{config, create, wait_for, world};
use airlock_tests::world::{
    block_public_access, enable_versioning, make_bucket, s3_client, BUCKET,
};
use airlock_tests::{default_config, start_with, wait_until, DEADLINE};
use aws_sdk_mwaa::error::ProvideErrorMetadata;
use aws_sdk_mwaa::types::RestApiMethod;

#[tokio::test]
async fn the_source_bucket_must_exist_here_be_versioned_and_block_public_access() {
    let server = start_with(config(None)).await;
    let w = world(&server).await;
    let s3 = s3_client(&default_config(&server).await);
    let refused = |name: &'static str, bucket: &'static str| {
        let w = w.clone();
        async move {
            let err = create(&w, name)
                .source_bucket_arn(format!("arn:aws:s3:::{bucket}"))
                .send()
                .await
                .unwrap_err();
            assert_eq!(err.code(), Some("ValidationException"));
            err.message().unwrap_or_default().to_owned()
        }
    };
    assert_eq!(
        refused("e1", "no-such-bucket").await,
        "Invalid request provided: Unable to check PublicAccessBlock configuration for the \
         bucket no-such-bucket: The specified bucket does not exist (Service: S3, Status Code: 404)"
    );
    let s3_eu =
        s3_client(&airlock_tests::sdk_config(&server, "test", "test", None, "eu-west-1").await);
    make_bucket(&s3_eu, "elsewhere", "eu-west-1").await;
    assert!(refused("e2", "elsewhere").await.contains(
        "is in eu-west-1; the bucket of an environment in us-west-2 must be in the same region"
    ));
    make_bucket(&s3, "open-bucket", "us-west-2").await;
    assert!(refused("e3", "open-bucket").await.ends_with(
        "The public access block configuration was not found (Service: S3, Status Code: 404)"
    ));
    block_public_access(&s3, "open-bucket", false).await;
    assert_eq!(
        refused("e4", "open-bucket").await,
        "Invalid request provided: Provided bucket does not have BlockPublicAccess set for s3 bucket open-bucket."
    );
    block_public_access(&s3, "open-bucket", true).await;
    assert!(refused("e5", "open-bucket")
        .await
        .contains("does not have versioning enabled"));
    enable_versioning(&s3, "open-bucket").await;
    // The requirements file must be there, in the version named.
    let requirements = |version: String| {
        let w = w.clone();
        async move {
            let err = create(&w, "e6")
                .source_bucket_arn("arn:aws:s3:::open-bucket")
                .requirements_s3_path("requirements.txt")
                .requirements_s3_object_version(version)
                .send()
                .await
                .unwrap_err();
            err.message().unwrap_or_default().to_owned()
        }
    };
    assert!(requirements("1".into())
        .await
        .ends_with("s3://open-bucket/requirements.txt: the object does not exist."));
    let put = s3
        .put_object()
        .bucket("open-bucket")
        .key("requirements.txt")
        .body(b"boto3\n".to_vec().into())
        .send()
        .await
        .unwrap();
    let version = put
        .version_id()
        .expect("a versioned bucket names the version")
        .to_owned();
    assert!(requirements("1".into())
        .await
        .ends_with("s3://open-bucket/requirements.txt: version 1 does not exist."));
    create(&w, "e6")
        .source_bucket_arn("arn:aws:s3:::open-bucket")
        .requirements_s3_path("requirements.txt")
        .requirements_s3_object_version(&version)
        .send()
        .await
        .unwrap();
    // An update to a bucket that is not fit is refused the same way.
    wait_for(&w.mwaa, "e6", "AVAILABLE").await;
    let err = w
        .mwaa
        .update_environment()
        .name("e6")
        .source_bucket_arn("arn:aws:s3:::elsewhere")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    let listed = w.mwaa.list_environments().send().await.unwrap();
    assert_eq!(listed.environments(), ["e6"]);
}

/// The DAG ids `/dags` lists through InvokeRestApi.
async fn dag_ids(mwaa: &aws_sdk_mwaa::Client, env: &str) -> Vec<String> {
    let out = mwaa
        .invoke_rest_api()
        .name(env)
        .path("/dags")
        .method(RestApiMethod::Get)
        .send()
        .await
        .unwrap();
    let body = format!("{:?}", out.rest_api_response().unwrap());
    let mut ids: Vec<String> = body
        .split("\"dag_id\": String(\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(str::to_owned)
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn dag_files_reach_airflow_after_the_sync_and_runs_complete_on_the_clock() {
    let server = start_with(config(None)).await;
    let w = world(&server).await;
    let s3 = s3_client(&default_config(&server).await);
    create(&w, "dags").send().await.unwrap();
    wait_for(&w.mwaa, "dags", "AVAILABLE").await;
    assert_eq!(
        dag_ids(&w.mwaa, "dags").await,
        [
            "example_bash_operator",
            "example_python_operator",
            "tutorial"
        ]
    );

    // A new file, with a decorated DAG and a classic one; files outside the DAG folder, and
    // Python files that are not Airflow's, are not DAGs.
    let source = "from airflow.decorators import dag\nfrom airflow import DAG\n\n\
                  @dag(schedule=None)\ndef etl_pipeline():\n    pass\n\n\
                  with DAG(\"nightly_report\", schedule=\"0 3 * * *\") as d:\n    pass\n";
    for (key, body) in [
        ("dags/team/pipelines.py", source),
        (
            "dags/helpers.py",
            "def DAG(x): return x\nDAG('helper_only')\n",
        ),
        ("plugins/x.py", source),
    ] {
        s3.put_object()
            .bucket(BUCKET)
            .key(key)
            .body(body.as_bytes().to_vec().into())
            .send()
            .await
            .unwrap();
    }
    wait_until("the new DAGs after the sync", DEADLINE, || async {
        let ids = dag_ids(&w.mwaa, "dags").await;
        airlock_tests::holds(ids.len() == 5, ids)
    })
    .await;
    assert_eq!(
        dag_ids(&w.mwaa, "dags").await,
        [
            "etl_pipeline",
            "example_bash_operator",
            "example_python_operator",
            "nightly_report",
            "tutorial"
        ]
    );
    let one = w
        .mwaa
        .invoke_rest_api()
        .name("dags")
        .path("/dags/nightly_report")
        .method(RestApiMethod::Get)
        .send()
        .await
        .unwrap();
    let body = format!("{:?}", one.rest_api_response().unwrap());
    assert!(
        body.contains("/usr/local/airflow/dags/team/pipelines.py"),
        "{body}"
    );
    assert!(body.contains("0 3 * * *"), "{body}");

    // A triggered run: queued, then running, then success.
    let run = w
        .mwaa
        .invoke_rest_api()
        .name("dags")
        .path("/dags/etl_pipeline/dagRuns")
        .method(RestApiMethod::Post)
        .body(aws_smithy_types::Document::Object(Default::default()))
        .send()
        .await
        .unwrap();
    assert!(format!("{:?}", run.rest_api_response()).contains("\"queued\""));
    wait_until("the run succeeds", DEADLINE, || async {
        let runs = w
            .mwaa
            .invoke_rest_api()
            .name("dags")
            .path("/dags/etl_pipeline/dagRuns")
            .method(RestApiMethod::Get)
            .send()
            .await
            .unwrap();
        let text = format!("{:?}", runs.rest_api_response());
        airlock_tests::holds(text.contains("\"success\""), text)
    })
    .await;

    // Deleting the file takes its DAGs away; triggering one is then a 404 from Airflow.
    s3.delete_object()
        .bucket(BUCKET)
        .key("dags/team/pipelines.py")
        .send()
        .await
        .unwrap();
    assert_eq!(dag_ids(&w.mwaa, "dags").await.len(), 3);
    let err = w
        .mwaa
        .invoke_rest_api()
        .name("dags")
        .path("/dags/etl_pipeline/dagRuns")
        .method(RestApiMethod::Post)
        .body(aws_smithy_types::Document::Object(Default::default()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("RestApiClientException"));
}
