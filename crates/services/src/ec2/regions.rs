//! Regions and Availability Zones as a new AWS account sees them.

use super::common::{self, one, Field, Filterable};
use crate::{input, Ctx};
use airlock_dto::ec2 as dto;
use airlock_protocol::{cache::Fixed, ApiError, ApiResult, Output};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Az {
    pub name: String,
    pub id: String,
    pub region: String,
}

impl Az {
    /// `GroupLongName`: `us-west-2 (Zone A)`.
    fn long_name(&self) -> String {
        let letter = self.name.chars().last().unwrap_or('a').to_ascii_uppercase();
        format!("{} (Zone {letter})", self.region)
    }
}

/// (zone letter, zone-ID number)
type Zones = &'static [(char, u8)];

/// Three zones `a`–`c` numbered 1–3: the newer regions' layout.
const ABC: Zones = &[('a', 1), ('b', 2), ('c', 3)];

/// A region Airlock knows by name: its zone-ID prefix (AWS's: `usw2`, `apse5`, `cnnw1`), its
/// zones (zone IDs are mapped per account on AWS; these are the mappings commonly seen), and
/// whether an account must opt in to it (regions launched since March 2019).
struct Region {
    name: &'static str,
    prefix: &'static str,
    zones: Zones,
    opt_in: bool,
}

const fn region(name: &'static str, prefix: &'static str, zones: Zones, opt_in: bool) -> Region {
    Region {
        name,
        prefix,
        zones,
        opt_in,
    }
}

const REGIONS: &[Region] = &[
    region(
        "us-east-1",
        "use1",
        &[('a', 1), ('b', 2), ('c', 4), ('d', 6), ('e', 3), ('f', 5)],
        false,
    ),
    region("us-east-2", "use2", ABC, false),
    region("us-west-1", "usw1", &[('a', 1), ('c', 3)], false),
    region(
        "us-west-2",
        "usw2",
        &[('a', 1), ('b', 2), ('c', 3), ('d', 4)],
        false,
    ),
    region("af-south-1", "afs1", ABC, true),
    region("ap-east-1", "ape1", ABC, true),
    region("ap-east-2", "ape2", ABC, true),
    region("ap-south-1", "aps1", &[('a', 1), ('b', 3), ('c', 2)], false),
    region("ap-south-2", "aps2", ABC, true),
    region(
        "ap-northeast-1",
        "apne1",
        &[('a', 4), ('c', 1), ('d', 2)],
        false,
    ),
    region(
        "ap-northeast-2",
        "apne2",
        &[('a', 1), ('b', 2), ('c', 3), ('d', 4)],
        false,
    ),
    region(
        "ap-northeast-3",
        "apne3",
        &[('a', 3), ('b', 1), ('c', 2)],
        false,
    ),
    region("ap-southeast-1", "apse1", ABC, false),
    region(
        "ap-southeast-2",
        "apse2",
        &[('a', 1), ('b', 3), ('c', 2)],
        false,
    ),
    region("ap-southeast-3", "apse3", ABC, true),
    region("ap-southeast-4", "apse4", ABC, true),
    region("ap-southeast-5", "apse5", ABC, true),
    region("ap-southeast-7", "apse7", ABC, true),
    region(
        "ca-central-1",
        "cac1",
        &[('a', 1), ('b', 2), ('d', 4)],
        false,
    ),
    region("ca-west-1", "caw1", ABC, true),
    region(
        "eu-central-1",
        "euc1",
        &[('a', 2), ('b', 3), ('c', 1)],
        false,
    ),
    region("eu-central-2", "euc2", ABC, true),
    region("eu-west-1", "euw1", ABC, false),
    region("eu-west-2", "euw2", &[('a', 2), ('b', 3), ('c', 1)], false),
    region("eu-west-3", "euw3", ABC, false),
    region("eu-south-1", "eus1", ABC, true),
    region("eu-south-2", "eus2", ABC, true),
    region("eu-north-1", "eun1", ABC, false),
    region("il-central-1", "ilc1", ABC, true),
    region("me-south-1", "mes1", ABC, true),
    region("me-central-1", "mec1", ABC, true),
    region("mx-central-1", "mxc1", ABC, true),
    region("sa-east-1", "sae1", ABC, false),
    region("cn-north-1", "cnn1", &[('a', 1), ('b', 2), ('d', 4)], false),
    region("cn-northwest-1", "cnnw1", ABC, false),
    region("us-gov-west-1", "usgw1", ABC, false),
    region("us-gov-east-1", "usge1", ABC, false),
];

