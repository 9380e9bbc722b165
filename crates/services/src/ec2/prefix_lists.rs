//! Prefix lists: AWS's own (one per gateway endpoint service, `com.amazonaws.<region>.s3` and
//! `.dynamodb`, the destinations gateway endpoints route) and the account's managed prefix
//! lists (CreateManagedPrefixList & co., versioned, for routes and security group rules).
//!
//! An AWS-managed list holds the addresses its service's public names resolve to in Airlock
//! (AWS's public endpoints answer at one loopback address, `fabric::AWS_PUBLIC`), so a rule or
//! a route made from it covers what a client inside the VPC really reaches.

use super::common::{self, one, Field, Filterable, Tag};
use crate::input::{self, typed};
use crate::{ids, Ctx};
use airlock_dto::ec2 as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::{Scope, Tx};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

/// The gateway endpoint services, whose prefix lists AWS manages in every region.
const AWS_MANAGED: &[&str] = &["s3", "dynamodb"];

/// One version of a managed prefix list's entries: (CIDR, description).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entries {
    pub version: i64,
    pub entries: Vec<(String, Option<String>)>,
}

/// A customer-managed prefix list.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PrefixList {
    /// `pl-` and 17 hex digits.
    pub id: String,
    pub name: String,
    /// `IPv4` or `IPv6`.
    pub address_family: String,
    pub max_entries: i64,
    pub owner: String,
    /// Every version, oldest first; the last is current.
    pub versions: Vec<Entries>,
    pub tags: Vec<Tag>,
    pub client_token: Option<String>,
}

airlock_store::record!(PrefixList, "ec2.prefix_list", id);

impl common::Idempotent for PrefixList {
    fn client_token(&self) -> Option<&str> {
        self.client_token.as_deref()
    }
}

impl PrefixList {
    fn current(&self) -> &Entries {
        self.versions.last().expect("a prefix list has a version")
    }
}

/// A prefix list as the Describe calls see it: AWS's or the account's.
enum Listed {
    Aws {
        id: String,
        name: String,
        cidrs: Vec<String>,
    },
    Own(Arc<PrefixList>),
}

impl Listed {
    fn id(&self) -> &str {
        match self {
            Listed::Aws { id, .. } => id,
            Listed::Own(p) => &p.id,
        }
    }
    fn name(&self) -> &str {
        match self {
            Listed::Aws { name, .. } => name,
            Listed::Own(p) => &p.name,
        }
    }
    fn managed(&self, ctx: &Ctx<'_>) -> dto::ManagedPrefixList {
        let region = &ctx.region;
        match self {
            Listed::Aws { id, name, .. } => dto::ManagedPrefixList {
                address_family: Some("IPv4".into()),
                owner_id: Some("AWS".into()),
                prefix_list_arn: Some(crate::partition::arn(
                    region,
                    "ec2",
                    "aws",
                    &format!("prefix-list/{id}"),
                )),
                prefix_list_id: Some(id.clone()),
                prefix_list_name: Some(name.clone()),
                state: Some("create-complete".into()),
                tags: Some(Vec::new()),
                ..Default::default()
            },
            Listed::Own(p) => own_out(p, region, "create-complete"),
        }
    }
}

fn own_out(p: &PrefixList, region: &str, state: &str) -> dto::ManagedPrefixList {
    dto::ManagedPrefixList {
        address_family: Some(p.address_family.clone()),
        max_entries: Some(p.max_entries),
        owner_id: Some(p.owner.clone()),
        prefix_list_arn: Some(crate::partition::arn(
            region,
            "ec2",
            &p.owner,
            &format!("prefix-list/{}", p.id),
        )),
        prefix_list_id: Some(p.id.clone()),
        prefix_list_name: Some(p.name.clone()),
        state: Some(state.into()),
        tags: Some(common::tags_dto(&p.tags)),
        version: Some(p.current().version),
        ..Default::default()
    }
}

impl Filterable for Listed {
    fn field(&self, name: &str) -> Field {
        match name {
            "prefix-list-id" => one(self.id()),
            "prefix-list-name" => one(self.name()),
            "owner-id" => one(match self {
                Listed::Aws { .. } => "AWS".to_owned(),
                Listed::Own(p) => p.owner.clone(),
            }),
            _ => None,
        }
    }
    fn tags(&self) -> &[Tag] {
        match self {
            Listed::Aws { .. } => &[],
            Listed::Own(p) => &p.tags,
        }
    }
}

