//! DescribeInstances: what a read shows of an instance (its state at the time of the read, its
//! interfaces and groups), and the filters over it.

use super::*;
pub(super) struct Snapshot {
    pub(super) instances: Vec<Arc<Instance>>,
    pub(super) enis: HashMap<String, Arc<eni::NetworkInterface>>,
    pub(super) groups: Vec<Arc<sg::SecurityGroup>>,
    pub(super) vpcs: HashMap<String, Arc<vpc::Vpc>>,
}

impl Snapshot {
    pub(super) fn take(v: &View<'_>, scope: &Scope) -> Snapshot {
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

    pub(super) fn seen<'a>(&'a self, i: &'a Instance, state: State) -> Seen<'a> {
        let eni = self
            .enis
            .get(&i.eni_id)
            .map(Arc::as_ref)
            .filter(|e| e.attachment.as_ref().is_some_and(|a| a.instance_id == i.id));
        let mut extra: Vec<&eni::NetworkInterface> = self
            .enis
            .values()
            .filter(|e| {
                e.id != i.eni_id && e.attachment.as_ref().is_some_and(|a| a.instance_id == i.id)
            })
            .map(Arc::as_ref)
            .collect();
        extra.sort_by_key(|e| e.attachment.as_ref().map(|a| a.device_index));
        Seen {
            i,
            state,
            eni,
            extra,
            groups: &self.groups,
            dns_hostnames: self.vpcs.get(&i.vpc_id).is_some_and(|v| v.dns_hostnames),
        }
    }
}

/// An instance as a read sees it: its state now and its attached interface.
pub(super) struct Seen<'a> {
    pub(super) i: &'a Instance,
    pub(super) state: State,
    pub(super) eni: Option<&'a eni::NetworkInterface>,
    /// Interfaces attached later (AttachNetworkInterface), by device index.
    pub(super) extra: Vec<&'a eni::NetworkInterface>,
    pub(super) groups: &'a [Arc<sg::SecurityGroup>],
    pub(super) dns_hostnames: bool,
}

impl Seen<'_> {
    pub(super) fn terminated(&self) -> bool {
        self.state == State::Terminated
    }

    pub(super) fn public_ip(&self) -> Option<&str> {
        if self.terminated() {
            return None;
        }
        self.eni.and_then(|e| e.public_ip.as_deref())
    }

    pub(super) fn public_dns_name(&self) -> String {
        match self.public_ip() {
            Some(ip) if self.dns_hostnames => public_dns_name(&self.i.region, ip),
            _ => String::new(),
        }
    }

    pub(super) fn private_dns_name(&self) -> String {
        if self.terminated() {
            String::new()
        } else {
            vpc::private_dns_name(&self.i.region, self.i.private_ip)
        }
    }

    pub(super) fn group_ids(&self) -> Vec<String> {
        if self.terminated() {
            return Vec::new();
        }
        match self.eni {
            Some(e) => e.groups.clone(),
            None => self.i.groups.clone(),
        }
    }

    pub(super) fn group_names(&self) -> Vec<String> {
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

    pub(super) fn eni_json(&self, e: &eni::NetworkInterface) -> Value {
        let association = e.public_ip.as_ref().map(|ip| {
            let owner = if e.allocation_id.is_some() {
                self.i.owner.as_str()
            } else {
                "amazon"
            };
            json!({"IpOwnerId": owner, "PublicDnsName": self.public_dns_name(), "PublicIp": ip})
        });
        let mut v = json!({
            "Description": e.description, "Groups": sg::identifiers(self.groups, &e.groups),
            "Ipv6Addresses": crate::ec2::ipv6::addresses_json(e), "MacAddress": e.mac, "NetworkInterfaceId": e.id, "OwnerId": e.owner,
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
        if let Some(a) = &association {
            v["Association"] = a.clone();
        }
        v["PrivateIpAddresses"] = e.private_ips_json(association);
        v
    }

    pub(super) fn json(&self) -> Value {
        let i = self.i;
        let (cores, threads, nitro) = type_info(&i.instance_type).unwrap_or((1, 1, false));
        let stopped_by_user = matches!(
            self.state,
            State::Stopping | State::Stopped | State::ShuttingDown | State::Terminated
        );
        let block_devices = if self.terminated() {
            json!([])
        } else {
            json!([{"DeviceName": super::attributes::ROOT_DEVICE, "Ebs": {
                "AttachTime": crate::iso(i.created), "DeleteOnTermination": i.settings.root_delete_on_termination,
                "Status": "attached", "VolumeId": i.volume_id,
            }}])
        };
        let interfaces: Vec<Value> = self
            .eni
            .iter()
            .chain(&self.extra)
            .map(|e| self.eni_json(e))
            .collect();
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
            "SourceDestCheck": self.eni.is_none_or(|e| e.source_dest_check()), "VirtualizationType": "hvm",
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
            v["PrivateIpAddress"] = json!(super::super::cidr::ip_str(i.private_ip));
        }
        if let Some(k) = &i.key_name {
            v["KeyName"] = json!(k);
        }
        if let Some(p) = i.profile.as_ref().filter(|_| !self.terminated()) {
            v["IamInstanceProfile"] = p.json();
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
            "private-ip-address" => live(&super::super::cidr::ip_str(i.private_ip)),
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

pub fn describe_instances(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    input::dry_run(input)?;
    let ids = input::strs(input, "InstanceIds");
    for id in &ids {
        check_instance_id(id)?;
    }
    let filters = common::filters(input);
    let scope = ctx.scope();
    let snap = ctx.store.read(|v| Snapshot::take(v, &scope));
    let visible: Vec<&Instance> = snap
        .instances
        .iter()
        .map(Arc::as_ref)
        .filter(|i| !i.is_expired(ctx.clock))
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
        let seen = snap.seen(i, i.state(ctx.clock));
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
    Ok(common::listed("Reservations", reservations, next))
}
