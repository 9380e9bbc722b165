//! EC2 instances: RunInstances, DescribeInstances, StopInstances, StartInstances and
//! TerminateInstances (what a bastion host needs).
//!
//! An instance is a record plus the network interface it was launched with (created with
//! [`eni::create_in`], `in-use`, attached at device index 0) and, when the subnet maps public
//! addresses on launch or the request asks for one, an address from the public pool
//! ([`nat::take_public_ip`]). No machine runs: the state is bookkeeping that the bastion's
//! network side will later act on.
//!
//! States follow AWS's lifecycle on the scaled clock, derived at read time from the last action
//! and when it was taken: `pending`(0) → `running`(16) about 30 s after RunInstances or
//! StartInstances, `stopping`(64) → `stopped`(80) after StopInstances, `shutting-down`(32) →
//! `terminated`(48) after TerminateInstances; terminated instances stay visible for an hour and
//! are then forgotten. As on AWS, an auto-assigned public address is released on stop (a new one
//! comes with the next start) and on termination; an Elastic IP stays with the interface.
//!
//! Known differences from AWS: any well-formed `ami-…` id is accepted (there is no image
//! catalogue; every image is a 64-bit HVM EBS-backed Linux image with root device `/dev/xvda`);
//! only the instance types of [`TYPES`] are known; one network interface per instance; the
//! interface (with `DeleteOnTermination`) is deleted when termination starts rather than when it
//! completes; no IAM instance profiles, placement groups, spot, or user-data retrieval.

use super::common::{self, flag, one, tags_json, Field, Filterable, Tag};
use super::{eni, keypair, nat, regions, sg, vpc};
use crate::{ids, input, Ctx};
use airlock_protocol::{ApiError, ApiResult};
use airlock_store::{Record, Scope, Tx, View};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use time::OffsetDateTime;

/// Seconds of AWS time each transition (`pending`, `stopping`, `shutting-down`) takes.
pub const TRANSITION_SECS: f64 = 30.0;
/// How long a terminated instance stays visible in DescribeInstances.
pub const TERMINATED_VISIBLE_SECS: f64 = 3600.0;
/// The On-Demand instance limit a new account has (`max-instances` of DescribeAccountAttributes).
pub const INSTANCE_LIMIT: usize = 20;
/// RunInstances' default when `InstanceType` is absent.
pub const DEFAULT_TYPE: &str = "m1.small";

/// Instance types Airlock knows: `(type, cores, threads per core, Nitro)`. All are x86_64.
pub const TYPES: &[(&str, i64, i64, bool)] = &[
    ("m1.small", 1, 1, false),
    ("m1.medium", 1, 1, false),
    ("m1.large", 2, 1, false),
    ("m1.xlarge", 4, 1, false),
    ("t2.nano", 1, 1, false),
    ("t2.micro", 1, 1, false),
    ("t2.small", 1, 1, false),
    ("t2.medium", 2, 1, false),
    ("t2.large", 2, 1, false),
    ("t2.xlarge", 4, 1, false),
    ("t2.2xlarge", 8, 1, false),
    ("t3.nano", 1, 2, true),
    ("t3.micro", 1, 2, true),
    ("t3.small", 1, 2, true),
    ("t3.medium", 1, 2, true),
    ("t3.large", 1, 2, true),
    ("t3.xlarge", 2, 2, true),
    ("t3.2xlarge", 4, 2, true),
    ("t3a.nano", 1, 2, true),
    ("t3a.micro", 1, 2, true),
    ("t3a.small", 1, 2, true),
    ("t3a.medium", 1, 2, true),
    ("t3a.large", 1, 2, true),
    ("t3a.xlarge", 2, 2, true),
    ("t3a.2xlarge", 4, 2, true),
    ("m4.large", 1, 2, false),
    ("m4.xlarge", 2, 2, false),
    ("m4.2xlarge", 4, 2, false),
    ("m5.large", 1, 2, true),
    ("m5.xlarge", 2, 2, true),
    ("m5.2xlarge", 4, 2, true),
    ("m5.4xlarge", 8, 2, true),
    ("m5a.large", 1, 2, true),
    ("m5a.xlarge", 2, 2, true),
    ("m6i.large", 1, 2, true),
    ("m6i.xlarge", 2, 2, true),
    ("m6i.2xlarge", 4, 2, true),
    ("m6a.large", 1, 2, true),
    ("m6a.xlarge", 2, 2, true),
    ("m7i.large", 1, 2, true),
    ("m7i.xlarge", 2, 2, true),
    ("c5.large", 1, 2, true),
    ("c5.xlarge", 2, 2, true),
    ("c5.2xlarge", 4, 2, true),
    ("c6i.large", 1, 2, true),
    ("c6i.xlarge", 2, 2, true),
    ("c7i.large", 1, 2, true),
    ("c7i.xlarge", 2, 2, true),
    ("r5.large", 1, 2, true),
    ("r5.xlarge", 2, 2, true),
    ("r6i.large", 1, 2, true),
    ("r6i.xlarge", 2, 2, true),
];

fn type_info(t: &str) -> Option<(i64, i64, bool)> {
    TYPES
        .iter()
        .find(|(name, ..)| *name == t)
        .map(|(_, c, th, nitro)| (*c, *th, *nitro))
}

/// The last lifecycle action taken on an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Launch,
    Start,
    Stop,
    Terminate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Pending,
    Running,
    ShuttingDown,
    Terminated,
    Stopping,
    Stopped,
}

impl State {
    pub fn code(self) -> i64 {
        match self {
            State::Pending => 0,
            State::Running => 16,
            State::ShuttingDown => 32,
            State::Terminated => 48,
            State::Stopping => 64,
            State::Stopped => 80,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Running => "running",
            State::ShuttingDown => "shutting-down",
            State::Terminated => "terminated",
            State::Stopping => "stopping",
            State::Stopped => "stopped",
        }
    }

    fn json(self) -> Value {
        json!({"Code": self.code(), "Name": self.name()})
    }
}

/// The state an instance is in at `now`, `action` having been taken at `at` and each transition
/// lasting `transition`.
pub fn state_at(
    action: Action,
    at: OffsetDateTime,
    now: OffsetDateTime,
    transition: time::Duration,
) -> State {
    let done = now >= at + transition;
    match (action, done) {
        (Action::Launch | Action::Start, false) => State::Pending,
        (Action::Launch | Action::Start, true) => State::Running,
        (Action::Stop, false) => State::Stopping,
        (Action::Stop, true) => State::Stopped,
        (Action::Terminate, false) => State::ShuttingDown,
        (Action::Terminate, true) => State::Terminated,
    }
}

