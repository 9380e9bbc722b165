#!/usr/bin/env bash
# What Terraform's aws_vpc, aws_vpc_ipv4_cidr_block_association, aws_default_network_acl, aws_network_acl(+association),
# aws_vpc_dhcp_options(+association), aws_iam_instance_profile and aws_instance read and write, with the real AWS CLI: every call answers
# (no InvalidAction), and two refreshes in a row read the same thing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

start_server

VPC=$(q ec2 create-vpc --cidr-block 10.20.0.0/16 --query Vpc.VpcId)
SUBNET=$(q ec2 create-subnet --vpc-id "$VPC" --cidr-block 10.20.1.0/24 --availability-zone us-west-2a --query Subnet.SubnetId)

# aws_vpc's read: the VPC, three attributes, the default ACL, the main route table, the default group.
refresh() {
    local acl rtb sg attrs
    attrs=$(for a in enableDnsHostnames enableDnsSupport; do
        q ec2 describe-vpc-attribute --vpc-id "$VPC" --attribute "$a" --output json | tr -d ' \n'
    done)
    acl=$(q ec2 describe-network-acls --filters Name=default,Values=true Name=vpc-id,Values="$VPC" \
        --query 'NetworkAcls[0].[NetworkAclId,Associations[0].SubnetId]' | paste -sd ' ')
    rtb=$(q ec2 describe-route-tables --filters Name=association.main,Values=true Name=vpc-id,Values="$VPC" \
        --query 'RouteTables[0].RouteTableId')
    sg=$(q ec2 describe-security-groups --filters Name=group-name,Values=default Name=vpc-id,Values="$VPC" \
        --query 'SecurityGroups[0].GroupId')
    echo "$(q ec2 describe-vpcs --vpc-ids "$VPC" --query 'Vpcs[0].[VpcId,DhcpOptionsId]' | paste -sd ' ') | $attrs | $acl | $rtb | $sg"
}
FIRST=$(refresh)
check_match "aws_vpc refresh: default ACL with the subnet, main route table, default group" \
    "^$VPC dopt-[0-9a-f]{17} \| .* \| acl-[0-9a-f]{17} $SUBNET \| rtb-[0-9a-f]{17} \| sg-[0-9a-f]{17}$" "$FIRST"
check_eq "a second refresh reads the same" "$FIRST" "$(refresh)"

# Older providers' aws_vpc read: ClassicLink, retired, is off for every VPC.
check_eq "ClassicLink and its DNS support are off" "false false" \
    "$(q ec2 describe-vpc-classic-link --vpc-ids "$VPC" --query 'Vpcs[0].ClassicLinkEnabled') $(q ec2 describe-vpc-classic-link-dns-support --vpc-ids "$VPC" --query 'Vpcs[0].ClassicLinkDnsSupported')"
expect_error "ClassicLink of an unknown VPC" InvalidVpcID.NotFound ec2 describe-vpc-classic-link --vpc-ids vpc-0123456789abcdef0

# Attributes that must stick (a perpetual diff otherwise).
q ec2 modify-vpc-attribute --vpc-id "$VPC" --enable-network-address-usage-metrics >/dev/null
check_eq "EnableNetworkAddressUsageMetrics sticks" "true" \
    "$(q ec2 describe-vpc-attribute --vpc-id "$VPC" --attribute enableNetworkAddressUsageMetrics --query EnableNetworkAddressUsageMetrics.Value)"
q ec2 modify-subnet-attribute --subnet-id "$SUBNET" --private-dns-hostname-type-on-launch resource-name >/dev/null
q ec2 modify-subnet-attribute --subnet-id "$SUBNET" --enable-resource-name-dns-a-record-on-launch >/dev/null
q ec2 modify-subnet-attribute --subnet-id "$SUBNET" --enable-dns64 >/dev/null
check_eq "the subnet's launch settings stick" "resource-name true true" \
    "$(q ec2 describe-subnets --subnet-ids "$SUBNET" --query "Subnets[0].join(' ', [PrivateDnsNameOptionsOnLaunch.HostnameType, to_string(PrivateDnsNameOptionsOnLaunch.EnableResourceNameDnsARecord), to_string(EnableDns64)])")"
