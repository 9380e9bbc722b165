//! DHCP option sets: the region's default set (`domain-name` and `AmazonProvidedDNS`), sets
//! customers create, and which set each VPC uses (CreateDhcpOptions, DescribeDhcpOptions,
//! AssociateDhcpOptions, DeleteDhcpOptions).
//!
//! The region's default set is named by `RegionState::dhcp_options_id` from the region's first
//! request and stored only once it is tagged; until then it is derived, so regions made before
//! option sets existed have one too. Airlock's DNS answers as AmazonProvidedDNS whatever set a
//! VPC uses.

use super::common::{self, one, Field, Filterable, Tag};
use super::vpc::{self, RegionState, Vpc, REGION_STATE};
use crate::input::{self, typed};
use crate::{ids, Ctx};
use airlock_dto::ec2 as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::{Read, Scope, Tx};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DhcpOptions {
    pub id: String,
    pub owner: String,
    /// `(key, values)` in the order given.
    pub configurations: Vec<(String, Vec<String>)>,
    pub tags: Vec<Tag>,
}

airlock_store::record!(DhcpOptions, "ec2.dhcp_options", id);

/// The keys a set may hold, and how many values each takes at most.
const KEYS: &[(&str, usize)] = &[
    ("domain-name-servers", 4),
    ("domain-name", 1),
    ("ntp-servers", 4),
    ("netbios-name-servers", 4),
    ("netbios-node-type", 1),
    ("ipv6-address-preferred-lease-time", 1),
];

/// The domain name AWS's default set gives instances of `region`.
pub fn default_domain(region: &str) -> String {
    if region == "us-east-1" {
        "ec2.internal".into()
    } else {
        format!("{region}.compute.internal")
    }
}

fn region_default<R: Read>(r: &R, scope: &Scope) -> Option<DhcpOptions> {
    let state = r.get::<RegionState>(scope, REGION_STATE)?;
    (!state.dhcp_options_id.is_empty()).then(|| DhcpOptions {
        id: state.dhcp_options_id.clone(),
        owner: scope.account.clone(),
        configurations: vec![
            ("domain-name".into(), vec![default_domain(&scope.region)]),
            (
                "domain-name-servers".into(),
                vec!["AmazonProvidedDNS".into()],
            ),
        ],
        tags: Vec::new(),
    })
}