/// Whether a terminated instance has dropped out of sight (`visible` after it reached
/// `terminated`).
pub fn expired(
    action: Action,
    at: OffsetDateTime,
    now: OffsetDateTime,
    transition: time::Duration,
    visible: time::Duration,
) -> bool {
    action == Action::Terminate && now >= at + transition + visible
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Instance {
    /// `i-` and 17 hex digits.
    pub id: String,
    /// `r-` and 17 hex digits, shared by the instances of one RunInstances call.
    pub reservation_id: String,
    pub owner: String,
    pub region: String,
    pub image_id: String,
    pub instance_type: String,
    pub key_name: Option<String>,
    pub subnet_id: String,
    pub vpc_id: String,
    pub az: String,
    pub az_id: String,
    /// The primary network interface (device index 0).
    pub eni_id: String,
    pub attachment_id: String,
    pub private_ip: u32,
    /// The auto-assigned public address currently held (not an Elastic IP).
    pub public_ip: Option<String>,
    /// Whether the instance gets an auto-assigned public address when it starts.
    pub assign_public_ip: bool,
    pub delete_eni_on_termination: bool,
    /// Security group ids at launch (the interface's groups are what DescribeInstances shows).
    pub groups: Vec<String>,
    /// The root EBS volume.
    pub volume_id: String,
    pub ami_launch_index: i64,
    pub client_token: Option<String>,
    pub tags: Vec<Tag>,
    /// Tags the launch asked for on the root volume (kept for when volumes exist).
    #[serde(default)]
    pub volume_tags: Vec<Tag>,
    pub monitoring: bool,
    pub ebs_optimized: bool,
    pub http_tokens: String,
    pub http_put_response_hop_limit: i64,
    pub http_endpoint: String,
    pub instance_metadata_tags: String,
    #[serde(default)]
    pub user_data: Option<String>,
    /// First launch (volume and interface attach time).
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// The last start (AWS's `LaunchTime` moves with each start).
    #[serde(with = "time::serde::rfc3339")]
    pub launch_time: OffsetDateTime,
    pub action: Action,
    #[serde(with = "time::serde::rfc3339")]
    pub action_at: OffsetDateTime,
}

impl Record for Instance {
    const KIND: &'static str = "ec2.instance";
    fn id(&self) -> &str {
        &self.id
    }
}

impl Instance {
    pub fn state(&self, now: OffsetDateTime, scale: &dyn Fn(f64) -> time::Duration) -> State {
        state_at(self.action, self.action_at, now, scale(TRANSITION_SECS))
    }

    /// Whether the instance is `running` at `now` (what the data plane serves a bastion for).
    pub fn is_running(&self, now: OffsetDateTime, scale: &dyn Fn(f64) -> time::Duration) -> bool {
        self.state(now, scale) == State::Running
    }

    pub fn is_expired(&self, now: OffsetDateTime, scale: &dyn Fn(f64) -> time::Duration) -> bool {
        expired(
            self.action,
            self.action_at,
            now,
            scale(TRANSITION_SECS),
            scale(TERMINATED_VISIBLE_SECS),
        )
    }

    /// Ordering key: reservations together, by launch index within one.
    fn sort_key(&self) -> String {
        format!("{}/{:04}", self.reservation_id, self.ami_launch_index)
    }
}

/// `ec2-127-255-1-2.us-west-2.compute.amazonaws.com` (`ec2-….compute-1.amazonaws.com` in
/// us-east-1).
pub fn public_dns_name(region: &str, ip: &str) -> String {
    let dashed = ip.replace('.', "-");
    if region == "us-east-1" {
        format!("ec2-{dashed}.compute-1.amazonaws.com")
    } else {
        format!("ec2-{dashed}.{region}.compute.amazonaws.com")
    }
}

/// `User initiated (2024-05-01 10:00:00 GMT)`.
fn user_initiated(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "User initiated ({:04}-{:02}-{:02} {:02}:{:02}:{:02} GMT)",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// What DescribeInstances needs besides the instances.
struct Snapshot {
    instances: Vec<Arc<Instance>>,
    enis: HashMap<String, Arc<eni::NetworkInterface>>,
    groups: Vec<Arc<sg::SecurityGroup>>,
    vpcs: HashMap<String, Arc<vpc::Vpc>>,
}

impl Snapshot {
    fn take(v: &View<'_>, scope: &Scope) -> Snapshot {
        Snapshot {
            instances: v.list::<Instance>(scope),
            enis: v
                .list::<eni::NetworkInterface>(scope)
                .into_iter()
                .map(|e| (e.id.clone(), e))
                .collect(),
            groups: v.list::<sg::SecurityGroup>(scope),
            vpcs: v
                .list::<vpc::Vpc>(scope)
                .into_iter()
                .map(|x| (x.id.clone(), x))
                .collect(),
        }
    }

    fn seen<'a>(&'a self, i: &'a Instance, state: State) -> Seen<'a> {
        let eni = self
            .enis
            .get(&i.eni_id)
            .map(Arc::as_ref)
            .filter(|e| e.attachment.as_ref().is_some_and(|a| a.instance_id == i.id));
        Seen {
            i,
            state,
            eni,
            groups: &self.groups,
            dns_hostnames: self.vpcs.get(&i.vpc_id).is_some_and(|v| v.dns_hostnames),
        }
    }
}

/// An instance as a read sees it: its state now and its attached interface.
struct Seen<'a> {
    i: &'a Instance,
    state: State,
    eni: Option<&'a eni::NetworkInterface>,
    groups: &'a [Arc<sg::SecurityGroup>],
    dns_hostnames: bool,
}

impl Seen<'_> {
    fn terminated(&self) -> bool {
        self.state == State::Terminated
    }

    fn public_ip(&self) -> Option<&str> {
        if self.terminated() {
            return None;
        }
        self.eni.and_then(|e| e.public_ip.as_deref())
    }

    fn public_dns_name(&self) -> String {
        match self.public_ip() {
            Some(ip) if self.dns_hostnames => public_dns_name(&self.i.region, ip),
            _ => String::new(),
        }
    }

    fn private_dns_name(&self) -> String {
        if self.terminated() {
            String::new()
        } else {
            vpc::private_dns_name(&self.i.region, self.i.private_ip)
        }
    }

    fn group_ids(&self) -> Vec<String> {
        if self.terminated() {
            return Vec::new();
        }
        match self.eni {
            Some(e) => e.groups.clone(),
            None => self.i.groups.clone(),
        }
    }

    fn group_names(&self) -> Vec<String> {
        self.group_ids()
            .iter()
            .map(|id| {
                self.groups
                    .iter()
                    .find(|g| &g.id == id)
                    .map(|g| g.name.clone())
                    .unwrap_or_default()
            })
            .collect()
    }

    fn eni_json(&self, e: &eni::NetworkInterface) -> Value {
        let association = e.public_ip.as_ref().map(|ip| {
            let owner = if e.allocation_id.is_some() {
                self.i.owner.as_str()
            } else {
                "amazon"
            };
            json!({"IpOwnerId": owner, "PublicDnsName": self.public_dns_name(), "PublicIp": ip})
        });
        let mut private = json!({
            "Primary": true, "PrivateDnsName": e.private_dns_name(), "PrivateIpAddress": e.ip(),
        });
        let mut v = json!({
            "Description": e.description, "Groups": sg::identifiers(self.groups, &e.groups),
            "Ipv6Addresses": [], "MacAddress": e.mac, "NetworkInterfaceId": e.id, "OwnerId": e.owner,
            "PrivateDnsName": e.private_dns_name(), "PrivateIpAddress": e.ip(),
            "SourceDestCheck": true, "Status": e.status, "SubnetId": e.subnet_id, "VpcId": e.vpc_id,
            "InterfaceType": e.interface_type, "Ipv4Prefixes": [], "Ipv6Prefixes": [],
            "Operator": {"Managed": false},
        });
        if let Some(a) = &e.attachment {
            v["Attachment"] = json!({
                "AttachTime": a.attach_time, "AttachmentId": a.id,
                "DeleteOnTermination": a.delete_on_termination, "DeviceIndex": a.device_index,
                "Status": a.status, "NetworkCardIndex": 0,
            });
        }
        if let Some(a) = association {
            private["Association"] = a.clone();
            v["Association"] = a;
        }
        v["PrivateIpAddresses"] = json!([private]);
        v
    }

    fn json(&self) -> Value {
        let i = self.i;
        let (cores, threads, nitro) = type_info(&i.instance_type).unwrap_or((1, 1, false));
        let stopped_by_user = matches!(
            self.state,
            State::Stopping | State::Stopped | State::ShuttingDown | State::Terminated
        );
        let block_devices = if self.terminated() {
            json!([])
        } else {
            json!([{"DeviceName": "/dev/xvda", "Ebs": {
                "AttachTime": crate::iso(i.created), "DeleteOnTermination": true,
                "Status": "attached", "VolumeId": i.volume_id,
            }}])
        };
        let interfaces: Vec<Value> = self.eni.iter().map(|e| self.eni_json(e)).collect();
        let mut v = json!({
            "AmiLaunchIndex": i.ami_launch_index, "ImageId": i.image_id, "InstanceId": i.id,
            "InstanceType": i.instance_type, "LaunchTime": crate::iso(i.launch_time),
            "Monitoring": {"State": if i.monitoring { "enabled" } else { "disabled" }},
            "Placement": {
                "AvailabilityZone": i.az, "AvailabilityZoneId": i.az_id, "GroupName": "",
                "Tenancy": "default",
            },
            "PrivateDnsName": self.private_dns_name(), "ProductCodes": [],
            "PublicDnsName": self.public_dns_name(), "State": self.state.json(),
            "StateTransitionReason": if stopped_by_user { user_initiated(i.action_at) } else { String::new() },
            "Architecture": "x86_64", "BlockDeviceMappings": block_devices,
            "ClientToken": i.client_token.clone().unwrap_or_default(),
            "EbsOptimized": i.ebs_optimized, "EnaSupport": true, "Hypervisor": "xen",
            "NetworkInterfaces": interfaces, "RootDeviceName": "/dev/xvda", "RootDeviceType": "ebs",
            "SecurityGroups": sg::identifiers(self.groups, &self.group_ids()),
            "SourceDestCheck": true, "VirtualizationType": "hvm",
            "CpuOptions": {"CoreCount": cores, "ThreadsPerCore": threads},
            "CapacityReservationSpecification": {"CapacityReservationPreference": "open"},
            "HibernationOptions": {"Configured": false},
            "MetadataOptions": {
                "State": if self.state == State::Pending { "pending" } else { "applied" },
                "HttpTokens": i.http_tokens, "HttpPutResponseHopLimit": i.http_put_response_hop_limit,
                "HttpEndpoint": i.http_endpoint, "HttpProtocolIpv6": "disabled",
                "InstanceMetadataTags": i.instance_metadata_tags,
            },
            "EnclaveOptions": {"Enabled": false},
            "BootMode": "uefi-preferred",
            "PlatformDetails": "Linux/UNIX", "UsageOperation": "RunInstances",
            "UsageOperationUpdateTime": crate::iso(i.created),
            "PrivateDnsNameOptions": {
                "HostnameType": "ip-name", "EnableResourceNameDnsARecord": false,
                "EnableResourceNameDnsAAAARecord": false,
            },
            "MaintenanceOptions": {"AutoRecovery": "default", "RebootMigration": "default"},
            "CurrentInstanceBootMode": if nitro { "uefi" } else { "legacy-bios" },
            "NetworkPerformanceOptions": {"BandwidthWeighting": "default"},
            "Operator": {"Managed": false},
        });
        if !self.terminated() {
            v["SubnetId"] = json!(i.subnet_id);
            v["VpcId"] = json!(i.vpc_id);
            v["PrivateIpAddress"] = json!(super::cidr::ip_str(i.private_ip));
        }
        if let Some(k) = &i.key_name {
            v["KeyName"] = json!(k);
        }
        if let Some(ip) = self.public_ip() {
            v["PublicIpAddress"] = json!(ip);
        }
        match self.state {
            State::Pending => v["StateReason"] = json!({"Code": "pending", "Message": "pending"}),
            State::Running => {}
            _ => {
                v["StateReason"] = json!({
                    "Code": "Client.UserInitiatedShutdown",
                    "Message": "Client.UserInitiatedShutdown: User initiated shutdown",
                })
            }
        }
        // AWS leaves `tagSet` out for an instance without tags.
        if !i.tags.is_empty() {
            v["Tags"] = tags_json(&i.tags);
        }
        v
    }
}

