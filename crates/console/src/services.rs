//! Certificate Manager, IAM and S3: certificates (with what uses them), roles, buckets and
//! their objects (the DAG files an environment is made from).

use crate::html::{esc, Cell, Table};
use crate::{items, s, Content, Req};
use airlock_protocol::ApiError;
use serde_json::{json, Value};

/// Certificate Manager → Certificates.
pub fn certificates(r: &Req<'_>, _id: &str) -> Result<Content, ApiError> {
    let list = r.api.all(
        "acm",
        "ListCertificates",
        json!({}),
        "CertificateSummaryList",
        ("NextToken", "NextToken"),
    )?;
    let mut t = Table::new(vec![
        "Domain",
        "Certificate ARN",
        "Type",
        "Status",
        "Not after",
        "In use by",
    ]);
    for c in &list {
        let arn = s(c, "CertificateArn");
        let d = r.api.call(
            "acm",
            "DescribeCertificate",
            json!({ "CertificateArn": arn }),
        )?;
        let d = d.get("Certificate").cloned().unwrap_or(Value::Null);
        let used: Vec<String> = items(&d, "InUseBy")
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        t.push(vec![
            Cell::text(s(&d, "DomainName")),
            Cell::text(arn),
            Cell::text(s(&d, "Type")),
            Cell::status(s(&d, "Status")),
            Cell::text(s(&d, "NotAfter")),
            Cell::lines(&used),
        ]);
    }
    Ok(r.listing("Certificates", "acm/certificates", t, false))
}

/// IAM → Roles (global: the same in every region).
pub fn roles(r: &Req<'_>, _id: &str) -> Result<Content, ApiError> {
    let list = r
        .api
        .all("iam", "ListRoles", json!({}), "Roles", ("Marker", "Marker"))?;
    let mut t = Table::new(vec![
        "Role name",
        "ARN",
        "Path",
        "Trusted entities",
        "Created",
    ]);
    for role in &list {
        let trust = percent_encoding::percent_decode_str(s(role, "AssumeRolePolicyDocument"))
            .decode_utf8_lossy()
            .into_owned();
        let principals: Vec<String> = serde_json::from_str::<Value>(&trust)
            .ok()
            .map(|doc| {
                let statements = match doc.get("Statement") {
                    Some(Value::Array(a)) => a.clone(),
                    Some(one) => vec![one.clone()],
                    None => Vec::new(),
                };
                statements
                    .iter()
                    .filter_map(|st| st.get("Principal"))
                    .flat_map(|p| match p {
                        Value::Object(m) => m
                            .iter()
                            .flat_map(|(k, v)| match v {
                                Value::Array(a) => a
                                    .iter()
                                    .map(|x| format!("{k}: {}", x.as_str().unwrap_or("")))
                                    .collect::<Vec<_>>(),
                                v => vec![format!("{k}: {}", v.as_str().unwrap_or(""))],
                            })
                            .collect::<Vec<_>>(),
                        v => vec![v.as_str().unwrap_or("").to_owned()],
                    })
                    .collect()
            })
            .unwrap_or_default();
        t.push(vec![
            Cell::text(s(role, "RoleName")),
            Cell::text(s(role, "Arn")),
            Cell::text(s(role, "Path")),
            Cell::lines(&principals),
            Cell::text(s(role, "CreateDate")),
        ]);
    }
    Ok(r.listing("Roles", "iam/roles", t, true))
}

/// S3 → Buckets (global: every region's), and one bucket's objects.
pub fn buckets(r: &Req<'_>, name: &str) -> Result<Content, ApiError> {
    if !name.is_empty() {
        return bucket(r, name);
    }
    let out = r.api.call("s3", "ListBuckets", json!({}))?;
    let mut t = Table::new(vec!["Name", "Region", "Created"]);
    for b in items(&out, "Buckets") {
        let n = s(b, "Name");
        let region = r
            .api
            .call("s3", "GetBucketLocation", json!({ "Bucket": n }))
            .ok()
            .map(|l| match s(&l, "LocationConstraint") {
                "" => "us-east-1".to_owned(),
                x => x.to_owned(),
            })
            .unwrap_or_default();
        t.push(vec![
            Cell::link(n, &r.href(&format!("s3/buckets/{n}"), &[])),
            Cell::text(region),
            Cell::text(s(b, "CreationDate")),
        ]);
    }
    Ok(r.listing("Buckets", "s3/buckets", t, true))
}

fn bucket(r: &Req<'_>, name: &str) -> Result<Content, ApiError> {
    let out = r
        .api
        .call("s3", "ListObjectsV2", json!({ "Bucket": name }))?;
    let mut t = Table::new(vec!["Key", "Size", "Last modified", "ETag"]);
    for o in items(&out, "Contents") {
        t.push(vec![
            Cell::text(s(o, "Key")),
            Cell::text(o.get("Size").map(|x| x.to_string()).unwrap_or_default()),
            Cell::text(s(o, "LastModified")),
            Cell::text(s(o, "ETag")),
        ]);
    }
    let mut main = format!(
        "<p class=\"crumbs\"><a href=\"{}\">Buckets</a> › {}</p><h1>{}</h1>",
        esc(&r.href("s3/buckets", &[])),
        esc(name),
        esc(name)
    );
    if out.get("IsTruncated").and_then(Value::as_bool) == Some(true) {
        main.push_str("<p>The first 1,000 objects.</p>");
    }
    r.table(&format!("s3/buckets/{name}"), t, &mut main);
    Ok(Content {
        title: name.to_owned(),
        main,
    })
}
