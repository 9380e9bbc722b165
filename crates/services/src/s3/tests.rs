use super::*;
use crate::{Body, Config};
use airlock_store::Store;
use time::OffsetDateTime;

fn ctx<'a>(
    store: &'a Store,
    config: &'a Config,
    account: &str,
    region: &str,
    body: &'a [u8],
) -> Ctx<'a> {
    let root = crate::auth::root(account, "test");
    let clock = config.clock(OffsetDateTime::now_utc());
    Ctx {
        body: Body::Bytes(body),
        ..Ctx::internal(store, config, root, region, clock)
    }
}

fn call(c: &Ctx<'_>, op: &str, input: Value) -> ApiResult<Value> {
    SERVICE.call_value(c, op, &input).unwrap()
}

/// Account 111111111111's context in us-east-1, with its bucket `name` made.
fn owner_of<'a>(store: &'a Store, config: &'a Config, name: &str) -> Ctx<'a> {
    let c = ctx(store, config, "111111111111", "us-east-1", b"");
    call(&c, "CreateBucket", json!({"Bucket": name})).unwrap();
    c
}

fn code(r: ApiResult<Value>) -> String {
    r.map(|_| "ok".to_owned()).unwrap_or_else(|e| e.code)
}

#[test]
fn bucket_names_follow_s3s_rules() {
    for ok in ["abc", "my-bucket.logs", "a1b", &"a".repeat(63)] {
        assert!(valid_bucket_name(ok), "{ok}");
    }
    for bad in [
        "ab",
        "Abc",
        "a_b",
        "-ab",
        "ab-",
        "a..b",
        "192.168.5.4",
        "xn--ab",
        "ab-s3alias",
        &"a".repeat(64),
    ] {
        assert!(!valid_bucket_name(bad), "{bad}");
    }
}