impl Filterable for Seen<'_> {
    fn field(&self, name: &str) -> Field {
        let i = self.i;
        let live = |s: &str| -> Field {
            Some(if self.terminated() {
                Vec::new()
            } else {
                vec![s.to_owned()]
            })
        };
        let eni = |f: &dyn Fn(&eni::NetworkInterface) -> Vec<String>| -> Field {
            Some(self.eni.map(f).unwrap_or_default())
        };
        let attachment = |f: &dyn Fn(&eni::Attachment) -> String| -> Field {
            eni(&|e| e.attachment.iter().map(f).collect())
        };
        let blocks = |s: String| -> Field {
            Some(if self.terminated() {
                Vec::new()
            } else {
                vec![s]
            })
        };
        match name {
            "instance-id" => one(&i.id),
            "instance-state-name" => one(self.state.name()),
            "instance-state-code" => one(self.state.code().to_string()),
            "instance-type" => one(&i.instance_type),
            "image-id" => one(&i.image_id),
            "key-name" => Some(i.key_name.iter().cloned().collect()),
            "subnet-id" => live(&i.subnet_id),
            "vpc-id" => live(&i.vpc_id),
            "private-ip-address" => live(&super::cidr::ip_str(i.private_ip)),
            "ip-address" | "association.public-ip" | "network-interface.association.public-ip" => {
                Some(self.public_ip().map(str::to_owned).into_iter().collect())
            }
            "private-dns-name" => live(&self.private_dns_name()),
            "dns-name" => Some(
                Some(self.public_dns_name())
                    .filter(|s| !s.is_empty())
                    .into_iter()
                    .collect(),
            ),
            "network-interface.network-interface-id" => eni(&|e| vec![e.id.clone()]),
            "network-interface.subnet-id" => eni(&|e| vec![e.subnet_id.clone()]),
            "network-interface.vpc-id" => eni(&|e| vec![e.vpc_id.clone()]),
            "network-interface.description" => eni(&|e| vec![e.description.clone()]),
            "network-interface.mac-address" => eni(&|e| vec![e.mac.clone()]),
            "network-interface.status" => eni(&|e| vec![e.status.clone()]),
            "network-interface.owner-id" => eni(&|e| vec![e.owner.clone()]),
            "network-interface.source-dest-check" => eni(&|_| vec!["true".into()]),
            "network-interface.private-dns-name" => eni(&|e| vec![e.private_dns_name()]),
            "network-interface.addresses.private-ip-address" => eni(&|e| vec![e.ip()]),
            "network-interface.addresses.primary" => eni(&|_| vec!["true".into()]),
            "network-interface.group-id" => eni(&|e| e.groups.clone()),
            "network-interface.attachment.attachment-id" => attachment(&|a| a.id.clone()),
            "network-interface.attachment.instance-id" => attachment(&|a| a.instance_id.clone()),
            "network-interface.attachment.instance-owner-id" => {
                attachment(&|a| a.instance_owner.clone())
            }
            "network-interface.attachment.device-index" => {
                attachment(&|a| a.device_index.to_string())
            }
            "network-interface.attachment.status" => attachment(&|a| a.status.clone()),
            "network-interface.attachment.attach-time" => attachment(&|a| a.attach_time.clone()),
            "network-interface.attachment.delete-on-termination" => {
                attachment(&|a| a.delete_on_termination.to_string())
            }
            "instance.group-id" | "group-id" => Some(self.group_ids()),
            "instance.group-name" | "group-name" => Some(self.group_names()),
            "reservation-id" => one(&i.reservation_id),
            "owner-id" => one(&i.owner),
            "availability-zone" => one(&i.az),
            "availability-zone-id" => one(&i.az_id),
            "tenancy" => one("default"),
            "placement-group-name" => Some(Vec::new()),
            "launch-index" | "ami-launch-index" => one(i.ami_launch_index.to_string()),
            "launch-time" => one(crate::iso(i.launch_time)),
            "client-token" => Some(i.client_token.iter().cloned().collect()),
            "architecture" => one("x86_64"),
            "hypervisor" => one("xen"),
            "virtualization-type" => one("hvm"),
            "root-device-type" => one("ebs"),
            "root-device-name" => one("/dev/xvda"),
            "platform-details" => one("Linux/UNIX"),
            "usage-operation" => one("RunInstances"),
            "monitoring-state" => one(if i.monitoring { "enabled" } else { "disabled" }),
            "ebs-optimized" => flag(i.ebs_optimized),
            "ena-support" => flag(true),
            "source-dest-check" => flag(true),
            "instance-lifecycle" | "product-code" | "platform" | "iam-instance-profile.arn" => {
                Some(Vec::new())
            }
            "block-device-mapping.device-name" => blocks("/dev/xvda".into()),
            "block-device-mapping.volume-id" => blocks(i.volume_id.clone()),
            "block-device-mapping.status" => blocks("attached".into()),
            "block-device-mapping.delete-on-termination" => blocks("true".into()),
            "block-device-mapping.attach-time" => blocks(crate::iso(i.created)),
            "metadata-options.http-tokens" => one(&i.http_tokens),
            "metadata-options.http-put-response-hop-limit" => {
                one(i.http_put_response_hop_limit.to_string())
            }
            "metadata-options.http-endpoint" => one(&i.http_endpoint),
            "metadata-options.instance-metadata-tags" => one(&i.instance_metadata_tags),
            "state-reason-code" => Some(match self.state {
                State::Running => Vec::new(),
                State::Pending => vec!["pending".into()],
                _ => vec!["Client.UserInitiatedShutdown".into()],
            }),
            "reason" => Some(match self.state {
                State::Pending | State::Running => Vec::new(),
                _ => vec![user_initiated(i.action_at)],
            }),
            _ => None,
        }
    }
    fn tags(&self) -> &[Tag] {
        &self.i.tags
    }
}