/// Every set of the scope: the stored ones and the region's default if it is not stored.
fn all<R: Read>(r: &R, scope: &Scope) -> Vec<Arc<DhcpOptions>> {
    let mut out = r.list::<DhcpOptions>(scope);
    if let Some(d) = region_default(r, scope) {
        if !out.iter().any(|o| o.id == d.id) {
            out.push(Arc::new(d));
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

fn find<R: Read>(r: &R, scope: &Scope, id: &str) -> Option<Arc<DhcpOptions>> {
    r.get::<DhcpOptions>(scope, id).or_else(|| {
        region_default(r, scope)
            .filter(|d| d.id == id)
            .map(Arc::new)
    })
}

/// The error code and noun of an unknown DHCP options set.
const NOT_FOUND: (&str, &str) = ("InvalidDhcpOptionID.NotFound", "dhcpOption");

fn not_found(id: &str) -> ApiError {
    common::not_found(NOT_FOUND.0, NOT_FOUND.1, id)
}

/// Stores the derived default set so that it can be changed (CreateTags names it).
pub fn materialize(tx: &mut Tx<'_>, scope: &Scope, id: &str) -> ApiResult<()> {
    if tx.get::<DhcpOptions>(scope, id).is_none() {
        if let Some(d) = find(tx, scope, id) {
            tx.put(scope, (*d).clone())?;
        }
    }
    Ok(())
}

fn out(d: &DhcpOptions) -> dto::DhcpOptions {
    dto::DhcpOptions {
        dhcp_configurations: Some(
            d.configurations
                .iter()
                .map(|(key, values)| dto::DhcpConfiguration {
                    key: Some(key.clone()),
                    values: Some(
                        values
                            .iter()
                            .map(|v| dto::AttributeValue {
                                value: Some(v.clone()),
                            })
                            .collect(),
                    ),
                })
                .collect(),
        ),
        dhcp_options_id: Some(d.id.clone()),
        owner_id: Some(d.owner.clone()),
        tags: Some(common::tags_dto(&d.tags)),
    }
}

impl Filterable for DhcpOptions {
    fn field(&self, name: &str) -> Field {
        match name {
            "dhcp-options-id" => one(&self.id),
            "owner-id" => one(&self.owner),
            "key" => Some(self.configurations.iter().map(|(k, _)| k.clone()).collect()),
            "value" => Some(
                self.configurations
                    .iter()
                    .flat_map(|(_, v)| v.iter().cloned())
                    .collect(),
            ),
            _ => None,
        }
    }
    fn tags(&self) -> &[Tag] {
        &self.tags
    }
}

/// The configurations of a CreateDhcpOptions request, checked as AWS checks them.
fn configurations(req: &[dto::NewDhcpConfiguration]) -> ApiResult<Vec<(String, Vec<String>)>> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for c in req {
        let key = c.key.clone().unwrap_or_default();
        let values = c.values.clone().unwrap_or_default();
        let Some((_, max)) = KEYS.iter().find(|(k, _)| *k == key) else {
            return Err(ApiError::invalid_parameter_value(format!(
                "Value ({key}) for parameter name is invalid. Unrecognized DHCP option name"
            )));
        };
        if values.is_empty() {
            return Err(ApiError::invalid_parameter_value(format!(
                "Value for parameter {key} is invalid. The option requires a value."
            )));
        }
        if values.len() > *max {
            return Err(ApiError::invalid_parameter_value(format!(
                "Value for parameter {key} is invalid. At most {max} value(s) may be given."
            )));
        }
        if out.iter().any(|(k, _)| *k == key) {
            return Err(ApiError::invalid_parameter_value(format!(
                "Value ({key}) for parameter name is invalid. The option is given more than once."
            )));
        }
        if key == "netbios-node-type" && !["1", "2", "4", "8"].contains(&values[0].as_str()) {
            return Err(ApiError::invalid_parameter_value(format!(
                "Value ({}) for parameter netbios-node-type is invalid. Valid values are 1, 2, 4 and 8.",
                values[0]
            )));
        }
        if matches!(key.as_str(), "ntp-servers" | "netbios-name-servers")
            || key == "domain-name-servers" && values.iter().any(|v| v != "AmazonProvidedDNS")
        {
            for v in &values {
                if v != "AmazonProvidedDNS" && v.parse::<std::net::IpAddr>().is_err() {
                    return Err(ApiError::invalid_parameter_value(format!(
                        "Value ({v}) for parameter {key} is invalid. The value must be an IP address."
                    )));
                }
            }
        }
        out.push((key, values));
    }
    if out.is_empty() {
        return Err(ApiError::missing_parameter(
            "The request must contain the parameter dhcpConfiguration",
        ));
    }
    Ok(out)
}

pub fn create_dhcp_options(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::CreateDhcpOptionsRequest = typed(input)?;
    let configurations = configurations(&req.dhcp_configurations)?;
    let tags = common::tags_from_specs(input, "dhcp-options")?;
    let set = DhcpOptions {
        id: ids::resource_id("dopt"),
        owner: ctx.account().to_owned(),
        configurations,
        tags,
    };
    ctx.store.write(|tx| tx.put(&ctx.scope(), set.clone()))?;
    Ok(Output::new(dto::CreateDhcpOptionsResult {
        dhcp_options: Some(out(&set)),
    }))
}

pub fn describe_dhcp_options(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DescribeDhcpOptionsRequest = typed(input)?;
    let ids = req.dhcp_options_ids.unwrap_or_default();
    let scope = ctx.scope();
    let all = ctx.store.read(|v| all(v, &scope));
    let (page, next) = common::select(all, input, &ids, NOT_FOUND, (5, 1000))?;
    Ok(Output::new(dto::DescribeDhcpOptionsResult {
        dhcp_options: Some(page.iter().map(|d| out(d)).collect()),
        next_token: next,
    }))
}

pub fn associate_dhcp_options(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::AssociateDhcpOptionsRequest = typed(input)?;
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let vpc = vpc::get_vpc(tx, &scope, &req.vpc_id)?;
        // `default`: no options at all.
        if req.dhcp_options_id != "default" && find(tx, &scope, &req.dhcp_options_id).is_none() {
            return Err(not_found(&req.dhcp_options_id));
        }
        let mut vpc = (*vpc).clone();
        vpc.dhcp_options_id = req.dhcp_options_id.clone();
        tx.put(&scope, vpc)?;
        Ok::<_, ApiError>(())
    })?;
    Ok(Output::new(serde_json::json!({})))
}