#[test]
fn location_constraints_and_global_names() {
    let store = Store::ephemeral(&crate::record_kinds());
    let config = Config::default();
    let west = ctx(&store, &config, "111111111111", "us-west-2", b"");
    let east = ctx(&store, &config, "111111111111", "us-east-1", b"");
    let other = ctx(&store, &config, "222222222222", "us-west-2", b"");
    let cfg =
        |c: &str| json!({"Bucket": "bk1", "CreateBucketConfiguration": {"LocationConstraint": c}});
    let bucket = |b: &str| json!({"Bucket": b});
    let bk3 =
        json!({"Bucket": "bk3", "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}});
    // In order: each step's caller, operation, input and the code it answers.
    #[rustfmt::skip]
    let steps = [
        (&west, "CreateBucket", bucket("bk1"), "IllegalLocationConstraintException"),
        (&west, "CreateBucket", cfg("eu-west-1"), "IllegalLocationConstraintException"),
        (&east, "CreateBucket", cfg("us-east-1"), "InvalidLocationConstraint"),
        (&east, "CreateBucket", cfg("nowhere"), "InvalidLocationConstraint"),
        (&west, "CreateBucket", bucket("B_1"), "InvalidBucketName"),
        (&west, "CreateBucket", cfg("us-west-2"), "ok"),
        (&west, "CreateBucket", cfg("us-west-2"), "BucketAlreadyOwnedByYou"),
        (&other, "CreateBucket", cfg("us-west-2"), "BucketAlreadyExists"),
        (&other, "HeadBucket", bucket("bk1"), "AccessDenied"),
        // us-east-1 (no constraint) answers a repeated create by its owner with success.
        (&east, "CreateBucket", bucket("bk2"), "ok"),
        (&east, "CreateBucket", bucket("bk2"), "ok"),
        // From us-east-1, any region may be named.
        (&east, "CreateBucket", bk3, "ok"),
    ];
    for (i, (who, op, input, want)) in steps.into_iter().enumerate() {
        assert_eq!(code(call(who, op, input)), want, "step {i}");
    }
    let head = call(&east, "HeadBucket", json!({"Bucket": "bk3"})).unwrap();
    assert_eq!(head["BucketRegion"], "eu-west-1");
    assert_eq!(
        call(&east, "GetBucketLocation", json!({"Bucket": "bk2"})).unwrap(),
        json!({})
    );
}

#[test]
fn objects_replace_list_and_multipart_etags() {
    let store = Store::ephemeral(&crate::record_kinds());
    let config = Config::default();
    let c = owner_of(&store, &config, "bkt");
    let put = |key: &str, data: &[u8]| {
        let c = ctx(&store, &config, "111111111111", "us-east-1", data);
        call(&c, "PutObject", json!({"Bucket": "bkt", "Key": key}))
    };
    assert_eq!(
        put("k", b"one").unwrap()["ETag"],
        "\"f97c5d29941bfb1b2fdab0874906ab82\""
    );
    put("k", b"two").unwrap();
    let got = SERVICE
        .call_value(
            &c,
            "GetObject",
            &json!({"Bucket": "bkt", "Key": "k", "Range": "bytes=1-"}),
        )
        .unwrap()
        .unwrap();
    assert_eq!(got["ContentRange"], "bytes 1-2/3");
    assert_eq!(
        code(call(&c, "DeleteBucket", json!({"Bucket": "bkt"}))),
        "BucketNotEmpty"
    );
    let bad_md5 = ctx(&store, &config, "111111111111", "us-east-1", b"x");
    assert_eq!(
        code(call(
            &bad_md5,
            "PutObject",
            json!({"Bucket": "bkt", "Key": "m", "ContentMD5": "AAAAAAAAAAAAAAAAAAAAAA=="})
        )),
        "BadDigest"
    );

    let id = call(
        &c,
        "CreateMultipartUpload",
        json!({"Bucket": "bkt", "Key": "big"}),
    )
    .unwrap()["UploadId"]
        .as_str()
        .unwrap()
        .to_owned();
    let part = |n: i64, data: &[u8]| {
        let c = ctx(&store, &config, "111111111111", "us-east-1", data);
        call(
            &c,
            "UploadPart",
            json!({"Bucket": "bkt", "Key": "big", "UploadId": id, "PartNumber": n}),
        )
        .unwrap()["ETag"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let first = vec![1u8; 5 * 1024 * 1024];
    let (e1, e2) = (part(1, &first), part(2, b"end"));
    let complete = |parts: Value| {
        call(
            &c,
            "CompleteMultipartUpload",
            json!({"Bucket": "bkt", "Key": "big", "UploadId": id, "MultipartUpload": {"Parts": parts}}),
        )
    };
    assert_eq!(
        code(complete(
            json!([{"PartNumber": 2, "ETag": e2}, {"PartNumber": 1, "ETag": e1}])
        )),
        "InvalidPartOrder"
    );
    assert_eq!(
        code(complete(json!([{"PartNumber": 1, "ETag": "\"00\""}]))),
        "InvalidPart"
    );
    // A part under 5 MiB that is not the last: refused, the sizes in the error's body.
    let e3 = part(3, b"more");
    let all_three = json!([{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2},
                           {"PartNumber": 3, "ETag": e3}]);
    let small = complete(all_three).unwrap_err();
    assert_eq!(small.code, "EntityTooSmall");
    assert_eq!(
        small.extra,
        [
            ("ProposedSize".to_owned(), json!(3)),
            ("MinSizeAllowed".to_owned(), json!(5 * 1024 * 1024))
        ]
    );
    let done =
        complete(json!([{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}])).unwrap();
    let mut md5s = Vec::new();
    for e in [&e1, &e2] {
        md5s.extend(hex::decode(e.trim_matches('"')).unwrap());
    }
    use md5::Digest;
    let want = format!("\"{}-2\"", hex::encode(md5::Md5::digest(&md5s)));
    assert_eq!(done["ETag"], want);
    let head = call(&c, "HeadObject", json!({"Bucket": "bkt", "Key": "big"})).unwrap();
    assert_eq!(head["ContentLength"], 5 * 1024 * 1024 + 3);
    assert_eq!(
        code(complete(json!([{"PartNumber": 1, "ETag": e1}]))),
        "NoSuchUpload"
    );
    let listed = call(&c, "ListObjectsV2", json!({"Bucket": "bkt"})).unwrap();
    assert_eq!(listed["KeyCount"], 2);
}

#[test]
fn ranges() {
    use super::objects::range;
    assert_eq!(range(None, 10).unwrap(), None);
    assert_eq!(range(Some("bytes=0-4"), 10).unwrap(), Some((0, 4)));
    assert_eq!(range(Some("bytes=5-"), 10).unwrap(), Some((5, 9)));
    assert_eq!(range(Some("bytes=-3"), 10).unwrap(), Some((7, 9)));
    assert_eq!(range(Some("bytes=8-100"), 10).unwrap(), Some((8, 9)));
    assert_eq!(range(Some("bytes=-30"), 10).unwrap(), Some((0, 9)));
    // Forms S3 ignores: the whole object.
    assert_eq!(range(Some("bytes=5-2"), 10).unwrap(), None);
    assert_eq!(range(Some("items=0-1"), 10).unwrap(), None);
    assert_eq!(range(Some("bytes=0-1,3-4"), 10).unwrap(), None);
    assert_eq!(
        range(Some("bytes=10-"), 10).unwrap_err().code,
        "InvalidRange"
    );
    assert_eq!(
        range(Some("bytes=-0"), 10).unwrap_err().code,
        "InvalidRange"
    );
}

/// An object's stored record keeps what its writer said of it at the top level, as records
/// written before `Described` existed do: both read back the same.
#[test]
fn object_records_keep_their_layout() {
    let stored = json!({
        "key": "dags/a.py", "size": 3, "etag": "\"e\"", "last_modified": "2024-05-01T10:00:00.000Z",
        "content_type": "text/x-python", "metadata": {"owner": "me"},
        "headers": {"CacheControl": "no-cache"}, "blob": {"file": "f1"}
    });
    let o: objects::Object = serde_json::from_value(stored.clone()).unwrap();
    assert_eq!(o.described.content_type, "text/x-python");
    assert_eq!(o.described.metadata["owner"], "me");
    assert_eq!(o.described.headers["CacheControl"], "no-cache");
    let again = serde_json::to_value(&o).unwrap();
    for k in ["content_type", "metadata", "headers"] {
        assert_eq!(again[k], stored[k], "{k}");
    }
    assert!(again.get("described").is_none());
}

/// A bucket setting's body that parses but lacks what the schema requires inside it is S3's
/// MalformedXML, and the settings read back as the model shapes them.
#[test]
fn settings_bodies_are_checked_and_read_back() {
    let store = Store::ephemeral(&crate::record_kinds());
    let config = Config::default();
    let c = owner_of(&store, &config, "bk1");
    for (op, input) in [
        ("PutBucketTagging", json!({"Bucket": "bk1", "Tagging": {}})),
        (
            "PutBucketOwnershipControls",
            json!({"Bucket": "bk1", "OwnershipControls": {"Rules": [
                {"ObjectOwnership": "ObjectWriter"}, {"ObjectOwnership": "ObjectWriter"}]}}),
        ),
        (
            "PutBucketVersioning",
            json!({"Bucket": "bk1", "VersioningConfiguration": {"Status": "On"}}),
        ),
    ] {
        assert_eq!(code(call(&c, op, input)), "MalformedXML", "{op}");
    }
    let block = json!({"BlockPublicAcls": true, "IgnorePublicAcls": true,
        "BlockPublicPolicy": true, "RestrictPublicBuckets": false});
    let tags = json!([{"Key": "team", "Value": "data"}]);
    call(
        &c,
        "PutPublicAccessBlock",
        json!({"Bucket": "bk1", "PublicAccessBlockConfiguration": block}),
    )
    .unwrap();
    call(
        &c,
        "PutBucketTagging",
        json!({"Bucket": "bk1", "Tagging": {"TagSet": tags}}),
    )
    .unwrap();
    let got = call(&c, "GetPublicAccessBlock", json!({"Bucket": "bk1"})).unwrap();
    assert_eq!(got, json!({"PublicAccessBlockConfiguration": block}));
    let got = call(&c, "GetBucketTagging", json!({"Bucket": "bk1"})).unwrap();
    assert_eq!(got, json!({"TagSet": tags}));
    let got = call(&c, "GetBucketAcl", json!({"Bucket": "bk1"})).unwrap();
    assert_eq!(got["Grants"][0]["Grantee"]["ID"], got["Owner"]["ID"]);
    assert_eq!(got["Grants"][0]["Permission"], "FULL_CONTROL");
    // The stored record keeps the layout it had when both were kept as the JSON given.
    let stored = store.read(|v| v.get::<Bucket>(&buckets(), "bk1")).unwrap();
    let stored = serde_json::to_value(&*stored).unwrap();
    assert_eq!(stored["public_access_block"], block);
    assert_eq!(stored["tags"], tags);
}

/// A public access block an older Airlock stored as a template gave it (a string for a flag)
/// reads as none, and the rest of the bucket reads as stored.
#[test]
fn an_odd_stored_public_access_block_reads_as_none() {
    let stored = json!({"name": "bk1", "owner": "111111111111", "region": "us-east-1",
        "created": "2026-12-05T10:00:00.000Z", "versioning": "Enabled",
        "public_access_block": {"BlockPublicAcls": "yes"}, "tags": [{"Key": "a", "Value": "b"}]});
    let b: Bucket = serde_json::from_value(stored).unwrap();
    assert!(b.public_access_block.is_none());
    assert_eq!(b.versioning.as_deref(), Some("Enabled"));
    assert_eq!(b.tags.unwrap()[0].key.as_deref(), Some("a"));
}