/// The regions Airlock knows, in AWS's order (the console's region selector).
pub fn names() -> impl Iterator<Item = &'static str> {
    REGIONS.iter().map(|r| r.name)
}

/// The Availability Zones of `region`. Regions Airlock does not list get three zones `a`–`c`.
pub fn zones(region: &str) -> Vec<Az> {
    zones_of(region).iter().map(|(z, _)| z.clone()).collect()
}

/// A region Airlock knows: its zones with their long names, built once and never changed, so
/// that the cache keeps DescribeAvailabilityZones' answer for it, by the zones it shows.
struct Known {
    zones: Vec<(Az, String)>,
}

fn with_names(zs: Vec<Az>) -> Vec<(Az, String)> {
    zs.into_iter()
        .map(|z| {
            let long = z.long_name();
            (z, long)
        })
        .collect()
}

fn known(region: &str) -> Option<&'static Known> {
    static KNOWN: std::sync::OnceLock<Vec<Known>> = std::sync::OnceLock::new();
    let known = KNOWN.get_or_init(|| {
        REGIONS
            .iter()
            .map(|r| Known {
                zones: with_names(make_zones(r.name)),
            })
            .collect()
    });
    let i = REGIONS.iter().position(|r| r.name == region)?;
    Some(&known[i])
}

/// The zones of `region`, with their long names.
fn zones_of(region: &str) -> std::borrow::Cow<'static, [(Az, String)]> {
    match known(region) {
        Some(k) => std::borrow::Cow::Borrowed(&k.zones),
        None => std::borrow::Cow::Owned(with_names(make_zones(region))),
    }
}

fn make_zones(region: &str) -> Vec<Az> {
    match REGIONS.iter().find(|r| r.name == region) {
        Some(r) => r
            .zones
            .iter()
            .map(|(letter, n)| Az {
                name: format!("{}{letter}", r.name),
                id: format!("{}-az{n}", r.prefix),
                region: r.name.to_string(),
            })
            .collect(),
        None => {
            let prefix: String = region
                .split('-')
                .map(|p| p.chars().next().unwrap_or('x'))
                .collect();
            ['a', 'b', 'c']
                .iter()
                .enumerate()
                .map(|(i, l)| Az {
                    name: format!("{region}{l}"),
                    id: format!("{prefix}-az{}", i + 1),
                    region: region.into(),
                })
                .collect()
        }
    }
}

pub fn zone_by_name(region: &str, name: &str) -> Option<Az> {
    zones(region).into_iter().find(|z| z.name == name)
}

pub fn zone_by_id(region: &str, id: &str) -> Option<Az> {
    zones(region).into_iter().find(|z| z.id == id)
}

/// A region as DescribeRegions shows it. Airlock serves every region, so the account has opted
/// in to every opt-in region.
struct RegionRow(&'static Region);

impl RegionRow {
    fn endpoint(&self) -> String {
        format!(
            "ec2.{}.{}",
            self.0.name,
            crate::partition::dns_suffix(self.0.name)
        )
    }
    fn opt_in_status(&self) -> &'static str {
        if self.0.opt_in {
            "opted-in"
        } else {
            "opt-in-not-required"
        }
    }
}

impl Filterable for RegionRow {
    fn field(&self, name: &str) -> Field {
        match name {
            "region-name" => one(self.0.name),
            "endpoint" => one(self.endpoint()),
            "opt-in-status" => one(self.opt_in_status()),
            _ => None,
        }
    }
}

/// The regions of the caller's partition (AWS lists no other); `AllRegions` would add the
/// disabled ones, and there are none.
pub fn describe_regions(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DescribeRegionsRequest = input::typed(input)?;
    let names = req.region_names.unwrap_or_default();
    let filters = common::filters(input);
    let here = crate::partition::of(&ctx.region);
    let regions: Vec<&Region> = REGIONS
        .iter()
        .filter(|r| crate::partition::of(r.name) == here)
        .collect();
    for n in &names {
        if !regions.iter().any(|r| r.name == n) {
            return Err(ApiError::new(
                "InvalidParameterValue",
                format!("Invalid region: {n}"),
            ));
        }
    }
    let mut out = Vec::new();
    for r in regions {
        if !names.is_empty() && !names.iter().any(|n| n == r.name) {
            continue;
        }
        let row = RegionRow(r);
        if !common::matches(&row, &filters)? {
            continue;
        }
        out.push(dto::Region {
            region_name: Some(r.name.to_owned()),
            endpoint: Some(row.endpoint()),
            opt_in_status: Some(row.opt_in_status().to_owned()),
            geography: None,
        });
    }
    Ok(Output::new(dto::DescribeRegionsResult {
        regions: Some(out),
    }))
}

