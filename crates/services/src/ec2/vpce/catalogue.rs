//! The endpoint service catalogue: AWS's services offered in every region and the services
//! other parts of Airlock create (an MWAA environment's webserver and database).

use crate::ec2::common::{self, one, tags_json, Field, Filterable, Tag};
use crate::ec2::regions;
use crate::{input, Ctx};
use airlock_protocol::{ApiError, ApiResult};
use airlock_store::{Scope, Tx};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// AWS services offered as endpoint services in every region: (suffix, private DNS name pattern
/// with `{r}` for the region, types).
pub(crate) const AWS_SERVICES: &[(&str, &str, &[&str])] = &[
    ("acm", "acm.{r}.amazonaws.com", &["Interface"]),
    (
        "airflow.api",
        "api.airflow.{r}.amazonaws.com",
        &["Interface"],
    ),
    (
        "airflow.env",
        "env.airflow.{r}.amazonaws.com",
        &["Interface"],
    ),
    (
        "airflow.ops",
        "ops.airflow.{r}.amazonaws.com",
        &["Interface"],
    ),
    (
        "dynamodb",
        "dynamodb.{r}.amazonaws.com",
        &["Gateway", "Interface"],
    ),
    ("ec2", "ec2.{r}.amazonaws.com", &["Interface"]),
    ("ecr.api", "api.ecr.{r}.amazonaws.com", &["Interface"]),
    ("ecr.dkr", "*.dkr.ecr.{r}.amazonaws.com", &["Interface"]),
    (
        "elasticloadbalancing",
        "elasticloadbalancing.{r}.amazonaws.com",
        &["Interface"],
    ),
    ("kms", "kms.{r}.amazonaws.com", &["Interface"]),
    ("logs", "logs.{r}.amazonaws.com", &["Interface"]),
    ("monitoring", "monitoring.{r}.amazonaws.com", &["Interface"]),
    ("s3", "*.s3.{r}.amazonaws.com", &["Gateway", "Interface"]),
    (
        "secretsmanager",
        "secretsmanager.{r}.amazonaws.com",
        &["Interface"],
    ),
    ("sqs", "sqs.{r}.amazonaws.com", &["Interface"]),
    ("ssm", "ssm.{r}.amazonaws.com", &["Interface"]),
    ("sts", "sts.{r}.amazonaws.com", &["Interface"]),
];

/// Route 53 zones that hold VPC endpoint names, per region.
pub(super) fn vpce_hosted_zone(region: &str) -> std::borrow::Cow<'static, str> {
    match region {
        "us-east-1" => "Z7HUB22UULQXV".into(),
        "us-east-2" => "ZC8PG0KIFKBRI".into(),
        "us-west-1" => "Z12I86A8N7VCZO".into(),
        "us-west-2" => "Z1YSA3EXCYUU9Z".into(),
        "eu-west-1" => "Z38GZ743OKFT7T".into(),
        "eu-central-1" => "Z273ZU8SZ5RJPC".into(),
        "ap-northeast-1" => "Z2E726K9Y6RL4W".into(),
        other => format!("Z{}", &crate::ids::hex_of(other, 12).to_uppercase()).into(),
    }
}

/// Prefix lists of gateway endpoint services (AWS's ids where known, a stable one otherwise).
pub(crate) fn prefix_list(service: &str, region: &str) -> String {
    match (service, region) {
        ("s3", "us-west-2") => "pl-68a54001".into(),
        ("s3", "us-east-1") => "pl-63a5400a".into(),
        ("s3", "ap-south-1") => "pl-78a54011".into(),
        ("s3", "ap-northeast-1") => "pl-61a54008".into(),
        ("s3", "ap-northeast-2") => "pl-78a54011".into(),
        ("s3", "ap-southeast-1") => "pl-6fa54006".into(),
        ("s3", "ap-southeast-2") => "pl-6ca54005".into(),
        ("s3", "ca-central-1") => "pl-7da54014".into(),
        ("s3", "eu-central-1") => "pl-6ea54007".into(),
        ("dynamodb", "us-west-2") => "pl-00a54069".into(),
        ("dynamodb", "us-east-1") => "pl-02cd2c6b".into(),
        ("dynamodb", "ap-south-1") => "pl-66a7420f".into(),
        ("dynamodb", "ap-northeast-1") => "pl-78a54011".into(),
        ("dynamodb", "ap-northeast-2") => "pl-48a54021".into(),
        ("dynamodb", "ap-southeast-1") => "pl-67a5400e".into(),
        ("dynamodb", "ap-southeast-2") => "pl-62a5400b".into(),
        ("dynamodb", "ca-central-1") => "pl-4ea54027".into(),
        ("dynamodb", "eu-central-1") => "pl-66a5400f".into(),
        _ => format!(
            "pl-{}",
            crate::ids::hex_of(&format!("{service}/{region}"), 8)
        ),
    }
}

/// The name of an endpoint service that Airlock created (`com.amazonaws.vpce.<region>.<id>`).
pub fn custom_service_name(region: &str, id: &str) -> String {
    format!("com.amazonaws.vpce.{region}.{id}")
}

/// An endpoint service created by another part of Airlock (an MWAA environment's webserver or
/// database), offered only in its owner's region.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EndpointService {
    /// `vpce-svc-...`
    pub id: String,
    pub owner: String,
    pub tags: Vec<Tag>,
}

