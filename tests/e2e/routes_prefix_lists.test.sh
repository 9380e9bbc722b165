#!/usr/bin/env bash
# What Terraform's aws_eip, aws_route_table_association, aws_main_route_table_association,
# aws_vpc_endpoint (Gateway), data "aws_prefix_list" and aws_ec2_managed_prefix_list read and
# write, with the real AWS CLI.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

start_server

VPC=$(q ec2 create-vpc --cidr-block 10.30.0.0/16 --query Vpc.VpcId)
SUBNET=$(q ec2 create-subnet --vpc-id "$VPC" --cidr-block 10.30.1.0/24 --query Subnet.SubnetId)
MAIN=$(q ec2 describe-route-tables --filters Name=vpc-id,Values="$VPC" Name=association.main,Values=true --query 'RouteTables[0].RouteTableId')
MAIN_ASSOC=$(q ec2 describe-route-tables --route-table-ids "$MAIN" --query 'RouteTables[0].Associations[0].RouteTableAssociationId')

# aws_eip's read: the address's reverse DNS attribute.
ALLOC=$(q ec2 allocate-address --domain vpc --query AllocationId)
check_eq "describe-addresses-attribute: no PTR record yet" "$ALLOC null" \
    "$(q ec2 describe-addresses-attribute --allocation-ids "$ALLOC" --attribute domain-name --query "Addresses[0].join(' ', [AllocationId, to_string(PtrRecord)])")"
check_eq "modify-address-attribute answers the update as pending" "PENDING bastion.example.com." \
    "$(q ec2 modify-address-attribute --allocation-id "$ALLOC" --domain-name bastion.example.com --query "Address.PtrRecordUpdate.join(' ', [Status, Value])")"
check_eq "the PTR record as described" "bastion.example.com." \
    "$(q ec2 describe-addresses-attribute --allocation-ids "$ALLOC" --attribute domain-name --query 'Addresses[0].PtrRecord')"
q ec2 reset-address-attribute --allocation-id "$ALLOC" --attribute domain-name >/dev/null
check_eq "reset-address-attribute removes it" "null" \
    "$(q ec2 describe-addresses-attribute --allocation-ids "$ALLOC" --attribute domain-name --query 'to_string(Addresses[0].PtrRecord)')"
expect_error "an unknown allocation" InvalidAllocationID.NotFound ec2 describe-addresses-attribute --allocation-ids eipalloc-0123456789abcdef0 --attribute domain-name
q ec2 release-address --allocation-id "$ALLOC" >/dev/null

# aws_route_table_association moved to another table; aws_main_route_table_association.
RTB=$(q ec2 create-route-table --vpc-id "$VPC" --query RouteTable.RouteTableId)
RTB2=$(q ec2 create-route-table --vpc-id "$VPC" --query RouteTable.RouteTableId)
ASSOC=$(q ec2 associate-route-table --route-table-id "$RTB" --subnet-id "$SUBNET" --query AssociationId)
NEW=$(q ec2 replace-route-table-association --association-id "$ASSOC" --route-table-id "$RTB2" --query NewAssociationId)
check_match "replace-route-table-association answers a new association" '^rtbassoc-[0-9a-f]{17}$' "$NEW"
check_eq "the subnet is now the second table's" "$RTB2" \
    "$(q ec2 describe-route-tables --filters Name=association.subnet-id,Values="$SUBNET" --query 'RouteTables[0].RouteTableId')"
expect_error "the old association is gone" InvalidAssociationID.NotFound ec2 replace-route-table-association --association-id "$ASSOC" --route-table-id "$RTB"
NEW_MAIN=$(q ec2 replace-route-table-association --association-id "$MAIN_ASSOC" --route-table-id "$RTB" --query NewAssociationId)
check_eq "the main association moved" "$RTB" \
    "$(q ec2 describe-route-tables --filters Name=vpc-id,Values="$VPC" Name=association.main,Values=true --query 'RouteTables[0].RouteTableId')"
q ec2 replace-route-table-association --association-id "$NEW_MAIN" --route-table-id "$MAIN" >/dev/null

# aws_route_table_association with gateway_id: an edge association of the VPC's internet gateway.
IGW=$(q ec2 create-internet-gateway --query InternetGateway.InternetGatewayId)
expect_error "a gateway not attached to the table's VPC" Gateway.NotAttached ec2 associate-route-table --route-table-id "$RTB" --gateway-id "$IGW"
q ec2 attach-internet-gateway --internet-gateway-id "$IGW" --vpc-id "$VPC" >/dev/null
EDGE=$(q ec2 associate-route-table --route-table-id "$RTB" --gateway-id "$IGW" --query AssociationId)
check_match "associate-route-table --gateway-id answers an association" '^rtbassoc-[0-9a-f]{17}$' "$EDGE"
check_eq "describe-route-tables shows the edge association" "$EDGE $IGW false associated" \
    "$(q ec2 describe-route-tables --filters Name=association.gateway-id,Values="$IGW" --query "RouteTables[0].Associations[?GatewayId=='$IGW'] | [0].join(' ', [RouteTableAssociationId, GatewayId, to_string(Main), AssociationState.State])")"