// ------------------------------------------------------------------------------------------------
// Request parsing

/// `ami-` and 8 to 17 lowercase hex digits.
fn check_image_id(id: &str) -> ApiResult<()> {
    let ok = id.strip_prefix("ami-").is_some_and(|hex| {
        (8..=17).contains(&hex.len())
            && hex
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    });
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(
            "InvalidAMIID.Malformed",
            format!("Invalid id: \"{id}\" (expecting \"ami-...\")"),
        ))
    }
}

fn check_instance_id(id: &str) -> ApiResult<()> {
    common::check_id(id, "i", "InvalidInstanceID.Malformed")
}

/// `The instance ID 'i-1' does not exist` / `The instance IDs 'i-1, i-2' do not exist`.
fn not_found(ids: &[String]) -> ApiError {
    if ids.len() == 1 {
        common::not_found("InvalidInstanceID.NotFound", "instance", &ids[0])
    } else {
        ApiError::new(
            "InvalidInstanceID.NotFound",
            format!("The instance IDs '{}' do not exist", ids.join(", ")),
        )
    }
}

struct LaunchTags {
    instance: Vec<Tag>,
    volume: Vec<Tag>,
    interface: Vec<Tag>,
}

fn launch_tags(input: &Value) -> ApiResult<LaunchTags> {
    let mut out = LaunchTags {
        instance: Vec::new(),
        volume: Vec::new(),
        interface: Vec::new(),
    };
    for spec in input::list(input, "TagSpecifications") {
        let rt = input::str(spec, "ResourceType").unwrap_or("");
        let target = match rt {
            "instance" => &mut out.instance,
            "volume" => &mut out.volume,
            "network-interface" => &mut out.interface,
            // Accepted by AWS for RunInstances; nothing here to carry them.
            "spot-instances-request" | "elastic-gpu" => continue,
            _ => {
                return Err(ApiError::new(
                    "InvalidParameterValue",
                    format!("'{rt}' is not a valid taggable resource type for this operation."),
                ))
            }
        };
        for t in input::list(spec, "Tags") {
            let tag = Tag {
                key: input::str(t, "Key").unwrap_or("").to_owned(),
                value: input::str(t, "Value").unwrap_or("").to_owned(),
            };
            common::merge_tags(target, std::slice::from_ref(&tag))?;
        }
    }
    for tags in [&out.instance, &out.volume, &out.interface] {
        common::check_tags(tags)?;
    }
    Ok(out)
}

/// `NetworkInterfaces.1`: the primary interface's settings.
#[derive(Default)]
struct InterfaceSpec {
    subnet_id: Option<String>,
    groups: Vec<String>,
    associate_public_ip: Option<bool>,
    delete_on_termination: Option<bool>,
    private_ip: Option<String>,
    description: Option<String>,
}