expect_error "an unknown hostname type" InvalidParameterValue ec2 modify-subnet-attribute --subnet-id "$SUBNET" --private-dns-hostname-type-on-launch fancy-name
expect_error "IPv6 addresses on an IPv4-only subnet" InvalidParameterValue ec2 modify-subnet-attribute --subnet-id "$SUBNET" --assign-ipv6-address-on-creation

# aws_default_network_acl adopts the default ACL: removes its rules, writes its own.
ACL=$(q ec2 describe-network-acls --filters Name=default,Values=true Name=vpc-id,Values="$VPC" --query 'NetworkAcls[0].NetworkAclId')
for dir in --ingress --egress; do
    q ec2 delete-network-acl-entry --network-acl-id "$ACL" --rule-number 100 "$dir" >/dev/null
done
q ec2 create-network-acl-entry --network-acl-id "$ACL" --rule-number 100 --ingress --protocol tcp \
    --port-range From=443,To=443 --cidr-block 10.20.0.0/16 --rule-action allow >/dev/null
check_eq "the default ACL's entries: egress deny-all, then ingress tcp/443 and deny-all" \
    "true/32767/deny/-1 false/100/allow/6 false/32767/deny/-1" \
    "$(q ec2 describe-network-acls --network-acl-ids "$ACL" --query "NetworkAcls[0].Entries[].join('/', [to_string(Egress), to_string(RuleNumber), RuleAction, Protocol])" | paste -sd ' ')"
expect_error "a rule number taken" NetworkAclEntryAlreadyExists ec2 create-network-acl-entry \
    --network-acl-id "$ACL" --rule-number 100 --ingress --protocol -1 --cidr-block 0.0.0.0/0 --rule-action deny
expect_error "the default ACL cannot be deleted" InvalidParameterValue ec2 delete-network-acl --network-acl-id "$ACL"
expect_error "an unknown ACL" InvalidNetworkAclID.NotFound ec2 describe-network-acls --network-acl-ids acl-0123456789abcdef0

# aws_network_acl with subnet_ids: a custom ACL takes the subnet over.
CUSTOM=$(q ec2 create-network-acl --vpc-id "$VPC" --tag-specifications 'ResourceType=network-acl,Tags=[{Key=Name,Value=private}]' --query NetworkAcl.NetworkAclId)
ASSOC=$(q ec2 describe-network-acls --filters Name=association.subnet-id,Values="$SUBNET" --query 'NetworkAcls[0].Associations[?SubnetId==`'"$SUBNET"'`].NetworkAclAssociationId | [0]')
NEW=$(q ec2 replace-network-acl-association --association-id "$ASSOC" --network-acl-id "$CUSTOM" --query NewAssociationId)
check_match "replace-network-acl-association answers a new association" '^aclassoc-[0-9a-f]{17}$' "$NEW"
check_eq "the subnet is now the custom ACL's" "$CUSTOM" \
    "$(q ec2 describe-network-acls --filters Name=association.subnet-id,Values="$SUBNET" --query 'NetworkAcls[0].NetworkAclId')"
check_eq "the custom ACL's tag" "private" \
    "$(q ec2 describe-tags --filters Name=resource-id,Values="$CUSTOM" --query 'Tags[0].Value')"
expect_error "an ACL in use cannot be deleted" DependencyViolation ec2 delete-network-acl --network-acl-id "$CUSTOM"

