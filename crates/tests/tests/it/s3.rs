//! S3 through the AWS SDK for Rust (path-style, SigV4 with its chunked and checksum defaults):
//! the flows `aws s3` and boto3 are checked with end to end (`s3.test.sh`).

use airlock_tests::world::{block_public_access, enable_versioning, make_bucket, s3_client};
use airlock_tests::{default_config, start};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CompletedMultipartUpload, CompletedPart,
    CreateBucketConfiguration,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn buckets_objects_multipart_and_presigned_urls_with_the_rust_sdk() {
    let server = start().await;
    let s3 = s3_client(&default_config(&server).await);
    make_bucket(&s3, "rust-sdk", "us-west-2").await;
    let again = s3
        .create_bucket()
        .bucket("rust-sdk")
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::UsWest2)
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(again.code(), Some("BucketAlreadyOwnedByYou"));
    let location = s3
        .get_bucket_location()
        .bucket("rust-sdk")
        .send()
        .await
        .unwrap();
    assert_eq!(
        location.location_constraint(),
        Some(&BucketLocationConstraint::UsWest2)
    );

    // Versioning and the public access block stick.
    enable_versioning(&s3, "rust-sdk").await;
    let v = s3
        .get_bucket_versioning()
        .bucket("rust-sdk")
        .send()
        .await
        .unwrap();
    assert_eq!(v.status(), Some(&BucketVersioningStatus::Enabled));
    block_public_access(&s3, "rust-sdk", true).await;
    let pab = s3
        .get_public_access_block()
        .bucket("rust-sdk")
        .send()
        .await
        .unwrap();
    assert_eq!(
        pab.public_access_block_configuration()
            .and_then(|c| c.restrict_public_buckets()),
        Some(true)
    );

    // A small object up and down, with metadata; a range.
    s3.put_object()
        .bucket("rust-sdk")
        .key("dags/hello.py")
        .content_type("text/x-python")
        .metadata("team", "data")
        .body(b"print('hello')\n".to_vec().into())
        .send()
        .await
        .unwrap();
    let got = s3
        .get_object()
        .bucket("rust-sdk")
        .key("dags/hello.py")
        .send()
        .await
        .unwrap();
    assert_eq!(got.content_type(), Some("text/x-python"));
    assert_eq!(
        got.metadata()
            .and_then(|m| m.get("team"))
            .map(String::as_str),
        Some("data")
    );
    assert_eq!(
        got.body.collect().await.unwrap().into_bytes().as_ref(),
        b"print('hello')\n"
    );
    let range = s3
        .get_object()
        .bucket("rust-sdk")
        .key("dags/hello.py")
        .range("bytes=0-4")
        .send()
        .await
        .unwrap();
    assert_eq!(
        range.body.collect().await.unwrap().into_bytes().as_ref(),
        b"print"
    );

    // Multipart: two parts of 5 MiB and one of 1 KiB, the ETag of MD5s.
    let created = s3
        .create_multipart_upload()
        .bucket("rust-sdk")
        .key("big.bin")
        .send()
        .await
        .unwrap();
    let upload = created.upload_id().unwrap();
    let parts: Vec<Vec<u8>> = vec![vec![1u8; 5 << 20], vec![2u8; 5 << 20], vec![3u8; 1024]];
    let mut completed = CompletedMultipartUpload::builder();
    for (i, data) in parts.iter().enumerate() {
        let n = i as i32 + 1;
        let part = s3
            .upload_part()
            .bucket("rust-sdk")
            .key("big.bin")
            .upload_id(upload)
            .part_number(n)
            .body(data.clone().into())
            .send()
            .await
            .unwrap();
        completed = completed.parts(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(part.e_tag().unwrap())
                .build(),
        );
    }
    let done = s3
        .complete_multipart_upload()
        .bucket("rust-sdk")
        .key("big.bin")
        .upload_id(upload)
        .multipart_upload(completed.build())
        .send()
        .await
        .unwrap();
    assert!(
        done.e_tag().unwrap().ends_with("-3\""),
        "{:?}",
        done.e_tag()
    );
    let head = s3
        .head_object()
        .bucket("rust-sdk")
        .key("big.bin")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some((10 << 20) + 1024));
    let back = s3
        .get_object()
        .bucket("rust-sdk")
        .key("big.bin")
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    assert_eq!(back.len(), (10 << 20) + 1024);
    assert_eq!(&back[(5 << 20) - 1..(5 << 20) + 1], &[1, 2]);

    // Listing with a prefix and a delimiter.
    let listed = s3
        .list_objects_v2()
        .bucket("rust-sdk")
        .delimiter("/")
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    let prefixes: Vec<&str> = listed
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!((keys, prefixes), (vec!["big.bin"], vec!["dags/"]));

    // A presigned GET, fetched with a plain HTTP request (no SDK, no credentials).
    let presigned = s3
        .get_object()
        .bucket("rust-sdk")
        .key("dags/hello.py")
        .presigned(PresigningConfig::expires_in(std::time::Duration::from_secs(300)).unwrap())
        .await
        .unwrap();
    let url = presigned.uri();
    let path = url
        .strip_prefix(&format!("http://{}", server.addr))
        .unwrap_or(url);
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut request = format!("GET {path} HTTP/1.1\r\nConnection: close\r\n");
    for (name, value) in presigned.headers() {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if !presigned
        .headers()
        .any(|(n, _)| n.eq_ignore_ascii_case("host"))
    {
        request.push_str(&format!("Host: {}\r\n", server.addr));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("print('hello')\n"), "{response}");

    // Deleting: a bucket with objects is not empty; then objects, then the bucket.
    let not_empty = s3
        .delete_bucket()
        .bucket("rust-sdk")
        .send()
        .await
        .unwrap_err();
    assert_eq!(not_empty.code(), Some("BucketNotEmpty"));
    for key in ["dags/hello.py", "big.bin"] {
        s3.delete_object()
            .bucket("rust-sdk")
            .key(key)
            .send()
            .await
            .unwrap();
    }
    // The bucket is versioned: the deletes left markers over the versions, which still count.
    let still = s3
        .delete_bucket()
        .bucket("rust-sdk")
        .send()
        .await
        .unwrap_err();
    assert_eq!(still.code(), Some("BucketNotEmpty"));
    let all = s3
        .list_object_versions()
        .bucket("rust-sdk")
        .send()
        .await
        .unwrap();
    let every: Vec<(String, String)> = all
        .versions()
        .iter()
        .map(|v| (v.key().unwrap(), v.version_id().unwrap()))
        .chain(
            all.delete_markers()
                .iter()
                .map(|m| (m.key().unwrap(), m.version_id().unwrap())),
        )
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    assert_eq!(every.len(), 4);
    for (key, version) in every {
        s3.delete_object()
            .bucket("rust-sdk")
            .key(key)
            .version_id(version)
            .send()
            .await
            .unwrap();
    }
    s3.delete_bucket().bucket("rust-sdk").send().await.unwrap();
    let gone = s3
        .head_bucket()
        .bucket("rust-sdk")
        .send()
        .await
        .unwrap_err();
    assert!(
        format!("{gone:?}").contains("404") || gone.code() == Some("NotFound"),
        "{gone:?}"
    );
}