/// AWS's prefix lists of `region`.
fn aws_lists(region: &str) -> Vec<Listed> {
    AWS_MANAGED
        .iter()
        .map(|s| Listed::Aws {
            id: super::vpce::prefix_list(s, region),
            name: format!("com.amazonaws.{region}.{s}"),
            cidrs: vec![format!("{}/32", super::fabric::AWS_PUBLIC)],
        })
        .collect()
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(
        "InvalidPrefixListID.NotFound",
        format!("The prefix list ID '{id}' does not exist"),
    )
}

/// Every prefix list the caller sees, in id order; `ids` must all be among them.
fn listed(ctx: &Ctx<'_>, ids: &[String], own: bool) -> ApiResult<Vec<Listed>> {
    for id in ids {
        common::check_id(id, "pl", "InvalidPrefixListID.Malformed")?;
    }
    let scope = ctx.scope();
    let mut all = aws_lists(&ctx.region);
    if own {
        all.extend(
            ctx.store
                .read(|v| v.list::<PrefixList>(&scope))
                .into_iter()
                .map(Listed::Own),
        );
    }
    all.sort_by(|a, b| a.id().cmp(b.id()));
    if let Some(id) = ids
        .iter()
        .find(|id| !all.iter().any(|l| l.id() == id.as_str()))
    {
        return Err(not_found(id));
    }
    Ok(all
        .into_iter()
        .filter(|l| ids.is_empty() || ids.iter().any(|i| i == l.id()))
        .collect())
}

/// AWS's prefix lists (what gateway endpoints route to), with their addresses.
pub fn describe_prefix_lists(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DescribePrefixListsRequest = typed(input)?;
    let ids = req.prefix_list_ids.unwrap_or_default();
    let kept = common::kept(listed(ctx, &ids, false)?, input, &ids, Listed::id)?;
    let (page, next) =
        common::paginate(kept, input, (5, 1000), !ids.is_empty(), |l| l.id().into())?;
    Ok(Output::new(dto::DescribePrefixListsResult {
        next_token: next,
        prefix_lists: Some(
            page.iter()
                .map(|l| dto::PrefixList {
                    cidrs: match l {
                        Listed::Aws { cidrs, .. } => Some(cidrs.clone()),
                        Listed::Own(_) => None,
                    },
                    prefix_list_id: Some(l.id().to_owned()),
                    prefix_list_name: Some(l.name().to_owned()),
                })
                .collect(),
        ),
    }))
}

pub fn describe_managed_prefix_lists(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DescribeManagedPrefixListsRequest = typed(input)?;
    let ids = req.prefix_list_ids.unwrap_or_default();
    let kept = common::kept(listed(ctx, &ids, true)?, input, &ids, Listed::id)?;
    let (page, next) = common::paginate(kept, input, (1, 100), !ids.is_empty(), |l| l.id().into())?;
    Ok(Output::new(dto::DescribeManagedPrefixListsResult {
        next_token: next,
        prefix_lists: Some(page.iter().map(|l| l.managed(ctx)).collect()),
    }))
}

pub fn get_managed_prefix_list_entries(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::GetManagedPrefixListEntriesRequest = typed(input)?;
    let id = req.prefix_list_id.as_str();
    let found = listed(ctx, std::slice::from_ref(&req.prefix_list_id), true)?;
    let entries: Vec<(String, Option<String>)> = match &found[0] {
        Listed::Aws { cidrs, .. } => cidrs.iter().map(|c| (c.clone(), None)).collect(),
        Listed::Own(p) => {
            let version = match req.target_version {
                None => p.current(),
                Some(v) => p.versions.iter().find(|e| e.version == v).ok_or_else(|| {
                    ApiError::new(
                        "InvalidParameterValue",
                        format!("The prefix list {id} does not have version {v}."),
                    )
                })?,
            };
            version.entries.clone()
        }
    };
    let (page, next) = common::paginate(entries, input, (1, 100), false, |(c, _)| c.clone())?;
    Ok(Output::new(dto::GetManagedPrefixListEntriesResult {
        entries: Some(
            page.into_iter()
                .map(|(cidr, description)| dto::PrefixListEntry {
                    cidr: Some(cidr),
                    description,
                })
                .collect(),
        ),
        next_token: next,
    }))
}