# aws_vpc_dhcp_options(+association).
DOPT=$(q ec2 create-dhcp-options --dhcp-configurations Key=domain-name,Values=corp.example Key=domain-name-servers,Values=AmazonProvidedDNS --query DhcpOptions.DhcpOptionsId)
q ec2 create-tags --resources "$DOPT" --tags Key=Name,Value=corp >/dev/null
q ec2 associate-dhcp-options --dhcp-options-id "$DOPT" --vpc-id "$VPC" >/dev/null
check_eq "the VPC uses the new option set" "$DOPT" "$(q ec2 describe-vpcs --vpc-ids "$VPC" --query 'Vpcs[0].DhcpOptionsId')"
check_eq "the option set as described" "domain-name corp.example domain-name-servers AmazonProvidedDNS corp" \
    "$(q ec2 describe-dhcp-options --dhcp-options-ids "$DOPT" --query "DhcpOptions[0].[join(' ', DhcpConfigurations[].join(' ', [Key, Values[0].Value])), Tags[0].Value]" | paste -sd ' ')"
expect_error "an option set in use cannot be deleted" DependencyViolation ec2 delete-dhcp-options --dhcp-options-id "$DOPT"
q ec2 associate-dhcp-options --dhcp-options-id default --vpc-id "$VPC" >/dev/null
q ec2 delete-dhcp-options --dhcp-options-id "$DOPT" >/dev/null
expect_error "a deleted option set is gone" InvalidDhcpOptionID.NotFound ec2 describe-dhcp-options --dhcp-options-ids "$DOPT"

# aws_iam_role + aws_iam_instance_profile, as a bastion's template makes them.
q iam create-role --role-name bastion --assume-role-policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}' >/dev/null
PROFILE_ARN=$(q iam create-instance-profile --instance-profile-name bastion --query InstanceProfile.Arn)
q iam add-role-to-instance-profile --instance-profile-name bastion --role-name bastion >/dev/null
check_eq "the profile holds the role" "bastion" \
    "$(q iam get-instance-profile --instance-profile-name bastion --query 'InstanceProfile.Roles[0].RoleName')"
check_eq "and is listed for it" "$PROFILE_ARN" \
    "$(q iam list-instance-profiles-for-role --role-name bastion --query 'InstanceProfiles[0].Arn')"
expect_error "a second role" LimitExceeded iam add-role-to-instance-profile --instance-profile-name bastion --role-name bastion
expect_error "a role in a profile cannot be deleted" DeleteConflict iam delete-role --role-name bastion
q iam update-role --role-name bastion --description "bastion host" --max-session-duration 7200 >/dev/null
check_eq "update-role: description and session length" "bastion host 7200" \
    "$(q iam get-role --role-name bastion --query "Role.join(' ', [Description, to_string(MaxSessionDuration)])")"

# aws_instance: what its read and delete call besides DescribeInstances.
expect_error "an unknown instance profile" InvalidParameterValue ec2 run-instances --image-id ami-0123456789abcdef0 \
    --subnet-id "$SUBNET" --iam-instance-profile Name=nope
INSTANCE=$(q ec2 run-instances --image-id ami-0123456789abcdef0 --instance-type t3.micro --subnet-id "$SUBNET" \
    --disable-api-termination --iam-instance-profile Name=bastion --query 'Instances[0].InstanceId')
check_eq "the instance runs with the profile" "$PROFILE_ARN" \
    "$(q ec2 describe-instances --instance-ids "$INSTANCE" --query 'Reservations[0].Instances[0].IamInstanceProfile.Arn')"
# The rest of aws_instance's read: its type, and a burstable type's CPU credits.
check_eq "describe-instance-types: t3.micro is burstable, 2 vCPUs, 1 GiB" "true 2 1024" \
    "$(q ec2 describe-instance-types --instance-types t3.micro --query "InstanceTypes[0].join(' ', [to_string(BurstablePerformanceSupported), to_string(VCpuInfo.DefaultVCpus), to_string(MemoryInfo.SizeInMiB)])")"
check_eq "describe-instance-credit-specifications: unlimited by default" "unlimited" \
    "$(q ec2 describe-instance-credit-specifications --instance-ids "$INSTANCE" --query 'InstanceCreditSpecifications[0].CpuCredits')"
