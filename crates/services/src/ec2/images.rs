//! The public images a bastion is launched from: a small catalogue of real AMI families
//! (Amazon Linux 2023 and 2, Ubuntu 24.04 and 22.04; x86_64 and arm64) with the names, owners
//! and descriptions AWS publishes them under, in every region, and DescribeImages over it (what
//! Terraform's `data "aws_ami"` and the console's launch wizard call).
//!
//! An image's id is derived from its region and name, so it is the same in every run and
//! differs between regions, as AWS's do. The SSM public parameters that name the latest image
//! of a family (`/aws/service/ami-amazon-linux-latest/...`) are [`public_parameters`]. Airlock
//! has no CreateImage: an account owns no images, and RunInstances still accepts any
//! well-formed image id.

use super::common::{self, one, Field, Filterable};
use crate::input::{self, typed};
use crate::Ctx;
use airlock_dto::ec2 as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use serde_json::Value;

/// Amazon's account for Amazon Linux images (alias `amazon`).
const AMAZON: &str = "137112412989";
/// Canonical's account for Ubuntu images (no alias).
const CANONICAL: &str = "099720109477";

/// One family of the catalogue, as published in every region.
struct Family {
    name: &'static str,
    description: &'static str,
    architecture: &'static str,
    owner: &'static str,
    /// `amazon`, or none.
    alias: Option<&'static str>,
    root_device: &'static str,
    volume_type: &'static str,
    boot_mode: Option<&'static str>,
    imds_v2: bool,
    created: &'static str,
    /// The public SSM parameters whose value is this image's id.
    parameters: &'static [&'static str],
}

const FAMILIES: &[Family] = &[
    Family {
        name: "al2023-ami-2023.6.20241121.0-kernel-6.1-x86_64",
        description: "Amazon Linux 2023 AMI 2023.6.20241121.0 x86_64 HVM kernel-6.1",
        architecture: "x86_64",
        owner: AMAZON,
        alias: Some("amazon"),
        root_device: "/dev/xvda",
        volume_type: "gp3",
        boot_mode: Some("uefi-preferred"),
        imds_v2: true,
        created: "2024-11-21T20:12:37.000Z",
        parameters: &[
            "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
            "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64",
        ],
    },
    Family {
        name: "al2023-ami-2023.6.20241121.0-kernel-6.1-arm64",
        description: "Amazon Linux 2023 AMI 2023.6.20241121.0 arm64 HVM kernel-6.1",
        architecture: "arm64",
        owner: AMAZON,
        alias: Some("amazon"),
        root_device: "/dev/xvda",
        volume_type: "gp3",
        boot_mode: Some("uefi"),
        imds_v2: true,
        created: "2024-11-21T20:12:41.000Z",
        parameters: &[
            "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64",
            "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-arm64",
        ],
    },
    Family {
        name: "amzn2-ami-kernel-5.10-hvm-2.0.20241113.1-x86_64-gp2",
        description: "Amazon Linux 2 Kernel 5.10 AMI 2.0.20241113.1 x86_64 HVM gp2",
        architecture: "x86_64",
        owner: AMAZON,
        alias: Some("amazon"),
        root_device: "/dev/xvda",
        volume_type: "gp2",
        boot_mode: None,
        imds_v2: false,
        created: "2024-11-13T21:40:51.000Z",
        parameters: &["/aws/service/ami-amazon-linux-latest/amzn2-ami-kernel-5.10-hvm-x86_64-gp2"],
    },
    Family {
        name: "amzn2-ami-hvm-2.0.20241113.1-x86_64-gp2",
        description: "Amazon Linux 2 AMI 2.0.20241113.1 x86_64 HVM gp2",
        architecture: "x86_64",
        owner: AMAZON,
        alias: Some("amazon"),
        root_device: "/dev/xvda",
        volume_type: "gp2",
        boot_mode: None,
        imds_v2: false,
        created: "2024-11-13T21:40:12.000Z",
        parameters: &["/aws/service/ami-amazon-linux-latest/amzn2-ami-hvm-x86_64-gp2"],
    },
    Family {
        name: "amzn2-ami-kernel-5.10-hvm-2.0.20241113.1-arm64-gp2",
        description: "Amazon Linux 2 Kernel 5.10 AMI 2.0.20241113.1 arm64 HVM gp2",
        architecture: "arm64",
        owner: AMAZON,
        alias: Some("amazon"),
        root_device: "/dev/xvda",
        volume_type: "gp2",
        boot_mode: None,
        imds_v2: false,
        created: "2024-11-13T21:41:03.000Z",
        parameters: &["/aws/service/ami-amazon-linux-latest/amzn2-ami-kernel-5.10-hvm-arm64-gp2"],
    },
    Family {
        name: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20241119",
        description: "Canonical, Ubuntu, 24.04, amd64 noble image",
        architecture: "x86_64",
        owner: CANONICAL,
        alias: None,
        root_device: "/dev/sda1",
        volume_type: "gp3",
        boot_mode: Some("uefi-preferred"),
        imds_v2: false,
        created: "2024-11-19T23:56:37.000Z",
        parameters: &[
            "/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id",
        ],
    },
    Family {
        name: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-20241119",
        description: "Canonical, Ubuntu, 24.04, arm64 noble image",
        architecture: "arm64",
        owner: CANONICAL,
        alias: None,
        root_device: "/dev/sda1",
        volume_type: "gp3",
        boot_mode: Some("uefi"),
        imds_v2: false,
        created: "2024-11-19T23:57:02.000Z",
        parameters: &[
            "/aws/service/canonical/ubuntu/server/24.04/stable/current/arm64/hvm/ebs-gp3/ami-id",
        ],
    },
    Family {
        name: "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20241119",
        description: "Canonical, Ubuntu, 22.04 LTS, amd64 jammy image build on 2024-11-19",
        architecture: "x86_64",
        owner: CANONICAL,
        alias: None,
        root_device: "/dev/sda1",
        volume_type: "gp2",
        boot_mode: None,
        imds_v2: false,
        created: "2024-11-19T22:14:29.000Z",
        parameters: &[
            "/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id",
        ],
    },
];