fn interface_spec(input: &Value) -> ApiResult<Option<InterfaceSpec>> {
    let list = input::list(input, "NetworkInterfaces");
    if list.is_empty() {
        return Ok(None);
    }
    if list.len() > 1 {
        return Err(ApiError::new(
            "Unsupported",
            "Airlock launches instances with one network interface (device index 0).",
        ));
    }
    let ni = &list[0];
    let index = input::int(ni, "DeviceIndex");
    if index.is_some_and(|i| i != 0)
        || (index.is_none() && input::str(ni, "NetworkInterfaceId").is_none())
    {
        return Err(ApiError::new(
            "InvalidParameterValue",
            "Each network interface requires a device index of 0 for the primary interface.",
        ));
    }
    if input::str(ni, "NetworkInterfaceId").is_some() {
        return Err(ApiError::new(
            "Unsupported",
            "Launching an instance with an existing network interface is not supported by Airlock.",
        ));
    }
    let private_ip = input::str(ni, "PrivateIpAddress")
        .map(str::to_owned)
        .or_else(|| {
            input::list(ni, "PrivateIpAddresses")
                .iter()
                .find(|p| input::bool(p, "Primary") != Some(false))
                .and_then(|p| input::str(p, "PrivateIpAddress"))
                .map(str::to_owned)
        });
    Ok(Some(InterfaceSpec {
        subnet_id: input::str(ni, "SubnetId").map(str::to_owned),
        groups: input::strs(ni, "Groups"),
        associate_public_ip: input::bool(ni, "AssociatePublicIpAddress"),
        delete_on_termination: input::bool(ni, "DeleteOnTermination"),
        private_ip,
        description: input::str(ni, "Description").map(str::to_owned),
    }))
}

/// The subnet an instance launches into: the one named, else the default subnet of the
/// requested (or first) Availability Zone of the default VPC.
fn launch_subnet(
    ctx: &Ctx<'_>,
    tx: &Tx<'_>,
    scope: &Scope,
    named: Option<&str>,
    az: Option<&str>,
) -> ApiResult<Arc<vpc::Subnet>> {
    if let Some(id) = named {
        let s = vpc::get_subnet(tx, scope, id)?;
        if let Some(az) = az {
            if az != s.az {
                return Err(ApiError::new(
                    "InvalidParameterValue",
                    format!(
                        "Value ({az}) for parameter availabilityZone is invalid. Subnet '{id}' is in the availability zone {}",
                        s.az
                    ),
                ));
            }
        }
        return Ok(s);
    }
    let Some(default_vpc) = vpc::default_vpc_id(tx, scope) else {
        return Err(ApiError::new(
            "VPCIdNotSpecified",
            "No default VPC for this user",
        ));
    };
    let zones: Vec<String> = match az {
        Some(az) => {
            if regions::zone_by_name(&ctx.region, az).is_none() {
                return Err(ApiError::new(
                    "InvalidParameterValue",
                    format!("Invalid availability zone: [{az}]"),
                ));
            }
            vec![az.to_owned()]
        }
        None => regions::zones(&ctx.region)
            .into_iter()
            .map(|z| z.name)
            .collect(),
    };
    let subnets = tx.list::<vpc::Subnet>(scope);
    zones
        .iter()
        .find_map(|z| {
            subnets
                .iter()
                .find(|s| s.vpc_id == default_vpc && s.default_for_az && &s.az == z)
                .cloned()
        })
        .ok_or_else(|| {
            ApiError::new(
                "MissingInput",
                format!("No subnets found for the default VPC '{default_vpc}'. Please specify a subnet."),
            )
        })
}

/// Security groups by name: only in the default VPC, as on AWS.
fn groups_by_name(
    tx: &Tx<'_>,
    scope: &Scope,
    vpc_id: &str,
    names: &[String],
) -> ApiResult<Vec<String>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    if vpc::default_vpc_id(tx, scope).as_deref() != Some(vpc_id) {
        return Err(ApiError::new(
            "InvalidParameterCombination",
            "The parameter groupName cannot be used with the parameter subnet",
        ));
    }
    let groups = tx.list::<sg::SecurityGroup>(scope);
    names
        .iter()
        .map(|n| {
            groups
                .iter()
                .find(|g| g.vpc_id == vpc_id && &g.name == n)
                .map(|g| g.id.clone())
                .ok_or_else(|| {
                    ApiError::new(
                        "InvalidGroup.NotFound",
                        format!("The security group '{n}' does not exist in VPC '{vpc_id}'"),
                    )
                })
        })
        .collect()
}

struct Metadata {
    http_tokens: String,
    hop_limit: i64,
    http_endpoint: String,
    tags: String,
}

fn metadata_options(input: &Value) -> ApiResult<Metadata> {
    let m = input.get("MetadataOptions").cloned().unwrap_or(json!({}));
    let hop_limit = input::int(&m, "HttpPutResponseHopLimit").unwrap_or(2);
    if !(1..=64).contains(&hop_limit) {
        return Err(ApiError::invalid_parameter_value(format!(
            "The HttpPutResponseHopLimit value '{hop_limit}' is invalid. Specify a value between 1 and 64."
        )));
    }
    Ok(Metadata {
        http_tokens: input::str(&m, "HttpTokens")
            .unwrap_or("required")
            .to_owned(),
        hop_limit,
        http_endpoint: input::str(&m, "HttpEndpoint")
            .unwrap_or("enabled")
            .to_owned(),
        tags: input::str(&m, "InstanceMetadataTags")
            .unwrap_or("disabled")
            .to_owned(),
    })
}