q ec2 modify-instance-credit-specification --instance-credit-specification "InstanceId=$INSTANCE,CpuCredits=standard" >/dev/null
check_eq "... and as modified" "standard" \
    "$(q ec2 describe-instance-credit-specifications --instance-ids "$INSTANCE" --query 'InstanceCreditSpecifications[0].CpuCredits')"
q ec2 monitor-instances --instance-ids "$INSTANCE" >/dev/null
q ec2 modify-instance-metadata-options --instance-id "$INSTANCE" --http-tokens optional --http-put-response-hop-limit 1 >/dev/null
check_eq "monitoring and metadata options as changed" "enabled optional 1" \
    "$(q ec2 describe-instances --instance-ids "$INSTANCE" --query "Reservations[0].Instances[0].join(' ', [Monitoring.State, MetadataOptions.HttpTokens, to_string(MetadataOptions.HttpPutResponseHopLimit)])")"
check_match "its association, as the update path reads it" "^iip-assoc-[0-9a-f]{17} associated$" \
    "$(q ec2 describe-iam-instance-profile-associations --filters Name=instance-id,Values="$INSTANCE" --query "IamInstanceProfileAssociations[0].join(' ', [AssociationId, State])")"
check_eq "termination protection as set at launch" "true" \
    "$(q ec2 describe-instance-attribute --instance-id "$INSTANCE" --attribute disableApiTermination --query DisableApiTermination.Value)"
check_eq "shutdown behaviour and stop protection defaults" "stop false" \
    "$(q ec2 describe-instance-attribute --instance-id "$INSTANCE" --attribute instanceInitiatedShutdownBehavior --query InstanceInitiatedShutdownBehavior.Value) $(q ec2 describe-instance-attribute --instance-id "$INSTANCE" --attribute disableApiStop --query DisableApiStop.Value)"
expect_error "a protected instance is not terminated" OperationNotPermitted ec2 terminate-instances --instance-ids "$INSTANCE"
expect_error "two attributes in one call" InvalidParameterCombination ec2 modify-instance-attribute --instance-id "$INSTANCE" \
    --source-dest-check '{"Value": false}' --disable-api-termination '{"Value": false}'
# vpc_security_group_ids and source_dest_check change through the primary interface.
ENI=$(q ec2 describe-instances --instance-ids "$INSTANCE" --query 'Reservations[0].Instances[0].NetworkInterfaces[0].NetworkInterfaceId')
WEB_SG=$(q ec2 create-security-group --group-name web --description web --vpc-id "$VPC" --query GroupId)
q ec2 modify-network-interface-attribute --network-interface-id "$ENI" --groups "$WEB_SG" >/dev/null
q ec2 modify-instance-attribute --instance-id "$INSTANCE" --no-source-dest-check >/dev/null
check_eq "the instance's groups and source/destination check, as the interface shows them" "$WEB_SG false" \
    "$(q ec2 describe-network-interfaces --network-interface-ids "$ENI" --query "NetworkInterfaces[0].join(' ', [Groups[0].GroupId, to_string(SourceDestCheck)])")"
check_eq "and as the instance shows them" "$WEB_SG false" \
    "$(q ec2 describe-instances --instance-ids "$INSTANCE" --query "Reservations[0].Instances[0].join(' ', [SecurityGroups[0].GroupId, to_string(SourceDestCheck)])")"
VOLUME=$(q ec2 describe-instances --instance-ids "$INSTANCE" --query 'Reservations[0].Instances[0].BlockDeviceMappings[0].Ebs.VolumeId')
check_eq "the root volume as DescribeVolumes shows it" "$INSTANCE /dev/xvda gp3 8 in-use" \
    "$(q ec2 describe-volumes --volume-ids "$VOLUME" --query "Volumes[0].join(' ', [Attachments[0].InstanceId, Attachments[0].Device, VolumeType, to_string(Size), State])")"