#[tokio::test]
async fn versions_delete_markers_and_their_listing_with_the_rust_sdk() {
    let server = start().await;
    let s3 = s3_client(&default_config(&server).await);
    make_bucket(&s3, "versioned", "us-west-2").await;
    // Before versioning: the null version, overwritten in place.
    let put = |body: &'static [u8]| {
        let s3 = s3.clone();
        async move {
            s3.put_object()
                .bucket("versioned")
                .key("requirements.txt")
                .body(body.to_vec().into())
                .send()
                .await
                .unwrap()
                .version_id()
                .map(str::to_owned)
        }
    };
    let get = |version: Option<String>| {
        let s3 = s3.clone();
        async move {
            let out = s3
                .get_object()
                .bucket("versioned")
                .key("requirements.txt")
                .set_version_id(version)
                .send()
                .await?;
            Ok::<_, aws_sdk_s3::error::SdkError<_>>(
                out.body.collect().await.unwrap().into_bytes().to_vec(),
            )
        }
    };
    assert_eq!(put(b"v0").await, None);
    assert_eq!(get(Some("null".into())).await.unwrap(), b"v0");
    enable_versioning(&s3, "versioned").await;
    let v1 = put(b"v1").await.expect("a version id");
    let v2 = put(b"v2").await.expect("a version id");
    assert_eq!(v1.len(), 32);
    assert_ne!(v1, v2);
    assert_eq!(get(None).await.unwrap(), b"v2");
    assert_eq!(get(Some(v1.clone())).await.unwrap(), b"v1");
    assert_eq!(get(Some("null".into())).await.unwrap(), b"v0");
    let missing = get(Some("NoSuchVersionAtAll".into())).await.unwrap_err();
    assert_eq!(missing.code(), Some("NoSuchVersion"));

    // A plain delete puts a marker on top: the key is gone from GET and ListObjectsV2, its
    // versions stay.
    let deleted = s3
        .delete_object()
        .bucket("versioned")
        .key("requirements.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.delete_marker(), Some(true));
    let marker = deleted.version_id().unwrap().to_owned();
    assert_eq!(get(None).await.unwrap_err().code(), Some("NoSuchKey"));
    let listed = s3
        .list_objects_v2()
        .bucket("versioned")
        .send()
        .await
        .unwrap();
    assert!(listed.contents().is_empty());
    let versions = s3
        .list_object_versions()
        .bucket("versioned")
        .send()
        .await
        .unwrap();
    let ids: Vec<(&str, bool)> = versions
        .versions()
        .iter()
        .map(|v| (v.version_id().unwrap(), v.is_latest().unwrap()))
        .collect();
    assert_eq!(
        ids,
        [(v2.as_str(), false), (v1.as_str(), false), ("null", false)]
    );
    let markers: Vec<(&str, bool)> = versions
        .delete_markers()
        .iter()
        .map(|m| (m.version_id().unwrap(), m.is_latest().unwrap()))
        .collect();
    assert_eq!(markers, [(marker.as_str(), true)]);
    // Paged: one entry at a time, the markers carry on where the last page stopped.
    let first = s3
        .list_object_versions()
        .bucket("versioned")
        .max_keys(1)
        .send()
        .await
        .unwrap();
    assert_eq!(first.is_truncated(), Some(true));
    let second = s3
        .list_object_versions()
        .bucket("versioned")
        .max_keys(1)
        .key_marker(first.next_key_marker().unwrap())
        .version_id_marker(first.next_version_id_marker().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(second.versions()[0].version_id(), Some(v2.as_str()));

    // Deleting the marker brings v2 back; deleting v2 for good makes v1 current.
    s3.delete_object()
        .bucket("versioned")
        .key("requirements.txt")
        .version_id(&marker)
        .send()
        .await
        .unwrap();
    assert_eq!(get(None).await.unwrap(), b"v2");
    s3.delete_object()
        .bucket("versioned")
        .key("requirements.txt")
        .version_id(&v2)
        .send()
        .await
        .unwrap();
    assert_eq!(get(None).await.unwrap(), b"v1");
    // A bucket with versions is not empty.
    let not_empty = s3
        .delete_bucket()
        .bucket("versioned")
        .send()
        .await
        .unwrap_err();
    assert_eq!(not_empty.code(), Some("BucketNotEmpty"));
}

/// What Terraform's `aws_s3_bucket` read asks on every refresh, answered as for a bucket with
/// none of it: the "not configured" codes the provider takes as empty, and the default SSE-S3
/// encryption every bucket has.
#[tokio::test]
async fn unset_bucket_settings_answer_as_on_aws() {
    let server = start().await;
    let s3 = s3_client(&default_config(&server).await);
    make_bucket(&s3, "tf-refresh", "us-west-2").await;
    let enc = s3
        .get_bucket_encryption()
        .bucket("tf-refresh")
        .send()
        .await
        .unwrap();
    let rule = &enc.server_side_encryption_configuration().unwrap().rules()[0];
    assert_eq!(
        rule.apply_server_side_encryption_by_default()
            .unwrap()
            .sse_algorithm()
            .as_str(),
        "AES256"
    );
    assert_eq!(rule.bucket_key_enabled(), Some(false));
    let err = s3
        .get_bucket_cors()
        .bucket("tf-refresh")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("NoSuchCORSConfiguration"));
    let err = s3
        .get_bucket_lifecycle_configuration()
        .bucket("tf-refresh")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("NoSuchLifecycleConfiguration"));
    let err = s3
        .get_object_lock_configuration()
        .bucket("tf-refresh")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ObjectLockConfigurationNotFoundError"));
    let pay = s3
        .get_bucket_request_payment()
        .bucket("tf-refresh")
        .send()
        .await
        .unwrap();
    assert_eq!(pay.payer().map(|p| p.as_str()), Some("BucketOwner"));
    let err = s3
        .get_bucket_cors()
        .bucket("no-such-tf")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("NoSuchBucket"));
}

