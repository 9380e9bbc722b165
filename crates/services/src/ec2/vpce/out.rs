//! How endpoints are answered: the output shapes and the filters of DescribeVpcEndpoints.

use super::*;
use crate::ec2::common::{self, one, Field, Filterable, Tag};
use crate::ec2::sg;
use crate::ec2::subnet;
use airlock_protocol::encode;
use airlock_store::{Scope, Tx, View};
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;

/// `VpcEndpoint` as DescribeVpcEndpoints and CreateVpcEndpoint answer it (fields in the model's
/// order, which the encoders walk fastest).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct EndpointOut<'a> {
    creation_timestamp: String,
    dns_entries: Vec<DnsEntry>,
    dns_options: Option<DnsOptions<'a>>,
    groups: Vec<sg::GroupIdentifier<'a>>,
    ip_address_type: Option<&'a str>,
    network_interface_ids: &'a [String],
    owner_id: &'a str,
    policy_document: &'a str,
    private_dns_enabled: bool,
    requester_managed: bool,
    route_table_ids: &'a [String],
    service_name: &'a str,
    service_region: &'a str,
    state: &'static str,
    subnet_ids: &'a [String],
    tags: Vec<common::TagOut<'a>>,
    vpc_endpoint_id: &'a str,
    vpc_endpoint_type: &'a str,
    vpc_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DnsEntry {
    dns_name: String,
    hosted_zone_id: std::borrow::Cow<'static, str>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DnsOptions<'a> {
    dns_record_ip_type: &'a str,
}

/// DescribeVpcEndpoints' answer: the page's endpoints (with their states) and what rendering
/// them needs, encoded straight from the records.
pub(super) struct DescribeOut {
    pub(super) page: Vec<(Arc<VpcEndpoint>, &'static str)>,
    pub(super) view: JsonView,
    pub(super) next: Option<String>,
}

impl Serialize for DescribeOut {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        struct Page<'a>(&'a DescribeOut);
        impl Serialize for Page<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                // Each item is the encoding of the endpoint's record under the state it shows,
                // which the cache keeps: the item depends on nothing else that can change (the
                // names of its groups and the zones of its subnets are fixed, and neither can
                // be deleted while the endpoint uses it).
                s.collect_seq(
                    self.0
                        .page
                        .iter()
                        .map(|(e, state)| encode::part(e, *state, || e.out(state, &self.0.view))),
                )
            }
        }
        let mut out = s.serialize_struct("DescribeVpcEndpointsResult", 2)?;
        out.serialize_field("NextToken", &self.next)?;
        out.serialize_field("VpcEndpoints", &Page(self))?;
        out.end()
    }
}

/// What rendering endpoints needs from the rest of the region.
pub(super) struct JsonView {
    groups: Vec<std::sync::Arc<sg::SecurityGroup>>,
    subnet_zones: Vec<(String, String)>,
}

pub(super) fn json_view(tx: &Tx<'_>, scope: &Scope) -> JsonView {
    JsonView {
        groups: tx.list::<sg::SecurityGroup>(scope),
        subnet_zones: tx
            .list::<subnet::Subnet>(scope)
            .iter()
            .map(|s| (s.id.clone(), s.az.clone()))
            .collect(),
    }
}

/// What the JSON of `endpoints` needs, looked up by id (not by listing every group and subnet).
pub(super) fn json_view_of(v: &View<'_>, scope: &Scope, endpoints: &[&VpcEndpoint]) -> JsonView {
    // Each id once. Endpoints listed together mostly share their groups and subnets, so runs of
    // one id go first and little is left to sort.
    let distinct = |ids: &mut Vec<&str>| {
        ids.dedup();
        ids.sort_unstable();
        ids.dedup();
    };
    let mut group_ids: Vec<&str> = endpoints
        .iter()
        .flat_map(|e| e.groups.iter().map(String::as_str))
        .collect();
    distinct(&mut group_ids);
    let mut subnet_ids: Vec<&str> = endpoints
        .iter()
        .flat_map(|e| e.subnet_ids.iter().map(String::as_str))
        .collect();
    distinct(&mut subnet_ids);
    JsonView {
        groups: group_ids
            .into_iter()
            .filter_map(|g| v.get::<sg::SecurityGroup>(scope, g))
            .collect(),
        subnet_zones: subnet_ids
            .into_iter()
            .filter_map(|s| v.get::<subnet::Subnet>(scope, s))
            .map(|s| (s.id.clone(), s.az.clone()))
            .collect(),
    }
}