# aws_eip + aws_eip_association on the instance (the VPC needs an internet gateway first).
ALLOC=$(q ec2 allocate-address --domain vpc --query AllocationId)
expect_error "an Elastic IP needs an internet gateway" Gateway.NotAttached ec2 associate-address --allocation-id "$ALLOC" --instance-id "$INSTANCE"
IGW=$(q ec2 create-internet-gateway --query InternetGateway.InternetGatewayId)
q ec2 attach-internet-gateway --internet-gateway-id "$IGW" --vpc-id "$VPC" >/dev/null
ASSOC=$(q ec2 associate-address --allocation-id "$ALLOC" --instance-id "$INSTANCE" --query AssociationId)
check_match "associate-address answers an association" '^eipassoc-[0-9a-f]{17}$' "$ASSOC"
check_eq "the instance and the address name each other" \
    "$(q ec2 describe-addresses --allocation-ids "$ALLOC" --query 'Addresses[0].PublicIp') $INSTANCE" \
    "$(q ec2 describe-instances --instance-ids "$INSTANCE" --query 'Reservations[0].Instances[0].PublicIpAddress') $(q ec2 describe-addresses --allocation-ids "$ALLOC" --query 'Addresses[0].InstanceId')"
q ec2 disassociate-address --association-id "$ASSOC" >/dev/null
expect_error "a gone association" InvalidAssociationID.NotFound ec2 disassociate-address --association-id "$ASSOC"
q ec2 release-address --allocation-id "$ALLOC" >/dev/null
q ec2 detach-internet-gateway --internet-gateway-id "$IGW" --vpc-id "$VPC" >/dev/null
q ec2 delete-internet-gateway --internet-gateway-id "$IGW" >/dev/null
q ec2 modify-instance-attribute --instance-id "$INSTANCE" --no-disable-api-termination >/dev/null
q ec2 terminate-instances --instance-ids "$INSTANCE" >/dev/null
q ec2 wait instance-terminated --instance-ids "$INSTANCE"
check_eq "the root volume went with the instance" "0" \
    "$(q ec2 describe-volumes --filters Name=attachment.instance-id,Values="$INSTANCE" --query 'length(Volumes)')"

check_eq "a terminated instance has no profile association" "0" \
    "$(q ec2 describe-iam-instance-profile-associations --query 'length(IamInstanceProfileAssociations)')"
q iam remove-role-from-instance-profile --instance-profile-name bastion --role-name bastion >/dev/null
q iam delete-instance-profile --instance-profile-name bastion >/dev/null
q iam delete-role --role-name bastion >/dev/null
expect_error "a deleted profile is gone" NoSuchEntity iam get-instance-profile --instance-profile-name bastion

# aws_vpc_ipv4_cidr_block_association: create, its read (the block in the VPC's set by
# association id), a subnet in it, delete (Terraform waits until the association is gone).
ASSOC=$(q ec2 associate-vpc-cidr-block --vpc-id "$VPC" --cidr-block 10.21.0.0/16 --query CidrBlockAssociation.AssociationId)
check_eq "the secondary block's read (its block and state by association id)" "10.21.0.0/16 associated" \
    "$(q ec2 describe-vpcs --vpc-ids "$VPC" --query "Vpcs[0].CidrBlockAssociationSet[?AssociationId=='$ASSOC'] | [0].[CidrBlock,CidrBlockState.State]" | paste -sd ' ')"
check_eq "aws_vpc's cidr_block stays the primary block" "10.20.0.0/16" \
    "$(q ec2 describe-vpcs --vpc-ids "$VPC" --query 'Vpcs[0].CidrBlock')"
expect_error "a block of another RFC 1918 range is restricted" InvalidVpc.Range \
    ec2 associate-vpc-cidr-block --vpc-id "$VPC" --cidr-block 192.168.0.0/16
expect_error "a block overlapping the VPC's is refused" InvalidVpc.Range \
    ec2 associate-vpc-cidr-block --vpc-id "$VPC" --cidr-block 10.21.16.0/20