airlock_store::record!(EndpointService, "ec2.endpoint_service", id);

/// One entry of the catalogue.
#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    pub id: String,
    pub service_type: String,
    pub owner: String,
    pub private_dns: Option<String>,
    /// The name endpoint DNS names are built on (`airflow.api.us-west-2.vpce.amazonaws.com`).
    pub base_dns: String,
    /// For AWS services: their short name (`s3`, `airflow.api`).
    pub short: Option<String>,
    pub tags: Vec<Tag>,
}

/// Every endpoint service visible in the request's region.
pub fn catalogue(tx: &Tx<'_>, scope: &Scope) -> Vec<Service> {
    catalogue_of(
        &tx.list::<EndpointService>(&services_scope(&scope.region)),
        &scope.region,
    )
}

/// Endpoint services are visible to every account of their region.
pub fn services_scope(region: &str) -> Scope {
    Scope::new("", region)
}

fn catalogue_of(custom: &[std::sync::Arc<EndpointService>], r: &str) -> Vec<Service> {
    let mut out = Vec::new();
    for (short, dns, types) in AWS_SERVICES {
        let private = crate::partition::regional_name(dns, r);
        let base = crate::partition::regional_name(
            &dns.trim_start_matches("*.")
                .replace(".amazonaws.com", ".vpce.amazonaws.com"),
            r,
        );
        for t in *types {
            let name = format!("com.amazonaws.{r}.{short}");
            out.push(Service {
                id: format!(
                    "vpce-svc-{}",
                    crate::ids::hex_of(&format!("{name}/{t}"), 17)
                ),
                name,
                service_type: (*t).to_owned(),
                owner: "amazon".into(),
                private_dns: (*t == "Interface").then(|| private.clone()),
                base_dns: if *t == "Gateway" {
                    private.trim_start_matches("*.").to_owned()
                } else {
                    base.clone()
                },
                short: Some((*short).to_owned()),
                tags: Vec::new(),
            });
        }
    }
    for s in custom {
        out.push(Service {
            name: custom_service_name(r, &s.id),
            id: s.id.clone(),
            service_type: "Interface".into(),
            owner: s.owner.clone(),
            private_dns: None,
            base_dns: crate::partition::regional_name(
                &format!("{}.{{r}}.vpce.amazonaws.com", s.id),
                r,
            ),
            short: None,
            tags: s.tags.clone(),
        });
    }
    out.sort_by(|a, b| {
        a.name
            .cmp(&b.name)
            .then(a.service_type.cmp(&b.service_type))
    });
    out
}

impl Filterable for Service {
    fn field(&self, name: &str) -> Field {
        match name {
            "service-name" => one(&self.name),
            "service-type" => one(&self.service_type),
            "owner" => one(&self.owner),
            "service-region" => Some(vec![]),
            "supported-ip-address-types" => one("ipv4"),
            _ => None,
        }
    }
    fn tags(&self) -> &[Tag] {
        &self.tags
    }
}

pub fn describe_vpc_endpoint_services(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    input::dry_run(input)?;
    let names = input::strs(input, "ServiceNames");
    let filters = common::filters(input);
    let scope = ctx.scope();
    let all = catalogue_of(
        &ctx.store
            .read(|v| v.list::<EndpointService>(&services_scope(&scope.region))),
        &scope.region,
    );
    for n in &names {
        if !all.iter().any(|s| &s.name == n) {
            return Err(ApiError::new(
                "InvalidServiceName",
                format!("The Vpc Endpoint Service '{n}' does not exist"),
            ));
        }
    }
    let zones: Vec<_> = regions::zones(&ctx.region);
    let mut details = Vec::new();
    for s in all {
        if (names.is_empty() || names.contains(&s.name)) && common::matches(&s, &filters)? {
            details.push(s);
        }
    }
    let (page, next) = common::paginate(details, input, (5, 1000), false, |s| {
        format!("{}/{}", s.name, s.service_type)
    })?;
    let mut service_names: Vec<String> = page.iter().map(|s| s.name.clone()).collect();
    service_names.dedup();
    let details: Vec<Value> = page
        .iter()
        .map(|s| {
            let mut d = json!({
                "ServiceName": s.name, "ServiceId": s.id, "ServiceType": [{"ServiceType": s.service_type}],
                "AvailabilityZones": zones.iter().map(|z| z.name.clone()).collect::<Vec<_>>(),
                "AvailabilityZoneIds": zones.iter().map(|z| z.id.clone()).collect::<Vec<_>>(),
                "Owner": s.owner, "BaseEndpointDnsNames": [s.base_dns], "VpcEndpointPolicySupported": true,
                "AcceptanceRequired": false, "ManagesVpcEndpoints": false, "SupportedIpAddressTypes": ["ipv4"],
                "Tags": tags_json(&s.tags),
            });
            if let Some(p) = &s.private_dns {
                d["PrivateDnsName"] = json!(p);
                d["PrivateDnsNames"] = json!([{"PrivateDnsName": p}]);
                d["PrivateDnsNameVerificationState"] = json!("verified");
            }
            d
        })
        .collect();
    let mut res = json!({"ServiceNames": service_names, "ServiceDetails": details});
    if let Some(n) = next {
        res["NextToken"] = json!(n);
    }
    Ok(res)
}