expect_error "a gateway has one table" Resource.AlreadyAssociated ec2 associate-route-table --route-table-id "$RTB2" --gateway-id "$IGW"
expect_error "a subnet and a gateway at once" InvalidParameterCombination ec2 associate-route-table --route-table-id "$RTB2" --gateway-id "$IGW" --subnet-id "$SUBNET"
expect_error "neither a subnet nor a gateway" MissingParameter ec2 associate-route-table --route-table-id "$RTB2"
expect_error "an unknown internet gateway" InvalidInternetGatewayID.NotFound ec2 associate-route-table --route-table-id "$RTB2" --gateway-id igw-0123456789abcdef0
expect_error "virtual private gateways are not emulated" InvalidVpnGatewayID.NotFound ec2 associate-route-table --route-table-id "$RTB2" --gateway-id vgw-0123456789abcdef0
expect_error "the gateway cannot be detached while associated" DependencyViolation ec2 detach-internet-gateway --internet-gateway-id "$IGW" --vpc-id "$VPC"
EDGE2=$(q ec2 replace-route-table-association --association-id "$EDGE" --route-table-id "$RTB2" --query NewAssociationId)
check_eq "replace-route-table-association moves the gateway" "$RTB2" \
    "$(q ec2 describe-route-tables --filters Name=association.gateway-id,Values="$IGW" --query 'RouteTables[0].RouteTableId')"
q ec2 disassociate-route-table --association-id "$EDGE2" >/dev/null
check_eq "disassociate-route-table ends it" "0" \
    "$(q ec2 describe-route-tables --filters Name=association.gateway-id,Values="$IGW" --query 'length(RouteTables)')"
q ec2 detach-internet-gateway --internet-gateway-id "$IGW" --vpc-id "$VPC" >/dev/null
q ec2 delete-internet-gateway --internet-gateway-id "$IGW" >/dev/null

# A gateway endpoint and AWS's prefix list it routes to.
PL=$(q ec2 describe-prefix-lists --filters Name=prefix-list-name,Values=com.amazonaws.us-west-2.s3 --query 'PrefixLists[0].PrefixListId')
check_eq "S3's prefix list in us-west-2" "pl-68a54001" "$PL"
VPCE=$(q ec2 create-vpc-endpoint --vpc-id "$VPC" --service-name com.amazonaws.us-west-2.s3 --route-table-ids "$RTB" --query VpcEndpoint.VpcEndpointId)
check_eq "the endpoint's route to the prefix list" "$VPCE" \
    "$(q ec2 describe-route-tables --route-table-ids "$RTB" --query "RouteTables[0].Routes[?DestinationPrefixListId=='$PL'].GatewayId | [0]")"
expect_error "a second S3 gateway endpoint on the same table" RouteAlreadyExists \
    ec2 create-vpc-endpoint --vpc-id "$VPC" --service-name com.amazonaws.us-west-2.s3 --route-table-ids "$RTB"
check_eq "DescribeManagedPrefixLists shows AWS's list as AWS's" "AWS" \
    "$(q ec2 describe-managed-prefix-lists --prefix-list-ids "$PL" --query 'PrefixLists[0].OwnerId')"
q ec2 delete-vpc-endpoints --vpc-endpoint-ids "$VPCE" >/dev/null

# aws_ec2_managed_prefix_list: versions, entries, use in a rule, deletion.
OWN=$(q ec2 create-managed-prefix-list --prefix-list-name office --address-family IPv4 --max-entries 5 \
    --entries Cidr=203.0.113.0/24,Description=hq --tag-specifications 'ResourceType=prefix-list,Tags=[{Key=Name,Value=office}]' \
    --query PrefixList.PrefixListId)
check_match "create-managed-prefix-list" '^pl-[0-9a-f]{17}$' "$OWN"
check_eq "described: version 1, complete, tagged" "1 create-complete office" \
    "$(q ec2 describe-managed-prefix-lists --prefix-list-ids "$OWN" --query "PrefixLists[0].join(' ', [to_string(Version), State, Tags[0].Value])")"
q ec2 modify-managed-prefix-list --prefix-list-id "$OWN" --current-version 1 --add-entries Cidr=198.51.100.0/24,Description=branch >/dev/null
check_eq "version 2 has both entries" "198.51.100.0/24 203.0.113.0/24" \
    "$(q ec2 get-managed-prefix-list-entries --prefix-list-id "$OWN" --query "join(' ', sort(Entries[].Cidr))")"
check_eq "version 1 had one" "203.0.113.0/24" \
    "$(q ec2 get-managed-prefix-list-entries --prefix-list-id "$OWN" --target-version 1 --query "join(' ', Entries[].Cidr)")"
expect_error "a stale version" PrefixListVersionMismatch ec2 modify-managed-prefix-list --prefix-list-id "$OWN" --current-version 1 --remove-entries Cidr=203.0.113.0/24
SG=$(q ec2 create-security-group --group-name office --description office --vpc-id "$VPC" --query GroupId)
q ec2 authorize-security-group-ingress --group-id "$SG" --ip-permissions "IpProtocol=tcp,FromPort=22,ToPort=22,PrefixListIds=[{PrefixListId=$OWN}]" >/dev/null
expect_error "a list in use cannot be deleted" PrefixListInUse ec2 delete-managed-prefix-list --prefix-list-id "$OWN"
q ec2 delete-security-group --group-id "$SG" >/dev/null
check_eq "deletion in progress" "delete-in-progress" "$(q ec2 delete-managed-prefix-list --prefix-list-id "$OWN" --query PrefixList.State)"
expect_error "a deleted list" InvalidPrefixListID.NotFound ec2 describe-managed-prefix-lists --prefix-list-ids "$OWN"

finish