impl Filterable for Az {
    fn field(&self, name: &str) -> Field {
        match name {
            "zone-name" => one(&self.name),
            "zone-id" => one(&self.id),
            "region-name" => one(&self.region),
            "state" => one("available"),
            "zone-type" => one("availability-zone"),
            "group-name" | "network-border-group" => one(&self.region),
            "opt-in-status" => one("opt-in-not-required"),
            "message" => Some(vec![]),
            _ => None,
        }
    }
}

pub fn describe_availability_zones(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let names = input::strs(input, "ZoneNames");
    let ids = input::strs(input, "ZoneIds");
    let filters = common::filters(input);
    let zs = zones_of(&ctx.region);
    for n in &names {
        if !zs.iter().any(|(z, _)| &z.name == n) {
            return Err(ApiError::new(
                "InvalidParameterValue",
                format!("The zone '{n}' does not exist."),
            ));
        }
    }
    for n in &ids {
        if !zs.iter().any(|(z, _)| &z.id == n) {
            return Err(ApiError::new(
                "InvalidParameterValue",
                format!("The zone ID '{n}' does not exist."),
            ));
        }
    }
    let mut chosen = Vec::new();
    for (i, (z, _)) in zs.iter().enumerate() {
        let named =
            names.is_empty() && ids.is_empty() || names.contains(&z.name) || ids.contains(&z.id);
        if named && common::matches(z, &filters)? {
            chosen.push(i);
        }
    }
    Ok(match known(&ctx.region) {
        Some(k) => Output::cached(Fixed(k), chosen.clone(), ZonesOut { zones: zs, chosen }),
        None => Output::new(ZonesOut { zones: zs, chosen }),
    })
}

/// DescribeAvailabilityZones' answer, encoded straight from the region's zones.
struct ZonesOut {
    zones: std::borrow::Cow<'static, [(Az, String)]>,
    chosen: Vec<usize>,
}

/// `AvailabilityZone` as the API shows it (fields in the model's order, which the encoders
/// walk fastest).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ZoneOut<'a> {
    group_long_name: &'a str,
    group_name: &'a str,
    messages: [(); 0],
    network_border_group: &'a str,
    opt_in_status: &'static str,
    region_name: &'a str,
    state: &'static str,
    zone_id: &'a str,
    zone_name: &'a str,
    zone_type: &'static str,
}

impl Serialize for ZonesOut {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        struct Zones<'a>(&'a ZonesOut);
        impl Serialize for Zones<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(self.0.chosen.iter().map(|&i| {
                    let (z, long) = &self.0.zones[i];
                    ZoneOut {
                        zone_name: &z.name,
                        zone_id: &z.id,
                        region_name: &z.region,
                        state: "available",
                        opt_in_status: "opt-in-not-required",
                        messages: [],
                        group_name: &z.region,
                        group_long_name: long,
                        network_border_group: &z.region,
                        zone_type: "availability-zone",
                    }
                }))
            }
        }
        let mut out = s.serialize_struct("DescribeAvailabilityZonesResult", 1)?;
        out.serialize_field("AvailabilityZones", &Zones(self))?;
        out.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_regions() {
        let z = zones("us-west-2");
        assert_eq!(z[0].name, "us-west-2a");
        assert_eq!(z[0].id, "usw2-az1");
        assert_eq!(zones("eu-central-1")[0].id, "euc1-az2");
        assert_eq!(zones("ap-northeast-1").len(), 3);
        assert_eq!(zones("xx-test-9")[2].name, "xx-test-9c");
        // AWS's zone-ID prefixes, not the initials of the name.
        assert_eq!(zones("ap-southeast-5")[0].id, "apse5-az1");
        assert_eq!(zones("cn-northwest-1")[1].id, "cnnw1-az2");
        assert_eq!(zones("us-gov-west-1")[0].id, "usgw1-az1");
        assert_eq!(zones("me-central-1")[2].id, "mec1-az3");
    }
}