pub fn delete_dhcp_options(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DeleteDhcpOptionsRequest = typed(input)?;
    let id = req.dhcp_options_id;
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        find(tx, &scope, &id).ok_or_else(|| not_found(&id))?;
        if tx
            .list::<Vpc>(&scope)
            .iter()
            .any(|v| v.dhcp_options_id == id)
        {
            return Err(common::dependency("dhcpOptions", &id));
        }
        tx.delete::<DhcpOptions>(&scope, &id);
        // The region's default set is gone for good: new VPCs get none (`default`).
        if let Some(state) = tx.get::<RegionState>(&scope, REGION_STATE) {
            if state.dhcp_options_id == id {
                let mut state = (*state).clone();
                state.dhcp_options_id = String::new();
                tx.put(&scope, state)?;
            }
        }
        Ok(())
    })?;
    Ok(Output::new(serde_json::json!({})))
}

#[cfg(test)]
mod tests {
    use crate::auth::test_support::{ctx_as, ec2 as call, root_principal, store};
    use crate::Config;
    use serde_json::json;

    /// The region's default set is what VPCs start with; a new set can be associated, is then in
    /// use, and can be deleted once the VPC goes back to the default.
    #[test]
    fn option_sets_are_created_associated_and_deleted() {
        let store = store();
        let config = Config::default();
        let ctx = ctx_as(&store, &config, root_principal("123456789012"));
        let vpc = call(&ctx, "CreateVpc", json!({"CidrBlock": "10.0.0.0/16"})).unwrap();
        let vpc_id = vpc["Vpc"]["VpcId"].as_str().unwrap().to_owned();
        let default_id = vpc["Vpc"]["DhcpOptionsId"].as_str().unwrap().to_owned();
        let d = call(
            &ctx,
            "DescribeDhcpOptions",
            json!({"DhcpOptionsIds": [default_id]}),
        )
        .unwrap();
        let conf = &d["DhcpOptions"][0]["DhcpConfigurations"];
        assert_eq!(conf[0]["Key"], "domain-name");
        assert_eq!(conf[0]["Values"][0]["Value"], "us-west-2.compute.internal");
        assert_eq!(conf[1]["Values"][0]["Value"], "AmazonProvidedDNS");

        let made = call(
            &ctx,
            "CreateDhcpOptions",
            json!({"DhcpConfigurations": [
                {"Key": "domain-name", "Values": ["corp.example"]},
                {"Key": "domain-name-servers", "Values": ["10.0.0.2", "AmazonProvidedDNS"]}]}),
        )
        .unwrap();
        let id = made["DhcpOptions"]["DhcpOptionsId"]
            .as_str()
            .unwrap()
            .to_owned();
        call(
            &ctx,
            "AssociateDhcpOptions",
            json!({"DhcpOptionsId": id, "VpcId": vpc_id}),
        )
        .unwrap();
        let vpcs = call(&ctx, "DescribeVpcs", json!({"VpcIds": [vpc_id]})).unwrap();
        assert_eq!(vpcs["Vpcs"][0]["DhcpOptionsId"], id.as_str());
        let busy = call(&ctx, "DeleteDhcpOptions", json!({"DhcpOptionsId": id})).unwrap_err();
        assert_eq!(busy.code, "DependencyViolation");
        let by_key = call(
            &ctx,
            "DescribeDhcpOptions",
            json!({"Filters": [{"Name": "value", "Values": ["corp.example"]}]}),
        )
        .unwrap();
        assert_eq!(by_key["DhcpOptions"].as_array().unwrap().len(), 1);
        call(
            &ctx,
            "AssociateDhcpOptions",
            json!({"DhcpOptionsId": default_id, "VpcId": vpc_id}),
        )
        .unwrap();
        call(&ctx, "DeleteDhcpOptions", json!({"DhcpOptionsId": id})).unwrap();
        let gone = call(&ctx, "DescribeDhcpOptions", json!({"DhcpOptionsIds": [id]})).unwrap_err();
        assert_eq!(gone.code, "InvalidDhcpOptionID.NotFound");
        let unknown = call(
            &ctx,
            "AssociateDhcpOptions",
            json!({"DhcpOptionsId": "dopt-0123456789abcdef0", "VpcId": vpc_id}),
        )
        .unwrap_err();
        assert_eq!(unknown.code, "InvalidDhcpOptionID.NotFound");
        let bad = call(
            &ctx,
            "CreateDhcpOptions",
            json!({"DhcpConfigurations": [{"Key": "color", "Values": ["blue"]}]}),
        )
        .unwrap_err();
        assert_eq!(bad.code, "InvalidParameterValue");
    }
}