pub(super) struct EndpointRow<'a>(pub(super) &'a VpcEndpoint, pub(super) &'static str);

impl Filterable for EndpointRow<'_> {
    fn field(&self, name: &str) -> Field {
        let e = self.0;
        match name {
            "vpc-endpoint-id" => one(&e.id),
            "vpc-id" => one(&e.vpc_id),
            "service-name" => one(&e.service_name),
            "service-region" => one(&e.region),
            "vpc-endpoint-state" => one(self.1),
            "vpc-endpoint-type" => one(&e.endpoint_type),
            "ip-address-type" => one(&e.ip_address_type),
            _ => None,
        }
    }
    fn tags(&self) -> &[Tag] {
        &self.0.tags
    }
}

impl VpcEndpoint {
    fn dns_entries(&self, zones: &[(String, String)]) -> Vec<DnsEntry> {
        if self.endpoint_type != "Interface" {
            return Vec::new();
        }
        let zone = vpce_hosted_zone(&self.region);
        let mut out = Vec::with_capacity(2 + self.subnet_ids.len());
        out.push(DnsEntry {
            dns_name: self.regional_dns_name(),
            hosted_zone_id: zone.clone(),
        });
        for s in &self.subnet_ids {
            if let Some((_, az)) = zones.iter().find(|(id, _)| id == s) {
                out.push(DnsEntry {
                    dns_name: self.zonal_dns_name(az),
                    hosted_zone_id: zone.clone(),
                });
            }
        }
        if let (true, Some(name)) = (self.private_dns_enabled, &self.private_dns_name) {
            let private_zone = format!(
                "Z{}",
                crate::ids::hex_of(&format!("{}/{}", self.vpc_id, name), 20).to_uppercase()
            );
            out.push(DnsEntry {
                dns_name: name.clone(),
                hosted_zone_id: private_zone.into(),
            });
        }
        out
    }

    /// The endpoint as the API shows it (`VpcEndpoint`), in `state`.
    fn out<'a>(&'a self, state: &'static str, view: &'a JsonView) -> EndpointOut<'a> {
        let interface = self.endpoint_type == "Interface";
        EndpointOut {
            vpc_endpoint_id: &self.id,
            vpc_endpoint_type: &self.endpoint_type,
            vpc_id: &self.vpc_id,
            service_name: &self.service_name,
            state,
            policy_document: &self.policy,
            route_table_ids: &self.route_table_ids,
            subnet_ids: &self.subnet_ids,
            groups: sg::identifiers_of(&view.groups, &self.groups),
            private_dns_enabled: self.private_dns_enabled,
            requester_managed: self.requester_managed,
            network_interface_ids: &self.eni_ids,
            dns_entries: self.dns_entries(&view.subnet_zones),
            creation_timestamp: crate::iso(self.created),
            tags: common::tags_out(&self.tags),
            owner_id: &self.owner,
            service_region: &self.region,
            ip_address_type: interface.then_some(self.ip_address_type.as_str()),
            dns_options: interface.then_some(DnsOptions {
                dns_record_ip_type: &self.ip_address_type,
            }),
        }
    }

    pub(super) fn json(&self, state: &'static str, view: &JsonView) -> Value {
        serde_json::to_value(self.out(state, view)).unwrap_or(Value::Null)
    }
}
