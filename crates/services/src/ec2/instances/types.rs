//! DescribeInstanceTypes over the types RunInstances accepts ([`super::TYPES`]): vCPUs, memory,
//! hypervisor and the limits of each as AWS publishes them, with the filters tools use
//! (Terraform's `data "aws_ec2_instance_type"`, the console's launch wizard).

use super::TYPES;
use crate::ec2::common::{self, flag, one, Field, Filterable};
use crate::input::{self, typed};
use crate::Ctx;
use airlock_dto::ec2 as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use serde_json::Value;

/// One instance type as Airlock knows it.
struct Kind {
    name: &'static str,
    cores: i64,
    threads: i64,
    nitro: bool,
}

impl Kind {
    fn family(&self) -> &str {
        self.name.split('.').next().unwrap_or("")
    }

    fn size(&self) -> &str {
        self.name.split('.').nth(1).unwrap_or("")
    }

    fn vcpus(&self) -> i64 {
        self.cores * self.threads
    }

    /// Memory in MiB: burstable types by size, the others by GiB per vCPU of their family
    /// (general purpose 4, compute 2, memory 8), as AWS sizes them.
    fn memory_mib(&self) -> i64 {
        let family = self.family();
        if family.starts_with('t') {
            return match self.size() {
                "nano" => 512,
                "micro" => 1024,
                "small" => 2048,
                "medium" => 4096,
                "large" => 8192,
                "xlarge" => 16384,
                _ => 32768,
            };
        }
        if family == "m1" {
            return match self.size() {
                "small" => 1740,
                "medium" => 3840,
                "large" => 7680,
                _ => 15360,
            };
        }
        let per_vcpu = match family.chars().next() {
            Some('c') => 2,
            Some('r') => 8,
            _ => 4,
        };
        self.vcpus() * per_vcpu * 1024
    }

    fn burstable(&self) -> bool {
        super::options::burstable(self.name)
    }

    fn current(&self) -> bool {
        !matches!(self.family(), "m1" | "m4" | "t2")
    }

    fn free_tier(&self) -> bool {
        matches!(self.name, "t2.micro" | "t3.micro")
    }

    fn network_performance(&self) -> &'static str {
        if self.burstable() {
            if self.nitro {
                "Up to 5 Gigabit"
            } else {
                "Low to Moderate"
            }
        } else if self.nitro {
            "Up to 12.5 Gigabit"
        } else {
            "Moderate"
        }
    }

    /// (interfaces, IPv4 addresses per interface), AWS's per-size limits.
    fn interfaces(&self) -> (i64, i64) {
        match self.size() {
            "nano" | "micro" => (2, 2),
            "small" => (3, 4),
            "medium" => (3, 6),
            "large" => (3, if self.burstable() { 12 } else { 10 }),
            "xlarge" => (4, 15),
            _ => (4, 15),
        }
    }

    fn out(&self) -> dto::InstanceTypeInfo {
        let (interfaces, per_interface) = self.interfaces();
        let valid_cores: Vec<i64> = (1..=self.cores).collect();
        let valid_threads: Vec<i64> = (1..=self.threads).collect();
        dto::InstanceTypeInfo {
            auto_recovery_supported: Some(true),
            bare_metal: Some(false),
            burstable_performance_supported: Some(self.burstable()),
            current_generation: Some(self.current()),
            dedicated_hosts_supported: Some(!self.burstable()),
            ebs_info: Some(dto::EbsInfo {
                ebs_optimized_support: Some(
                    if self.nitro { "default" } else { "supported" }.into(),
                ),
                encryption_support: Some("supported".into()),
                nvme_support: Some(
                    if self.nitro {
                        "required"
                    } else {
                        "unsupported"
                    }
                    .into(),
                ),
                ..Default::default()
            }),
            free_tier_eligible: Some(self.free_tier()),
            hibernation_supported: Some(true),
            hypervisor: Some(if self.nitro { "nitro" } else { "xen" }.into()),
            instance_storage_supported: Some(false),
            instance_type: Some(self.name.into()),
            memory_info: Some(dto::MemoryInfo {
                size_in_mi_b: Some(self.memory_mib()),
            }),
            network_info: Some(dto::NetworkInfo {
                default_network_card_index: Some(0),
                efa_supported: Some(false),
                ena_support: Some(
                    if self.nitro {
                        "required"
                    } else {
                        "unsupported"
                    }
                    .into(),
                ),
                encryption_in_transit_supported: Some(false),
                ipv4_addresses_per_interface: Some(per_interface),
                ipv6_addresses_per_interface: Some(per_interface),
                ipv6_supported: Some(true),
                maximum_network_cards: Some(1),
                maximum_network_interfaces: Some(interfaces),
                network_performance: Some(self.network_performance().into()),
                ..Default::default()
            }),
            placement_group_info: Some(dto::PlacementGroupInfo {
                supported_strategies: Some(vec!["partition".into(), "spread".into()]),
            }),
            processor_info: Some(dto::ProcessorInfo {
                manufacturer: Some("Intel".into()),
                supported_architectures: Some(vec!["x86_64".into()]),
                sustained_clock_speed_in_ghz: Some(if self.nitro { 3.1 } else { 2.4 }),
                ..Default::default()
            }),
            supported_boot_modes: Some(if self.nitro {
                vec!["legacy-bios".into(), "uefi".into()]
            } else {
                vec!["legacy-bios".into()]
            }),
            supported_root_device_types: Some(vec!["ebs".into()]),
            supported_usage_classes: Some(vec!["on-demand".into(), "spot".into()]),
            supported_virtualization_types: Some(vec!["hvm".into()]),
            v_cpu_info: Some(dto::VCpuInfo {
                default_cores: Some(self.cores),
                default_threads_per_core: Some(self.threads),
                default_v_cpus: Some(self.vcpus()),
                valid_cores: Some(valid_cores),
                valid_threads_per_core: Some(valid_threads),
            }),
            ..Default::default()
        }
    }
}