#[tokio::test]
async fn the_acl_and_ownership_controls_terraform_reads() {
    let server = start().await;
    let s3 = s3_client(&default_config(&server).await);
    make_bucket(&s3, "tf-acl", "us-west-2").await;
    let acl = s3.get_bucket_acl().bucket("tf-acl").send().await.unwrap();
    let owner = acl.owner().and_then(|o| o.id()).unwrap();
    let grant = &acl.grants()[0];
    let grantee = grant.grantee().unwrap();
    // The grantee's type arrives as the xsi:type attribute the SDK reads.
    assert_eq!(grantee.r#type().as_str(), "CanonicalUser");
    assert_eq!(grantee.id(), Some(owner));
    assert_eq!(grant.permission().map(|p| p.as_str()), Some("FULL_CONTROL"));
    let controls = s3
        .get_bucket_ownership_controls()
        .bucket("tf-acl")
        .send()
        .await
        .unwrap();
    let rules = controls.ownership_controls().unwrap().rules();
    assert_eq!(rules[0].object_ownership().as_str(), "BucketOwnerEnforced");
    s3.delete_bucket_ownership_controls()
        .bucket("tf-acl")
        .send()
        .await
        .unwrap();
    let err = s3
        .get_bucket_ownership_controls()
        .bucket("tf-acl")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("OwnershipControlsNotFoundError"));
}