/// An image of the catalogue in one region.
struct Image {
    family: &'static Family,
    id: String,
    snapshot: String,
}

impl Image {
    fn of(region: &str, family: &'static Family) -> Image {
        let seed = format!("{region}/{}", family.name);
        Image {
            family,
            id: format!("ami-{}", crate::ids::hex_of(&seed, 17)),
            snapshot: format!("snap-{}", crate::ids::hex_of(&format!("{seed}/root"), 17)),
        }
    }

    fn out(&self) -> dto::Image {
        let f = self.family;
        let location = match f.alias {
            Some(alias) => format!("{alias}/{}", f.name),
            None => format!("{}/{}", f.owner, f.name),
        };
        dto::Image {
            architecture: Some(f.architecture.into()),
            block_device_mappings: Some(vec![dto::BlockDeviceMapping {
                device_name: Some(f.root_device.into()),
                ebs: Some(dto::EbsBlockDevice {
                    delete_on_termination: Some(true),
                    encrypted: Some(false),
                    snapshot_id: Some(self.snapshot.clone()),
                    volume_size: Some(8),
                    volume_type: Some(f.volume_type.into()),
                    iops: (f.volume_type == "gp3").then_some(3000),
                    throughput: (f.volume_type == "gp3").then_some(125),
                    ..Default::default()
                }),
                ..Default::default()
            }]),
            boot_mode: f.boot_mode.map(str::to_owned),
            creation_date: Some(f.created.into()),
            description: Some(f.description.into()),
            ena_support: Some(true),
            hypervisor: Some("xen".into()),
            image_id: Some(self.id.clone()),
            image_location: Some(location),
            image_owner_alias: f.alias.map(str::to_owned),
            image_type: Some("machine".into()),
            imds_support: f.imds_v2.then(|| "v2.0".to_owned()),
            name: Some(f.name.into()),
            owner_id: Some(f.owner.into()),
            platform_details: Some("Linux/UNIX".into()),
            public: Some(true),
            root_device_name: Some(f.root_device.into()),
            root_device_type: Some("ebs".into()),
            sriov_net_support: Some("simple".into()),
            state: Some("available".into()),
            usage_operation: Some("RunInstances".into()),
            virtualization_type: Some("hvm".into()),
            ..Default::default()
        }
    }
}