SUB2=$(q ec2 create-subnet --vpc-id "$VPC" --cidr-block 10.21.1.0/24 --availability-zone us-west-2b --query Subnet.SubnetId)
check_eq "the main table routes the block locally" "local" \
    "$(q ec2 describe-route-tables --filters Name=association.main,Values=true Name=vpc-id,Values="$VPC" --query "RouteTables[0].Routes[?DestinationCidrBlock=='10.21.0.0/16'] | [0].GatewayId")"
expect_error "a block with a subnet in it is not given back" DependencyViolation \
    ec2 disassociate-vpc-cidr-block --association-id "$ASSOC"
q ec2 delete-subnet --subnet-id "$SUB2" >/dev/null
check_eq "then it is" "disassociating" \
    "$(q ec2 disassociate-vpc-cidr-block --association-id "$ASSOC" --query CidrBlockAssociation.CidrBlockState.State)"
check_eq "and the read after the delete finds no association" "0" \
    "$(q ec2 describe-vpcs --vpc-ids "$VPC" --query "length(Vpcs[0].CidrBlockAssociationSet[?AssociationId=='$ASSOC'])")"

# aws_subnet with ipv6_native = true: created, its attributes set and read back, no interface in it.
V6_VPC=$(q ec2 create-vpc --cidr-block 10.22.0.0/16 --amazon-provided-ipv6-cidr-block --query Vpc.VpcId)
V6_BLOCK=$(q ec2 describe-vpcs --vpc-ids "$V6_VPC" --query 'Vpcs[0].Ipv6CidrBlockAssociationSet[0].Ipv6CidrBlock')
V6_SUBNET=$(q ec2 create-subnet --vpc-id "$V6_VPC" --ipv6-native --ipv6-cidr-block "${V6_BLOCK%/56}/64" \
    --availability-zone us-west-2a --query Subnet.SubnetId)
q ec2 modify-subnet-attribute --subnet-id "$V6_SUBNET" --assign-ipv6-address-on-creation >/dev/null
q ec2 modify-subnet-attribute --subnet-id "$V6_SUBNET" --enable-resource-name-dns-aaaa-record-on-launch >/dev/null
check_eq "an IPv6-only subnet reads back: native, no IPv4 block, resource names, AAAA on, assign on" \
    "true null resource-name true true" \
    "$(qj ec2 describe-subnets --subnet-ids "$V6_SUBNET" \
        --query 'Subnets[0].[Ipv6Native,CidrBlock,PrivateDnsNameOptionsOnLaunch.HostnameType,PrivateDnsNameOptionsOnLaunch.EnableResourceNameDnsAAAARecord,AssignIpv6AddressOnCreation]' |
        jv '" ".join(json.dumps(x).strip(chr(34)) for x in d)')"
expect_error "an IPv6-only subnet with an IPv4 block" InvalidParameterCombination \
    ec2 create-subnet --vpc-id "$V6_VPC" --ipv6-native --cidr-block 10.22.1.0/24 --ipv6-cidr-block "${V6_BLOCK%00::/56}01::/64"
expect_error "no interface in an IPv6-only subnet (Airlock's need an IPv4 address)" Unsupported \
    ec2 create-network-interface --subnet-id "$V6_SUBNET"
q ec2 delete-subnet --subnet-id "$V6_SUBNET" >/dev/null
q ec2 delete-vpc --vpc-id "$V6_VPC" >/dev/null

# Tearing down in Terraform's order: subnet, custom ACL, VPC.
q ec2 delete-subnet --subnet-id "$SUBNET" >/dev/null
expect_error "a VPC with a custom ACL cannot be deleted" DependencyViolation ec2 delete-vpc --vpc-id "$VPC"
q ec2 delete-network-acl --network-acl-id "$CUSTOM" >/dev/null
q ec2 delete-security-group --group-id "$WEB_SG" >/dev/null
q ec2 delete-vpc --vpc-id "$VPC" >/dev/null
check_eq "the VPC's ACLs went with it" "0" \
    "$(q ec2 describe-network-acls --filters Name=vpc-id,Values="$VPC" --query 'length(NetworkAcls)')"

finish