/// A CIDR of the list's address family, in its canonical form.
fn entry_cidr(raw: &str, family: &str) -> ApiResult<String> {
    let bad = || ApiError::invalid_parameter_value(format!("The CIDR '{raw}' is invalid."));
    if family == "IPv4" {
        super::cidr::Cidr::parse_loose(raw)
            .map(|c| c.to_string())
            .ok_or_else(bad)
    } else {
        super::ipv6::Net::parse(raw)
            .map(|n| n.to_string())
            .ok_or_else(bad)
    }
}

fn entries_of(
    given: &[dto::AddPrefixListEntry],
    family: &str,
) -> ApiResult<Vec<(String, Option<String>)>> {
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    for e in given {
        let cidr = entry_cidr(&e.cidr, family)?;
        if out.iter().any(|(c, _)| *c == cidr) {
            return Err(ApiError::invalid_parameter_value(format!(
                "The CIDR '{cidr}' is specified more than once."
            )));
        }
        out.push((cidr, e.description.clone()));
    }
    Ok(out)
}

fn check_size(entries: usize, max: i64) -> ApiResult<()> {
    if entries as i64 > max {
        return Err(ApiError::new(
            "PrefixListMaxEntriesExceeded",
            format!("The prefix list cannot contain more than {max} entries."),
        ));
    }
    Ok(())
}

pub fn create_managed_prefix_list(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::CreateManagedPrefixListRequest = typed(input)?;
    let family = req.address_family.as_str();
    if family != "IPv4" && family != "IPv6" {
        return Err(ApiError::invalid_parameter_value(format!(
            "The address family '{family}' is invalid. Valid values are IPv4 and IPv6."
        )));
    }
    if !(1..=1000).contains(&req.max_entries) {
        return Err(ApiError::invalid_parameter_value(format!(
            "The maximum number of entries '{}' is invalid. It must be between 1 and 1000.",
            req.max_entries
        )));
    }
    if req
        .prefix_list_name
        .to_ascii_lowercase()
        .starts_with("com.amazonaws")
    {
        return Err(ApiError::invalid_parameter_value(
            "The prefix list name cannot start with com.amazonaws.",
        ));
    }
    let entries = entries_of(req.entries.as_deref().unwrap_or_default(), family)?;
    check_size(entries.len(), req.max_entries)?;
    let tags = common::tags_from_specs(input, "prefix-list")?;
    let scope = ctx.scope();
    let p = ctx.store.write(|tx| {
        if let Some(same) =
            common::made_with_token::<PrefixList>(tx, &scope, req.client_token.as_deref())
        {
            return Ok((*same).clone());
        }
        let p = PrefixList {
            id: ids::resource_id("pl"),
            name: req.prefix_list_name.clone(),
            address_family: family.to_owned(),
            max_entries: req.max_entries,
            owner: ctx.account().to_owned(),
            versions: vec![Entries {
                version: 1,
                entries,
            }],
            tags,
            client_token: req.client_token.clone(),
        };
        tx.put(&scope, p.clone())?;
        Ok::<_, ApiError>(p)
    })?;
    Ok(Output::new(dto::CreateManagedPrefixListResult {
        prefix_list: Some(own_out(&p, &ctx.region, "create-in-progress")),
    }))
}

fn own(tx: &Tx<'_>, scope: &Scope, id: &str) -> ApiResult<Arc<PrefixList>> {
    common::check_id(id, "pl", "InvalidPrefixListID.Malformed")?;
    tx.get::<PrefixList>(scope, id).ok_or_else(|| not_found(id))
}