/// Forgets terminated instances that have been out of sight for long enough.
fn purge_expired(ctx: &Ctx<'_>, tx: &mut Tx<'_>, scope: &Scope) {
    let scale = |s: f64| ctx.scaled(s);
    for i in tx.list::<Instance>(scope) {
        if i.is_expired(ctx.now, &scale) {
            tx.delete::<Instance>(scope, &i.id);
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Operations

pub fn run_instances(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    input::dry_run(input)?;
    let image_id = input::req(input, "ImageId")?.to_owned();
    check_image_id(&image_id)?;
    let min = input::int(input, "MinCount").unwrap_or(1);
    let max = input::int(input, "MaxCount").unwrap_or(1);
    if min < 1 {
        return Err(ApiError::invalid_parameter_value(format!(
            "Value ({min}) for parameter minCount is invalid. Expected a positive integer."
        )));
    }
    if max < 1 {
        return Err(ApiError::invalid_parameter_value(format!(
            "Value ({max}) for parameter maxCount is invalid. Expected a positive integer."
        )));
    }
    if min > max {
        return Err(ApiError::invalid_parameter_value(format!(
            "Value ({min}) for parameter minCount is invalid. Expected a value less than or equal to maxCount ({max})."
        )));
    }
    let instance_type = input::str(input, "InstanceType")
        .unwrap_or(DEFAULT_TYPE)
        .to_owned();
    if type_info(&instance_type).is_none() {
        return Err(ApiError::invalid_parameter_value(format!(
            "Invalid value '{instance_type}' for InstanceType."
        )));
    }
    let key_name = input::str(input, "KeyName").map(str::to_owned);
    if let Some(k) = &key_name {
        keypair::find_by_name(ctx, k)?;
    }
    let ni = interface_spec(input)?;
    let top_subnet = input::str(input, "SubnetId");
    let group_ids = input::strs(input, "SecurityGroupIds");
    let group_names = input::strs(input, "SecurityGroups");
    if let Some(ni) = &ni {
        if top_subnet.is_some() && ni.subnet_id.is_some() {
            return Err(ApiError::new(
                "InvalidParameterCombination",
                "Network interfaces and an instance-level subnet ID may not be specified on the same request",
            ));
        }
        if (!group_ids.is_empty() || !group_names.is_empty()) && !ni.groups.is_empty() {
            return Err(ApiError::new(
                "InvalidParameterCombination",
                "Network interfaces and an instance-level security groups may not be specified on the same request",
            ));
        }
        if ni.private_ip.is_some() && input::str(input, "PrivateIpAddress").is_some() {
            return Err(ApiError::new(
                "InvalidParameterCombination",
                "Network interfaces and an instance-level private IP address may not be specified on the same request",
            ));
        }
    }
    let private_ip = ni
        .as_ref()
        .and_then(|n| n.private_ip.clone())
        .or_else(|| input::str(input, "PrivateIpAddress").map(str::to_owned));
    if private_ip.is_some() && max > 1 {
        return Err(ApiError::new(
            "InvalidParameterCombination",
            "Cannot specify a private IP address when launching more than one instance",
        ));
    }
    let placement_az = input
        .get("Placement")
        .and_then(|p| input::str(p, "AvailabilityZone"))
        .map(str::to_owned);
    if let Some(t) = input
        .get("Placement")
        .and_then(|p| input::str(p, "Tenancy"))
    {
        if t != "default" {
            return Err(ApiError::new(
                "Unsupported",
                format!("The requested tenancy '{t}' is not supported by Airlock."),
            ));
        }
    }
    let tags = launch_tags(input)?;
    let metadata = metadata_options(input)?;
    let token = input::str(input, "ClientToken").map(str::to_owned);
    let monitoring = input
        .get("Monitoring")
        .and_then(|m| input::bool(m, "Enabled"))
        .unwrap_or(false);
    let ebs_optimized = input::bool(input, "EbsOptimized").unwrap_or(false);
    let user_data = input::str(input, "UserData").map(str::to_owned);
    let scope = ctx.scope();
    let ids = ctx.store.write(|tx| {
        purge_expired(ctx, tx, &scope);
        if let Some(t) = &token {
            let mut same: Vec<Arc<Instance>> = tx
                .list::<Instance>(&scope)
                .into_iter()
                .filter(|i| i.client_token.as_ref() == Some(t))
                .collect();
            if !same.is_empty() {
                same.sort_by_key(|i| i.ami_launch_index);
                return Ok(same.iter().map(|i| i.id.clone()).collect::<Vec<_>>());
            }
        }
        let subnet_id = ni
            .as_ref()
            .and_then(|n| n.subnet_id.as_deref())
            .or(top_subnet);
        let subnet = launch_subnet(ctx, tx, &scope, subnet_id, placement_az.as_deref())?;
        let mut groups = match &ni {
            Some(n) if !n.groups.is_empty() => n.groups.clone(),
            _ => group_ids.clone(),
        };
        for g in groups_by_name(tx, &scope, &subnet.vpc_id, &group_names)? {
            if !groups.contains(&g) {
                groups.push(g);
            }
        }
        let groups = sg::resolve_groups(tx, &scope, &subnet.vpc_id, &groups)?;
        let scale = |s: f64| ctx.scaled(s);
        let live = tx
            .list::<Instance>(&scope)
            .iter()
            .filter(|i| i.state(ctx.now, &scale) != State::Terminated)
            .count();
        let room = INSTANCE_LIMIT.saturating_sub(live) as i64;
        if room < min {
            return Err(ApiError::new(
                "InstanceLimitExceeded",
                format!(
                    "You have requested more instances ({min}) than your current instance limit of {INSTANCE_LIMIT} allows for the specified instance type. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit."
                ),
            ));
        }
        let count = max.min(room);
        let assign_public = ni
            .as_ref()
            .and_then(|n| n.associate_public_ip)
            .unwrap_or(subnet.map_public_ip_on_launch);
        let delete_on_termination = ni
            .as_ref()
            .and_then(|n| n.delete_on_termination)
            .unwrap_or(true);
        let description = ni
            .as_ref()
            .and_then(|n| n.description.clone())
            .unwrap_or_default();
        let reservation_id = ids::resource_id("r");
        let mut ids = Vec::new();
        for index in 0..count {
            let id = ids::resource_id("i");
            let created = eni::create_in(
                ctx,
                tx,
                eni::Spec {
                    subnet: &subnet,
                    requested_ip: private_ip.as_deref(),
                    description: description.clone(),
                    groups: groups.clone(),
                    interface_type: "interface",
                    requester_managed: false,
                    requester_id: None,
                    status: "in-use",
                    tags: tags.interface.clone(),
                },
            );
            let mut e = match created {
                Ok(e) => e,
                // AWS launches as many as fit, as long as that is at least MinCount.
                Err(err) if err.code == "InsufficientFreeAddressesInSubnet" && index >= min => {
                    break
                }
                Err(err) => return Err(err),
            };
            let attachment_id = ids::resource_id("eni-attach");
            e.attachment = Some(eni::Attachment {
                id: attachment_id.clone(),
                instance_id: id.clone(),
                instance_owner: ctx.account().to_owned(),
                device_index: 0,
                attach_time: crate::iso(ctx.now),
                delete_on_termination,
                status: "attached".into(),
            });
            let public_ip = if assign_public {
                Some(nat::take_public_ip(tx, ctx.account())?)
            } else {
                None
            };
            e.public_ip = public_ip.clone();
            let instance = Instance {
                id: id.clone(),
                reservation_id: reservation_id.clone(),
                owner: ctx.account().to_owned(),
                region: ctx.region.clone(),
                image_id: image_id.clone(),
                instance_type: instance_type.clone(),
                key_name: key_name.clone(),
                subnet_id: subnet.id.clone(),
                vpc_id: subnet.vpc_id.clone(),
                az: subnet.az.clone(),
                az_id: subnet.az_id.clone(),
                eni_id: e.id.clone(),
                attachment_id,
                private_ip: e.private_ip,
                public_ip,
                assign_public_ip: assign_public,
                delete_eni_on_termination: delete_on_termination,
                groups: groups.clone(),
                volume_id: ids::resource_id("vol"),
                ami_launch_index: index,
                client_token: token.clone(),
                tags: tags.instance.clone(),
                volume_tags: tags.volume.clone(),
                monitoring,
                ebs_optimized,
                http_tokens: metadata.http_tokens.clone(),
                http_put_response_hop_limit: metadata.hop_limit,
                http_endpoint: metadata.http_endpoint.clone(),
                instance_metadata_tags: metadata.tags.clone(),
                user_data: user_data.clone(),
                created: ctx.now,
                launch_time: ctx.now,
                action: Action::Launch,
                action_at: ctx.now,
            };
            tx.put(&scope, e)?;
            tx.put(&scope, instance)?;
            ids.push(id);
        }
        Ok::<_, ApiError>(ids)
    })?;
    let scale = |s: f64| ctx.scaled(s);
    let snap = ctx.store.read(|v| Snapshot::take(v, &scope));
    let mut instances = Vec::new();
    let mut reservation = None;
    for id in &ids {
        if let Some(i) = snap.instances.iter().find(|i| &i.id == id) {
            reservation.get_or_insert_with(|| i.reservation_id.clone());
            instances.push(snap.seen(i, i.state(ctx.now, &scale)).json());
        }
    }
    Ok(json!({
        "ReservationId": reservation.unwrap_or_default(), "OwnerId": ctx.account(),
        "Groups": [], "Instances": instances,
    }))
}

pub fn describe_instances(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    input::dry_run(input)?;
    let ids = input::strs(input, "InstanceIds");
    for id in &ids {
        check_instance_id(id)?;
    }
    let filters = common::filters(input);
    let scope = ctx.scope();
    let scale = |s: f64| ctx.scaled(s);
    let snap = ctx.store.read(|v| Snapshot::take(v, &scope));
    let visible: Vec<&Instance> = snap
        .instances
        .iter()
        .map(Arc::as_ref)
        .filter(|i| !i.is_expired(ctx.now, &scale))
        .collect();
    let missing: Vec<String> = ids
        .iter()
        .filter(|id| !visible.iter().any(|i| &&i.id == id))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(not_found(&missing));
    }
    let mut out = Vec::new();
    for i in visible {
        if !ids.is_empty() && !ids.contains(&i.id) {
            continue;
        }
        let seen = snap.seen(i, i.state(ctx.now, &scale));
        if common::matches(&seen, &filters)? {
            out.push(seen);
        }
    }
    out.sort_by_key(|s| s.i.sort_key());
    let (page, next) =
        common::paginate(out, input, (5, 1000), !ids.is_empty(), |s| s.i.sort_key())?;
    let mut reservations: Vec<(String, String, Vec<Value>)> = Vec::new();
    for s in &page {
        match reservations.last_mut() {
            Some((r, _, list)) if *r == s.i.reservation_id => list.push(s.json()),
            _ => reservations.push((
                s.i.reservation_id.clone(),
                s.i.owner.clone(),
                vec![s.json()],
            )),
        }
    }
    let reservations: Vec<Value> = reservations
        .into_iter()
        .map(|(r, owner, instances)| {
            json!({"ReservationId": r, "OwnerId": owner, "Groups": [], "Instances": instances})
        })
        .collect();
    let mut res = json!({"Reservations": reservations});
    if let Some(n) = next {
        res["NextToken"] = json!(n);
    }
    Ok(res)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Change {
    Stop,
    Start,
    Terminate,
}

/// What `change` does to an instance in `state`: `Ok(true)` acts, `Ok(false)` leaves it as it is
/// (AWS answers such repeats with the current state), `Err` is `IncorrectInstanceState`.
fn allowed(change: Change, state: State, id: &str) -> ApiResult<bool> {
    use State::*;
    let verb = match change {
        Change::Stop => match state {
            Running => return Ok(true),
            Stopping | Stopped => return Ok(false),
            _ => "stopped",
        },
        Change::Start => match state {
            Stopped => return Ok(true),
            Pending | Running => return Ok(false),
            _ => "started",
        },
        Change::Terminate => match state {
            ShuttingDown | Terminated => return Ok(false),
            _ => return Ok(true),
        },
    };
    Err(ApiError::new(
        "IncorrectInstanceState",
        format!("The instance '{id}' is not in a state from which it can be {verb}."),
    ))
}

/// Gives up the instance's auto-assigned public address (an Elastic IP stays with the interface
/// unless `detach_eip`).
fn release_public(
    tx: &mut Tx<'_>,
    scope: &Scope,
    inst: &mut Instance,
    e: Option<&mut eni::NetworkInterface>,
    detach_eip: bool,
) -> ApiResult<()> {
    if let Some(ip) = inst.public_ip.take() {
        nat::release_public_ip(tx, &ip);
        if let Some(e) = e {
            if e.public_ip.as_ref() == Some(&ip) && e.allocation_id.is_none() {
                e.public_ip = None;
            }
        }
        return Ok(());
    }
    if let (true, Some(e)) = (detach_eip, e) {
        if let Some(alloc) = e.allocation_id.take() {
            if let Some(a) = tx.get::<nat::Address>(scope, &alloc) {
                let mut a = (*a).clone();
                a.association = None;
                a.vpc_id = None;
                tx.put(scope, a)?;
            }
            e.public_ip = None;
            e.association_id = None;
        }
    }
    Ok(())
}

fn apply(
    ctx: &Ctx<'_>,
    tx: &mut Tx<'_>,
    scope: &Scope,
    change: Change,
    i: &Instance,
) -> ApiResult<()> {
    let mut inst = i.clone();
    let mut e = tx
        .get::<eni::NetworkInterface>(scope, &inst.eni_id)
        .map(|e| (*e).clone())
        .filter(|e| {
            e.attachment
                .as_ref()
                .is_some_and(|a| a.instance_id == inst.id)
        });
    inst.action_at = ctx.now;
    match change {
        Change::Stop => {
            inst.action = Action::Stop;
            release_public(tx, scope, &mut inst, e.as_mut(), false)?;
        }
        Change::Start => {
            inst.action = Action::Start;
            inst.launch_time = ctx.now;
            let has_eip = e.as_ref().is_some_and(|e| e.public_ip.is_some());
            if inst.assign_public_ip && !has_eip {
                let ip = nat::take_public_ip(tx, ctx.account())?;
                if let Some(e) = e.as_mut() {
                    e.public_ip = Some(ip.clone());
                }
                inst.public_ip = Some(ip);
            }
        }
        Change::Terminate => {
            inst.action = Action::Terminate;
            release_public(tx, scope, &mut inst, e.as_mut(), true)?;
            if let Some(mut e) = e.take() {
                if inst.delete_eni_on_termination {
                    tx.delete::<eni::NetworkInterface>(scope, &e.id);
                } else {
                    e.attachment = None;
                    e.status = "available".into();
                    tx.put(scope, e)?;
                }
            }
        }
    }
    if let Some(e) = e {
        tx.put(scope, e)?;
    }
    tx.put(scope, inst)?;
    Ok(())
}

fn change_state(ctx: &Ctx<'_>, input: &Value, change: Change, out_key: &str) -> ApiResult<Value> {
    input::dry_run(input)?;
    let mut ids: Vec<String> = Vec::new();
    for id in input::strs(input, "InstanceIds") {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.is_empty() {
        return Err(ApiError::missing_parameter(
            "The request must contain the parameter InstanceId",
        ));
    }
    for id in &ids {
        check_instance_id(id)?;
    }
    let scope = ctx.scope();
    let scale = |s: f64| ctx.scaled(s);
    let changes = ctx.store.write(|tx| {
        purge_expired(ctx, tx, &scope);
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for id in &ids {
            match tx.get::<Instance>(&scope, id) {
                Some(i) => found.push(i),
                None => missing.push(id.clone()),
            }
        }
        if !missing.is_empty() {
            return Err(not_found(&missing));
        }
        let mut plan = Vec::new();
        for i in &found {
            let state = i.state(ctx.now, &scale);
            plan.push((state, allowed(change, state, &i.id)?));
        }
        let mut out = Vec::new();
        for (i, (previous, act)) in found.iter().zip(plan) {
            let current = if act {
                apply(ctx, tx, &scope, change, i)?;
                match change {
                    Change::Stop => State::Stopping,
                    Change::Start => State::Pending,
                    Change::Terminate => State::ShuttingDown,
                }
            } else {
                previous
            };
            out.push(json!({
                "InstanceId": i.id, "CurrentState": current.json(), "PreviousState": previous.json(),
            }));
        }
        Ok::<_, ApiError>(out)
    })?;
    let mut res = json!({});
    res[out_key] = Value::Array(changes);
    Ok(res)
}

pub fn stop_instances(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    change_state(ctx, input, Change::Stop, "StoppingInstances")
}

pub fn start_instances(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    change_state(ctx, input, Change::Start, "StartingInstances")
}

pub fn terminate_instances(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    change_state(ctx, input, Change::Terminate, "TerminatingInstances")
}

/// Whether an instance that is pending or running holds the public address `ip` in `region`, in a
/// VPC with DNS hostnames (so that its public DNS name resolves; for the DNS server).
pub fn public_ip_in_use(
    v: &View<'_>,
    scale: &dyn Fn(f64) -> time::Duration,
    now: OffsetDateTime,
    region: &str,
    ip: &str,
) -> bool {
    v.find::<eni::NetworkInterface>(ip)
        .iter()
        .any(|(scope, e)| {
            let Some(attachment) = e.attachment.as_ref() else {
                return false;
            };
            scope.region == region
                && e.public_ip.as_deref() == Some(ip)
                && v.get::<Instance>(scope, &attachment.instance_id)
                    .is_some_and(|i| {
                        i.eni_id == e.id
                            && matches!(i.state(now, scale), State::Pending | State::Running)
                            && v.get::<vpc::Vpc>(scope, &i.vpc_id)
                                .is_some_and(|x| x.dns_hostnames)
                    })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T: time::Duration = time::Duration::seconds(30);
    const HOUR: time::Duration = time::Duration::hours(1);

    #[test]
    fn launch_and_start_go_pending_then_running() {
        let at = datetime!(2024-05-01 10:00:00 UTC);
        for action in [Action::Launch, Action::Start] {
            assert_eq!(state_at(action, at, at, T), State::Pending);
            assert_eq!(
                state_at(action, at, at + T - time::Duration::milliseconds(1), T),
                State::Pending
            );
            assert_eq!(state_at(action, at, at + T, T), State::Running);
            assert_eq!(state_at(action, at, at + HOUR * 24, T), State::Running);
        }
    }

    #[test]
    fn stop_and_terminate_settle() {
        let at = datetime!(2024-05-01 10:00:00 UTC);
        assert_eq!(state_at(Action::Stop, at, at, T), State::Stopping);
        assert_eq!(state_at(Action::Stop, at, at + T, T), State::Stopped);
        assert_eq!(state_at(Action::Terminate, at, at, T), State::ShuttingDown);
        assert_eq!(
            state_at(Action::Terminate, at, at + T, T),
            State::Terminated
        );
        assert_eq!(
            [
                State::Pending,
                State::Running,
                State::ShuttingDown,
                State::Terminated,
                State::Stopping,
                State::Stopped
            ]
            .map(State::code),
            [0, 16, 32, 48, 64, 80]
        );
    }

    #[test]
    fn terminated_instances_disappear_after_an_hour() {
        let at = datetime!(2024-05-01 10:00:00 UTC);
        assert!(!expired(Action::Terminate, at, at + T, T, HOUR));
        assert!(!expired(Action::Terminate, at, at + HOUR, T, HOUR));
        assert!(expired(Action::Terminate, at, at + T + HOUR, T, HOUR));
        assert!(!expired(Action::Stop, at, at + HOUR * 48, T, HOUR));
    }

    #[test]
    fn transitions_allowed_per_state() {
        use State::*;
        assert!(allowed(Change::Stop, Running, "i-1").unwrap());
        assert!(!allowed(Change::Stop, Stopped, "i-1").unwrap());
        let e = allowed(Change::Stop, Terminated, "i-1").unwrap_err();
        assert_eq!(e.code, "IncorrectInstanceState");
        assert_eq!(
            e.message,
            "The instance 'i-1' is not in a state from which it can be stopped."
        );
        assert!(allowed(Change::Stop, Pending, "i-1").is_err());
        assert!(allowed(Change::Start, Stopped, "i-1").unwrap());
        assert!(!allowed(Change::Start, Running, "i-1").unwrap());
        assert!(allowed(Change::Start, Stopping, "i-1").is_err());
        assert!(allowed(Change::Start, ShuttingDown, "i-1").is_err());
        assert!(allowed(Change::Terminate, Stopped, "i-1").unwrap());
        assert!(allowed(Change::Terminate, Pending, "i-1").unwrap());
        assert!(!allowed(Change::Terminate, Terminated, "i-1").unwrap());
    }

    #[test]
    fn names_and_ids() {
        assert_eq!(
            public_dns_name("us-west-2", "127.255.1.2"),
            "ec2-127-255-1-2.us-west-2.compute.amazonaws.com"
        );
        assert_eq!(
            public_dns_name("us-east-1", "127.255.1.2"),
            "ec2-127-255-1-2.compute-1.amazonaws.com"
        );
        assert_eq!(
            user_initiated(datetime!(2024-05-01 10:02:03 UTC)),
            "User initiated (2024-05-01 10:02:03 GMT)"
        );
        assert!(check_image_id("ami-12345678").is_ok());
        assert!(check_image_id("ami-0123456789abcdef0").is_ok());
        assert_eq!(
            check_image_id("ami-xyz").unwrap_err().code,
            "InvalidAMIID.Malformed"
        );
        assert!(check_image_id("ami-0123456789ABCDEF0").is_err());
        assert!(check_instance_id("i-0123456789abcdef0").is_ok());
        assert_eq!(
            check_instance_id("i-zz").unwrap_err().code,
            "InvalidInstanceID.Malformed"
        );
        assert_eq!(
            not_found(&["i-1".into(), "i-2".into()]).message,
            "The instance IDs 'i-1, i-2' do not exist"
        );
    }

    #[test]
    fn type_table_is_consistent() {
        assert!(type_info(DEFAULT_TYPE).is_some());
        for (name, cores, threads, _) in TYPES {
            assert!(name.contains('.'));
            assert!(*cores >= 1 && (1..=2).contains(threads));
        }
        assert_eq!(type_info("t3.micro"), Some((1, 2, true)));
        assert_eq!(type_info("x9.huge"), None);
    }
}