impl Filterable for Image {
    fn field(&self, name: &str) -> Field {
        let f = self.family;
        match name {
            "image-id" => one(&self.id),
            "name" => one(f.name),
            "description" => one(f.description),
            "architecture" => one(f.architecture),
            "owner-id" => one(f.owner),
            "owner-alias" => Some(f.alias.map(str::to_owned).into_iter().collect()),
            "state" => one("available"),
            "image-type" => one("machine"),
            "is-public" => common::flag(true),
            "virtualization-type" => one("hvm"),
            "hypervisor" => one("xen"),
            "root-device-type" => one("ebs"),
            "root-device-name" => one(f.root_device),
            "platform-details" => one("Linux/UNIX"),
            "usage-operation" => one("RunInstances"),
            "ena-support" => common::flag(true),
            "sriov-net-support" => one("simple"),
            "manifest-location" => one(format!("{}/{}", f.alias.unwrap_or(f.owner), f.name)),
            "creation-date" => one(f.created),
            "block-device-mapping.device-name" => one(f.root_device),
            "block-device-mapping.snapshot-id" => one(&self.snapshot),
            "block-device-mapping.volume-size" => one("8"),
            "block-device-mapping.volume-type" => one(f.volume_type),
            "block-device-mapping.delete-on-termination" => common::flag(true),
            "block-device-mapping.encrypted" => common::flag(false),
            "imds-support" => Some(f.imds_v2.then(|| "v2.0".to_owned()).into_iter().collect()),
            _ => None,
        }
    }
}

fn catalogue(region: &str) -> Vec<Image> {
    FAMILIES.iter().map(|f| Image::of(region, f)).collect()
}

/// The public SSM parameters of `region` that name its latest images: (name, image id).
pub fn public_parameters(region: &str) -> Vec<(&'static str, String)> {
    catalogue(region)
        .into_iter()
        .flat_map(|i| i.family.parameters.iter().map(move |p| (*p, i.id.clone())))
        .collect()
}

/// Whether `owner` (an `Owners` entry) names the image: `amazon` and the other aliases, `self`
/// (Airlock accounts own no images) or an account id.
fn owned_by(image: &Image, owner: &str, account: &str) -> bool {
    match owner {
        "self" => image.family.owner == account,
        "amazon" | "aws-marketplace" | "aws-backup-vault" => image.family.alias == Some(owner),
        id => image.family.owner == id,
    }
}

pub fn describe_images(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DescribeImagesRequest = typed(input)?;
    let ids = req.image_ids.unwrap_or_default();
    for id in &ids {
        super::instances::check_image_id(id)?;
    }
    let owners = req.owners.unwrap_or_default();
    // The catalogue's images are public: any account may launch them.
    let users = req.executable_users.unwrap_or_default();
    let filters = common::filters(input);
    let mut all = catalogue(&ctx.region);
    all.sort_by(|a, b| a.id.cmp(&b.id));
    let missing: Vec<&String> = ids
        .iter()
        .filter(|id| !all.iter().any(|i| &&i.id == id))
        .collect();
    if !missing.is_empty() {
        let list: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
        return Err(ApiError::new(
            "InvalidAMIID.NotFound",
            format!("The image id '[{}]' does not exist", list.join(", ")),
        ));
    }
    let mut kept = Vec::new();
    for image in all {
        let named = ids.is_empty() || ids.contains(&image.id);
        let owned = owners.is_empty() || owners.iter().any(|o| owned_by(&image, o, ctx.account()));
        let usable = users.is_empty()
            || users
                .iter()
                .any(|u| u == "all" || u == "self" || u == ctx.account());
        if named && owned && usable && common::matches(&image, &filters)? {
            kept.push(image);
        }
    }
    let (page, next) = common::paginate(kept, input, (5, 1000), !ids.is_empty(), |i| i.id.clone())?;
    Ok(Output::new(dto::DescribeImagesResult {
        images: Some(page.iter().map(Image::out).collect()),
        next_token: next,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_differ_by_region_and_parameters_name_them() {
        let west = catalogue("us-west-2");
        let east = catalogue("us-east-1");
        assert_ne!(west[0].id, east[0].id);
        assert_eq!(
            west[0].id,
            catalogue("us-west-2")[0].id,
            "stable across runs"
        );
        assert!(west
            .iter()
            .all(|i| i.id.len() == 21 && i.id.starts_with("ami-")));
        let params = public_parameters("us-west-2");
        let al2023 = params
            .iter()
            .find(|(n, _)| {
                *n == "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
            })
            .unwrap();
        let image = west.iter().find(|i| i.id == al2023.1).unwrap();
        assert_eq!(image.family.architecture, "x86_64");
        assert!(image.family.name.starts_with("al2023-ami-"));
    }
}
