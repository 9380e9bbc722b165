use super::*;
use crate::classify::{classify_request, Target};
use serde_json::json;

fn req<'a>(
    method: &'a str,
    path: &'a str,
    query: &'a str,
    headers: &'a [(&'a str, &'a str)],
    body: &'a [u8],
) -> HttpRequest<'a> {
    HttpRequest {
        method,
        path,
        query,
        headers,
        body,
    }
}

fn target(r: &HttpRequest<'_>) -> Target {
    classify_request(r, &[], Some("s3")).unwrap()
}

fn op_of(r: &HttpRequest<'_>) -> String {
    target(r).op.map(|o| o.name.to_string()).unwrap_or_default()
}

fn decoded(r: &HttpRequest<'_>) -> Value {
    crate::decode(&target(r), r, &[]).unwrap()
}

#[test]
fn operations_on_one_path_are_told_apart() {
    let h: &[(&str, &str)] = &[("host", "127.0.0.1:4566")];
    let cases = [
        ("PUT", "/b", "", "CreateBucket"),
        ("PUT", "/b/", "", "CreateBucket"),
        ("GET", "/", "", "ListBuckets"),
        ("GET", "/b", "", "ListObjects"),
        ("GET", "/b", "list-type=2&prefix=a", "ListObjectsV2"),
        ("GET", "/b", "location", "GetBucketLocation"),
        ("GET", "/b", "versioning", "GetBucketVersioning"),
        ("PUT", "/b/k/x", "", "PutObject"),
        ("PUT", "/b/k", "x-id=PutObject", "PutObject"),
        ("PUT", "/b/k", "partNumber=1&uploadId=u", "UploadPart"),
        ("GET", "/b/k", "", "GetObject"),
        ("GET", "/b/k", "uploadId=u", "ListParts"),
        ("POST", "/b/k", "uploads", "CreateMultipartUpload"),
        ("POST", "/b/k", "uploadId=u", "CompleteMultipartUpload"),
        ("DELETE", "/b/k", "uploadId=u", "AbortMultipartUpload"),
        ("DELETE", "/b/k", "", "DeleteObject"),
        ("POST", "/b", "delete", "DeleteObjects"),
        ("HEAD", "/b", "", "HeadBucket"),
    ];
    for (method, path, query, op) in cases {
        assert_eq!(
            op_of(&req(method, path, query, h, b"")),
            op,
            "{method} {path}?{query}"
        );
    }
    let copy: &[(&str, &str)] = &[("x-amz-copy-source", "/src/k")];
    assert_eq!(op_of(&req("PUT", "/b/k", "", copy, b"")), "CopyObject");
    // A sub-resource Airlock does not implement is no operation (NotImplemented), never
    // CreateBucket or GetObject.
    assert_eq!(op_of(&req("PUT", "/b", "acl", h, b"")), "");
    assert_eq!(op_of(&req("GET", "/b/k", "torrent", h, b"")), "");
}

#[test]
fn virtual_hosted_requests_take_the_bucket_from_the_host() {
    let h: &[(&str, &str)] = &[("Host", "my-bucket.localhost:4566")];
    let r = req("GET", "/dir/file.txt", "", h, b"");
    assert_eq!(op_of(&r), "GetObject");
    assert_eq!(
        decoded(&r),
        json!({"Bucket": "my-bucket", "Key": "dir/file.txt"})
    );
    let r = req("GET", "/", "list-type=2", h, b"");
    assert_eq!(op_of(&r), "ListObjectsV2");
    let h: &[(&str, &str)] = &[("Host", "b.s3.us-west-2.amazonaws.com")];
    assert_eq!(op_of(&req("PUT", "/", "", h, b"")), "CreateBucket");
    let h: &[(&str, &str)] = &[("Host", "s3.localhost:4566")];
    assert_eq!(op_of(&req("GET", "/", "", h, b"")), "ListBuckets");
}

#[test]
fn headers_metadata_and_labels_bind() {
    let h: &[(&str, &str)] = &[
        ("Content-Type", "text/plain"),
        ("x-amz-meta-Colour", "blue"),
        ("x-amz-meta-size", "big"),
        ("Content-Length", "5"),
        ("If-Modified-Since", "Wed, 21 Oct 2015 07:28:00 GMT"),
    ];
    let v = decoded(&req("PUT", "/b/a%20b/c", "", h, b"hello"));
    assert_eq!(v["Bucket"], "b");
    assert_eq!(v["Key"], "a b/c");
    assert_eq!(v["ContentType"], "text/plain");
    assert_eq!(v["ContentLength"], 5);
    assert_eq!(v["Metadata"], json!({"colour": "blue", "size": "big"}));
    assert!(v.get("Body").is_none());
    let g = decoded(&req("GET", "/b/k", "", h, b""));
    assert_eq!(g["IfModifiedSince"], "2015-10-21T07:28:00.000Z");
    let bad: &[(&str, &str)] = &[];
    let r = req("GET", "/b", "list-type=2&max-keys=x", bad, b"");
    let e = crate::decode(&target(&r), &r, &[]).unwrap_err();
    assert_eq!(e.code, "InvalidArgument");
}