impl Filterable for Kind {
    fn field(&self, name: &str) -> Field {
        match name {
            "instance-type" => one(self.name),
            "current-generation" => flag(self.current()),
            "free-tier-eligible" => flag(self.free_tier()),
            "burstable-performance-supported" => flag(self.burstable()),
            "bare-metal" => flag(false),
            "hypervisor" => one(if self.nitro { "nitro" } else { "xen" }),
            "processor-info.supported-architecture" => one("x86_64"),
            "vcpu-info.default-vcpus" => one(self.vcpus().to_string()),
            "vcpu-info.default-cores" => one(self.cores.to_string()),
            "vcpu-info.default-threads-per-core" => one(self.threads.to_string()),
            "memory-info.size-in-mib" => one(self.memory_mib().to_string()),
            "supported-usage-class" => Some(vec!["on-demand".into(), "spot".into()]),
            "supported-root-device-type" => one("ebs"),
            "supported-virtualization-type" => one("hvm"),
            "network-info.ipv6-supported" => flag(true),
            _ => None,
        }
    }
}

fn kinds() -> Vec<Kind> {
    TYPES
        .iter()
        .map(|(name, cores, threads, nitro)| Kind {
            name,
            cores: *cores,
            threads: *threads,
            nitro: *nitro,
        })
        .collect()
}

pub fn describe_instance_types(_ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DescribeInstanceTypesRequest = typed(input)?;
    let wanted = req.instance_types.unwrap_or_default();
    let mut all = kinds();
    all.sort_by(|a, b| a.name.cmp(b.name));
    let unknown: Vec<&String> = wanted
        .iter()
        .filter(|w| !all.iter().any(|k| k.name == w.as_str()))
        .collect();
    if !unknown.is_empty() {
        let list: Vec<&str> = unknown.iter().map(|s| s.as_str()).collect();
        return Err(ApiError::invalid_parameter_value(format!(
            "The following supplied instance types do not exist: [{}]",
            list.join(", ")
        )));
    }
    let filters = common::filters(input);
    let mut kept = Vec::new();
    for k in all {
        if (wanted.is_empty() || wanted.iter().any(|w| w == k.name))
            && common::matches(&k, &filters)?
        {
            kept.push(k);
        }
    }
    let (page, next) = common::paginate(kept, input, (5, 100), false, |k| k.name.to_owned())?;
    Ok(Output::new(dto::DescribeInstanceTypesResult {
        instance_types: Some(page.iter().map(Kind::out).collect()),
        next_token: next,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_aws() {
        let find = |n: &str| kinds().into_iter().find(|k| k.name == n).unwrap();
        assert_eq!(find("t3.micro").memory_mib(), 1024);
        assert_eq!(find("t3.micro").vcpus(), 2);
        assert_eq!(find("m5.large").memory_mib(), 8192);
        assert_eq!(find("c5.xlarge").memory_mib(), 8192);
        assert_eq!(find("r6i.large").memory_mib(), 16384);
        assert!(find("t2.micro").free_tier());
        assert!(!find("t2.micro").current());
    }
}