/// Adds and removes entries (a new version, when `CurrentVersion` is the current one), renames,
/// or changes the size.
pub fn modify_managed_prefix_list(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::ModifyManagedPrefixListRequest = typed(input)?;
    let scope = ctx.scope();
    let p = ctx.store.write(|tx| {
        let mut p = (*own(tx, &scope, &req.prefix_list_id)?).clone();
        let current = p.current().version;
        let adds = req.add_entries.as_deref().unwrap_or_default();
        let removes = req.remove_entries.as_deref().unwrap_or_default();
        if (!adds.is_empty() || !removes.is_empty()) && req.current_version.is_none() {
            return Err(ApiError::missing_parameter(
                "The request must contain the parameter CurrentVersion",
            ));
        }
        if let Some(v) = req.current_version {
            if v != current {
                return Err(ApiError::new(
                    "PrefixListVersionMismatch",
                    format!("The prefix list has the incorrect version number. The current version is {current}."),
                ));
            }
        }
        if let Some(name) = &req.prefix_list_name {
            p.name = name.clone();
        }
        if let Some(max) = req.max_entries {
            check_size(p.current().entries.len(), max)?;
            p.max_entries = max;
        }
        if !adds.is_empty() || !removes.is_empty() {
            let mut entries = p.current().entries.clone();
            for r in removes {
                let cidr = entry_cidr(&r.cidr, &p.address_family)?;
                let before = entries.len();
                entries.retain(|(c, _)| *c != cidr);
                if entries.len() == before {
                    return Err(ApiError::invalid_parameter_value(format!(
                        "The CIDR '{cidr}' does not exist in the prefix list."
                    )));
                }
            }
            for (cidr, description) in entries_of(adds, &p.address_family)? {
                match entries.iter_mut().find(|(c, _)| *c == cidr) {
                    Some(e) => e.1 = description,
                    None => entries.push((cidr, description)),
                }
            }
            check_size(entries.len(), p.max_entries)?;
            p.versions.push(Entries {
                version: current + 1,
                entries,
            });
        }
        tx.put(&scope, p.clone())?;
        Ok::<_, ApiError>(p)
    })?;
    Ok(Output::new(dto::ModifyManagedPrefixListResult {
        prefix_list: Some(own_out(&p, &ctx.region, "modify-in-progress")),
    }))
}

pub fn delete_managed_prefix_list(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DeleteManagedPrefixListRequest = typed(input)?;
    let scope = ctx.scope();
    let p = ctx.store.write(|tx| {
        let p = own(tx, &scope, &req.prefix_list_id)?;
        let in_route = tx
            .list::<super::routes::RouteTable>(&scope)
            .iter()
            .any(|t| {
                t.routes
                    .iter()
                    .any(|r| r.destination_prefix_list.as_deref() == Some(p.id.as_str()))
            });
        let in_rule = tx.list::<super::sg::SecurityGroup>(&scope).iter().any(|g| {
            g.rules
                .iter()
                .any(|r| r.prefix_list_id.as_deref() == Some(p.id.as_str()))
        });
        if in_route || in_rule {
            return Err(ApiError::new(
                "PrefixListInUse",
                format!("The prefix list {} is in use and cannot be deleted.", p.id),
            ));
        }
        tx.delete::<PrefixList>(&scope, &p.id);
        Ok::<_, ApiError>(p)
    })?;
    Ok(Output::new(dto::DeleteManagedPrefixListResult {
        prefix_list: Some(own_out(&p, &ctx.region, "delete-in-progress")),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_canonical_and_unique() {
        assert_eq!(entry_cidr("10.1.2.3/16", "IPv4").unwrap(), "10.1.0.0/16");
        assert!(entry_cidr("10.1.2.3", "IPv6").is_err());
        assert_eq!(
            entry_cidr("2001:DB8::/32", "IPv6").unwrap(),
            "2001:db8::/32"
        );
        assert!(entry_cidr("2001:db8::/129", "IPv6").is_err());
        let twice = [
            dto::AddPrefixListEntry {
                cidr: "10.0.0.0/8".into(),
                description: None,
            },
            dto::AddPrefixListEntry {
                cidr: "10.1.0.0/8".into(),
                description: None,
            },
        ];
        assert!(entries_of(&twice, "IPv4").is_err());
        assert!(check_size(3, 2).is_err());
        let aws = aws_lists("us-west-2");
        assert_eq!(aws[0].id(), "pl-68a54001");
        assert_eq!(aws[0].name(), "com.amazonaws.us-west-2.s3");
    }
}