#[test]
fn xml_payloads_decode_by_shape() {
    let body = br#"<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>"#;
    let v = decoded(&req("PUT", "/b", "", &[], body));
    assert_eq!(
        v["CreateBucketConfiguration"],
        json!({"LocationConstraint": "eu-west-1"})
    );
    let body = br#"<?xml version="1.0"?><Delete><Object><Key>a</Key></Object><Object><Key>b&amp;c</Key><VersionId>v</VersionId></Object><Quiet>true</Quiet></Delete>"#;
    let v = decoded(&req("POST", "/b", "delete", &[], body));
    assert_eq!(
        v["Delete"],
        json!({"Objects": [{"Key": "a"}, {"Key": "b&c", "VersionId": "v"}], "Quiet": true})
    );
    let body = br#"<CompleteMultipartUpload><Part><ETag>"x"</ETag><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>"#;
    let v = decoded(&req("POST", "/b/k", "uploadId=u", &[], body));
    assert_eq!(v["UploadId"], "u");
    assert_eq!(
        v["MultipartUpload"],
        json!({"Parts": [{"ETag": "\"x\"", "PartNumber": 1}]})
    );
    for bad in [&b"<Delete><Object>"[..], b"not xml", b"<a></b>", b""] {
        let r = req("POST", "/b", "delete", &[], bad);
        let e = crate::decode(&target(&r), &r, &[]).unwrap_err();
        assert_eq!(e.code, "MalformedXML", "{}", String::from_utf8_lossy(bad));
    }
}

fn encoded(op: &str, v: Value) -> Response {
    let m = airlock_model::s3();
    crate::envelope::success(m, m.operation(op).unwrap(), "rid", v.into())
}

#[test]
fn bodies_have_s3_root_elements_and_namespace() {
    let r = encoded(
        "ListObjectsV2",
        json!({"Name": "b", "Prefix": "", "KeyCount": 1, "MaxKeys": 1000, "IsTruncated": false,
               "Contents": [{"Key": "a&b", "Size": 3, "ETag": "\"e\"", "LastModified": "2024-05-01T10:00:00.000Z"}],
               "CommonPrefixes": [{"Prefix": "d/"}]}),
    );
    let body = String::from_utf8(r.body).unwrap();
    assert!(
        body.contains("<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"),
        "{body}"
    );
    assert!(body.contains("<Contents><ETag>&quot;e&quot;</ETag><Key>a&amp;b</Key><LastModified>2024-05-01T10:00:00.000Z</LastModified><Size>3</Size></Contents>"), "{body}");
    assert!(
        body.contains("<CommonPrefixes><Prefix>d/</Prefix></CommonPrefixes>"),
        "{body}"
    );
    let r = encoded(
        "GetBucketLocation",
        json!({"LocationConstraint": "eu-west-1"}),
    );
    assert!(String::from_utf8(r.body).unwrap().ends_with(
        "<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">eu-west-1</LocationConstraint>"
    ));
    let r = encoded(
        "ListBuckets",
        json!({"Buckets": [{"Name": "b", "CreationDate": "2024-05-01T10:00:00.000Z"}], "Owner": {"ID": "o"}}),
    );
    let body = String::from_utf8(r.body).unwrap();
    assert!(body.contains("<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Buckets><Bucket><CreationDate>2024-05-01T10:00:00.000Z</CreationDate><Name>b</Name></Bucket></Buckets><Owner><ID>o</ID></Owner></ListAllMyBucketsResult>"), "{body}");
    // An undeclared member is an internal error, never dropped.
    let r = encoded("ListBuckets", json!({"Nope": 1}));
    assert_eq!(r.status, 500);
}

#[test]
fn headers_status_and_blob_payloads_encode() {
    let m = airlock_model::s3();
    let out = Output::from(json!({
        "ContentLength": 5, "ContentType": "text/plain", "ETag": "\"abc\"",
        "LastModified": "2015-10-21T07:28:00.000Z", "Metadata": {"colour": "blue"},
        "ContentRange": "bytes 0-4/10"
    }))
    .with_payload(b"hello".to_vec());
    let r = crate::envelope::success(m, m.operation("GetObject").unwrap(), "rid", out);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"hello");
    let h = |n: &str| {
        r.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(h("Last-Modified"), Some("Wed, 21 Oct 2015 07:28:00 GMT"));
    assert_eq!(h("Content-Length"), Some("5"));
    assert_eq!(h("Content-Type"), Some("text/plain"));
    assert_eq!(h("x-amz-meta-colour"), Some("blue"));
    assert_eq!(h("ETag"), Some("\"abc\""));
    let r = encoded("DeleteBucket", json!({}));
    assert_eq!((r.status, r.body.len()), (204, 0));
    let r = encoded("HeadObject", json!({"ContentLength": 3}));
    assert!(r.body.is_empty());
}

#[test]
fn errors_use_s3s_envelope() {
    let e = ApiError::new("NoSuchKey", "The specified key does not exist.");
    let mut e = e;
    e.extra.push(("Key".into(), json!("a<b")));
    let r = crate::envelope::error(
        airlock_model::Protocol::RestXml,
        Some(airlock_model::s3()),
        &e,
        "rid",
    );
    assert_eq!(r.status, 404);
    assert_eq!(
        String::from_utf8(r.body).unwrap(),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>a&lt;b</Key><RequestId>rid</RequestId></Error>"
    );
}

#[test]
fn http_dates_round_trip() {
    let t = parse_time("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
    assert_eq!(http_date(t), "Wed, 21 Oct 2015 07:28:00 GMT");
    assert_eq!(parse_time("2015-10-21T07:28:00Z"), Some(t));
    assert_eq!(parse_time("garbage"), None);
}
