#!/usr/bin/env bash
# The MWAA network of the spec (aws-behaviour.md §4.3, the MWAA CloudFormation template), built
# step by step with the AWS CLI as a user would, then an interface VPC endpoint for the MWAA API
# in the two private subnets, checked the way the seed procedure looks at it (§2.2, §2.3, §7).
#
# Each CLI call costs ~0.7 s of Python start-up, so independent calls run two or more at a time
# (`par`) and most checks read several values out of one describe call.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

start_server --time-scale 0.01

# --- VPC ------------------------------------------------------------------------------------------
VPC=$(q ec2 create-vpc --cidr-block 10.192.0.0/16 \
    --tag-specifications 'ResourceType=vpc,Tags=[{Key=Name,Value=mwaa-vpc}]' --query Vpc.VpcId)
check_match "create-vpc returns a vpc- id" '^vpc-[0-9a-f]{17}$' "$VPC"
expect_ok "modify-vpc-attribute --enable-dns-hostnames" \
    ec2 modify-vpc-attribute --vpc-id "$VPC" --enable-dns-hostnames '{"Value":true}'

# --- Subnets, internet gateway, route table, elastic IPs (all independent) ----------------------------
mk_subnet() { # CIDR AZ NAME
    q ec2 create-subnet --vpc-id "$VPC" --cidr-block "$1" --availability-zone "$2" \
        --tag-specifications "ResourceType=subnet,Tags=[{Key=Name,Value=$3}]" \
        --query 'Subnet.[SubnetId,AvailableIpAddressCount]' | paste -sd ' '
}
par dnsattr q ec2 describe-vpc-attribute --vpc-id "$VPC" --attribute enableDnsHostnames --query EnableDnsHostnames.Value
par pub1 mk_subnet 10.192.10.0/24 us-west-2a mwaa-public-1
par pub2 mk_subnet 10.192.11.0/24 us-west-2b mwaa-public-2
par priv1 mk_subnet 10.192.20.0/24 us-west-2a mwaa-private-1
par priv2 mk_subnet 10.192.21.0/24 us-west-2b mwaa-private-2
par igw q ec2 create-internet-gateway --query InternetGateway.InternetGatewayId
par pubrt q ec2 create-route-table --vpc-id "$VPC" --query RouteTable.RouteTableId
par eip1 q ec2 allocate-address --domain vpc --query AllocationId
par eip2 q ec2 allocate-address --domain vpc --query AllocationId
par_wait
check_eq "create-subnet: each fresh /24 has 251 free addresses" "251 251 251 251" \
    "$(for s in pub1 pub2 priv1 priv2; do par_out $s | cut -d' ' -f2; done | paste -sd ' ')"
PUB1=$(par_out pub1 | cut -d' ' -f1) PUB2=$(par_out pub2 | cut -d' ' -f1)
PRIV1=$(par_out priv1 | cut -d' ' -f1) PRIV2=$(par_out priv2 | cut -d' ' -f1)
IGW=$(par_out igw) PUBRT=$(par_out pubrt) EIP1=$(par_out eip1) EIP2=$(par_out eip2)
check_eq "describe-vpc-attribute: enableDnsHostnames is now on" "true" "$(par_out dnsattr)"
check_match "create-subnet returns subnet- ids" \
    '^subnet-[0-9a-f]{17} subnet-[0-9a-f]{17} subnet-[0-9a-f]{17} subnet-[0-9a-f]{17}$' "$PUB1 $PUB2 $PRIV1 $PRIV2"
check_match "create-internet-gateway returns an igw- id" '^igw-[0-9a-f]{17}$' "$IGW"
check_match "create-route-table returns an rtb- id" '^rtb-[0-9a-f]{17}$' "$PUBRT"
check_match "allocate-address returns eipalloc- ids" '^eipalloc-[0-9a-f]{17} eipalloc-[0-9a-f]{17}$' "$EIP1 $EIP2"

expect_ok "attach-internet-gateway" ec2 attach-internet-gateway --internet-gateway-id "$IGW" --vpc-id "$VPC"

# --- Public routing and the NAT gateways (one per AZ, as in the MWAA template) -------------------------
par route q ec2 create-route --route-table-id "$PUBRT" --destination-cidr-block 0.0.0.0/0 --gateway-id "$IGW" --query Return
par assoc1 q ec2 associate-route-table --route-table-id "$PUBRT" --subnet-id "$PUB1" --query AssociationId
par assoc2 q ec2 associate-route-table --route-table-id "$PUBRT" --subnet-id "$PUB2" --query AssociationId
par igws qj ec2 describe-internet-gateways --filters "Name=attachment.vpc-id,Values=$VPC"
par nat1 qj ec2 create-nat-gateway --subnet-id "$PUB1" --allocation-id "$EIP1" \
    --tag-specifications 'ResourceType=natgateway,Tags=[{Key=Name,Value=mwaa-nat-1}]'
par nat2 q ec2 create-nat-gateway --subnet-id "$PUB2" --allocation-id "$EIP2" --query NatGateway.NatGatewayId
par_wait
check_eq "create-route 0.0.0.0/0 -> igw" "true" "$(par_out route)"
check_match "associate the public route table with both public subnets" '^rtbassoc-[0-9a-f]{17} rtbassoc-[0-9a-f]{17}$' \
    "$(par_out assoc1) $(par_out assoc2)"
check_eq "describe-internet-gateways --filters attachment.vpc-id: the gateway, attached (state available)" \
    "$IGW $VPC available" \
    "$(J "$(par_out igws)" '" ".join(x for g in d["InternetGateways"] for x in [g["InternetGatewayId"], g["Attachments"][0]["VpcId"], g["Attachments"][0]["State"]])')"
NAT1=$(J "$(par_out nat1)" 'd["NatGateway"]["NatGatewayId"]')
NAT2=$(par_out nat2)
check_match "create-nat-gateway returns nat- ids" '^nat-[0-9a-f]{17} nat-[0-9a-f]{17}$' "$NAT1 $NAT2"
check_eq "the new NAT gateway is pending" "pending" "$(J "$(par_out nat1)" 'd["NatGateway"]["State"]')"

# --- While the NAT gateways come up: private route tables and the security group ----------------------
par privrt1 q ec2 create-route-table --vpc-id "$VPC" --query RouteTable.RouteTableId
par privrt2 q ec2 create-route-table --vpc-id "$VPC" --query RouteTable.RouteTableId
par sg q ec2 create-security-group --group-name mwaa-vpc-security-group \
    --description "MWAA environment security group" --vpc-id "$VPC" --query GroupId
par subnets qj ec2 describe-subnets --filters "Name=vpc-id,Values=$VPC"
par_wait
# "<cidr> <az> <az id> <free> <id>" per subnet, sorted by CIDR.
subnet_rows() {
    J "$1" '"\n".join(" ".join(str(x) for x in (s["CidrBlock"], s["AvailabilityZone"], s["AvailabilityZoneId"], s["AvailableIpAddressCount"], s["SubnetId"])) for s in sorted(d["Subnets"], key=lambda s: s["CidrBlock"]))'
}
check_eq "describe-subnets: the four subnets; each NAT gateway's ENI took an address of its public subnet" \
    "10.192.10.0/24 us-west-2a usw2-az1 250 $PUB1
10.192.11.0/24 us-west-2b usw2-az2 250 $PUB2
10.192.20.0/24 us-west-2a usw2-az1 251 $PRIV1
10.192.21.0/24 us-west-2b usw2-az2 251 $PRIV2" "$(subnet_rows "$(par_out subnets)")"
check_eq "subnet ARN" "arn:aws:ec2:us-west-2:000000000000:subnet/$PRIV1" \
    "$(J "$(par_out subnets)" '[s["SubnetArn"] for s in d["Subnets"] if s["SubnetId"] == "'"$PRIV1"'"]')"
PRIVRT1=$(par_out privrt1) PRIVRT2=$(par_out privrt2) SG=$(par_out sg)
check_match "create-route-table (private) returns rtb- ids" '^rtb-[0-9a-f]{17} rtb-[0-9a-f]{17}$' "$PRIVRT1 $PRIVRT2"
check_match "create-security-group returns an sg- id" '^sg-[0-9a-f]{17}$' "$SG"

par authorize qj ec2 authorize-security-group-ingress --group-id "$SG" \
    --ip-permissions "IpProtocol=-1,UserIdGroupPairs=[{GroupId=$SG}]"
par passoc1 q ec2 associate-route-table --route-table-id "$PRIVRT1" --subnet-id "$PRIV1" --query AssociationId
par passoc2 q ec2 associate-route-table --route-table-id "$PRIVRT2" --subnet-id "$PRIV2" --query AssociationId
par_wait
AUTH=$(par_out authorize)
check_eq "authorize the self-referencing all-traffic ingress rule" "true" "$(J "$AUTH" 'd["Return"]')"
check_match "the rule has an sgr- id and references the group" "^sgr-[0-9a-f]{17} $SG\$" \
    "$(J "$AUTH" 'd["SecurityGroupRules"][0]["SecurityGroupRuleId"] + " " + d["SecurityGroupRules"][0]["ReferencedGroupInfo"]["GroupId"]')"
check_match "associate the private route tables with the private subnets" '^rtbassoc-[0-9a-f]{17} rtbassoc-[0-9a-f]{17}$' \
    "$(par_out passoc1) $(par_out passoc2)"

NATS=
nat_available() {
    NATS=$("$AWS" --output json ec2 describe-nat-gateways --nat-gateway-ids "$NAT1" "$NAT2" 2>/dev/null || true)
    [[ $(J "$NATS" 'sorted(set(n["State"] for n in d["NatGateways"]))') == available ]]
}
poll_until "both NAT gateways become available (time-scale 0.01: ~1.2 s)" 40 0.2 nat_available
NAT1ROW=$(J "$NATS" '[n for n in d["NatGateways"] if n["NatGatewayId"] == "'"$NAT1"'"]')
NATIP=$(J "$NAT1ROW" 'd["NatGatewayAddresses"][0]["PrivateIp"]')
check "the NAT gateway's private IP ($NATIP) is a usable address of 10.192.10.0/24" \
    ip_usable_in_cidr "$NATIP" 10.192.10.0/24
check_eq "the NAT gateway uses its elastic IP, in its subnet and VPC" "$EIP1 $PUB1 $VPC" \
    "$(J "$NAT1ROW" '" ".join([d["NatGatewayAddresses"][0]["AllocationId"], d["SubnetId"], d["VpcId"]])')"

par proute1 q ec2 create-route --route-table-id "$PRIVRT1" --destination-cidr-block 0.0.0.0/0 --nat-gateway-id "$NAT1" --query Return
par proute2 q ec2 create-route --route-table-id "$PRIVRT2" --destination-cidr-block 0.0.0.0/0 --nat-gateway-id "$NAT2" --query Return
# Airlock bug: DescribeNatGateways' filter member is `Filter` (singular) in the EC2 model; Airlock
# reads `Filters`, so the filter is ignored and both gateways come back.
par natfilter q ec2 describe-nat-gateways --filter "Name=subnet-id,Values=$PUB1" --query 'NatGateways[].NatGatewayId'
par_wait
check_eq "create-route 0.0.0.0/0 -> NAT gateway, in both private route tables" "true true" \
    "$(par_out proute1) $(par_out proute2)"
bug nat-gateway-filter check_eq "describe-nat-gateways --filter Name=subnet-id,Values=<public subnet 1> -> only that NAT" \
    "$NAT1" "$(par_out natfilter)"

# describe-route-tables once: every route active, the right targets, the right associations.
par rts qj ec2 describe-route-tables --filters "Name=vpc-id,Values=$VPC"
par sgs qj ec2 describe-security-groups --group-ids "$SG"
par_wait
RTS=$(par_out rts)
routes_of() { # RTB-ID -> "dest target state|..."
    J "$RTS" '"|".join(" ".join([r["DestinationCidrBlock"], r.get("GatewayId") or r.get("NatGatewayId") or "?", r["State"]]) for t in d["RouteTables"] if t["RouteTableId"] == "'"$1"'" for r in t["Routes"])'
}
assocs_of() { # RTB-ID -> subnet ids, sorted
    J "$RTS" '" ".join(sorted(a.get("SubnetId", "main") for t in d["RouteTables"] if t["RouteTableId"] == "'"$1"'" for a in t.get("Associations", [])))'
}
check_eq "public route table: local + 0.0.0.0/0 -> igw, both active" \
    "10.192.0.0/16 local active|0.0.0.0/0 $IGW active" "$(routes_of "$PUBRT")"
check_eq "public route table is associated with both public subnets" \
    "$(printf '%s\n' "$PUB1" "$PUB2" | sort | paste -sd ' ')" "$(assocs_of "$PUBRT")"
check_eq "private route table 1: local + 0.0.0.0/0 -> NAT 1, both active" \
    "10.192.0.0/16 local active|0.0.0.0/0 $NAT1 active" "$(routes_of "$PRIVRT1")"
check_eq "private route table 2: local + 0.0.0.0/0 -> NAT 2, both active" \
    "10.192.0.0/16 local active|0.0.0.0/0 $NAT2 active" "$(routes_of "$PRIVRT2")"
check_eq "private route tables are associated with their subnets" "$PRIV1 $PRIV2" \
    "$(assocs_of "$PRIVRT1") $(assocs_of "$PRIVRT2")"
MAINRT=$(J "$RTS" '[t["RouteTableId"] for t in d["RouteTables"] if any(a.get("Main") for a in t.get("Associations", []))]')
check_eq "the VPC has one main route table, with only the local route" "10.192.0.0/16 local active" \
    "$(routes_of "$MAINRT")"
check_eq "the VPC has four route tables" "4" "$(J "$RTS" 'len(d["RouteTables"])')"
SGS=$(par_out sgs)
check_eq "describe-security-groups: ingress -1 from the group itself" "-1 $SG" \
    "$(J "$SGS" '" ".join([d["SecurityGroups"][0]["IpPermissions"][0]["IpProtocol"], d["SecurityGroups"][0]["IpPermissions"][0]["UserIdGroupPairs"][0]["GroupId"]])')"
check_eq "describe-security-groups: default all-traffic egress to 0.0.0.0/0" "-1 0.0.0.0/0" \
    "$(J "$SGS" '" ".join([d["SecurityGroups"][0]["IpPermissionsEgress"][0]["IpProtocol"], d["SecurityGroups"][0]["IpPermissionsEgress"][0]["IpRanges"][0]["CidrIp"]])')"

# --- The interface endpoint ------------------------------------------------------------------------
SERVICE=com.amazonaws.us-west-2.airflow.api
awsrun ec2 create-vpc-endpoint --vpc-endpoint-type Interface --service-name "$SERVICE" --vpc-id "$VPC" \
    --subnet-ids "$PRIV1" "$PRIV2" --security-group-ids "$SG" \
    --tag-specifications 'ResourceType=vpc-endpoint,Tags=[{Key=Name,Value=mwaa-api-endpoint}]'
check_eq "create-vpc-endpoint succeeds" "0" "$RC"
[[ $RC -eq 0 ]] || diag "$ERR"
CREATED=$OUT
E='d["VpcEndpoint"]'
VPCE=$(J "$CREATED" "$E[\"VpcEndpointId\"]")
check_match "the endpoint id is vpce- + 17 hex" '^vpce-[0-9a-f]{17}$' "$VPCE"
check_eq "the new endpoint is pending" "pending" "$(J "$CREATED" "$E[\"State\"]")"
check_eq "type Interface, the service name, the VPC" "Interface $SERVICE $VPC" \
    "$(J "$CREATED" "\" \".join([$E[\"VpcEndpointType\"], $E[\"ServiceName\"], $E[\"VpcId\"]])")"
check_eq "the endpoint is in both private subnets" "$(printf '%s\n' "$PRIV1" "$PRIV2" | sort)" \
    "$(J "$CREATED" "$E[\"SubnetIds\"]" | sort)"
check_eq "the endpoint carries the security group" "$SG mwaa-vpc-security-group" \
    "$(J "$CREATED" "$E[\"Groups\"][0][\"GroupId\"] + \" \" + $E[\"Groups\"][0][\"GroupName\"]")"
check_eq "the endpoint has the Name tag and the caller's account as owner" "mwaa-api-endpoint 000000000000" \
    "$(J "$CREATED" "\" \".join([t[\"Value\"] for t in $E[\"Tags\"] if t[\"Key\"] == \"Name\"] + [$E[\"OwnerId\"]])")"

# ENIs: one per subnet, requester-managed, addresses inside the subnets.
ENIS=$(J "$CREATED" "$E[\"NetworkInterfaceIds\"]")
check_eq "the endpoint has two network interfaces" "2" "$(grep -c '^eni-' <<<"$ENIS" || true)"
ENI_JSON=$(qj ec2 describe-network-interfaces --filters "Name=description,Values=*$VPCE*")
check_eq "describe-network-interfaces --filters Name=description,Values=*$VPCE* finds exactly them" \
    "$(sort <<<"$ENIS")" "$(J "$ENI_JSON" '[n["NetworkInterfaceId"] for n in d["NetworkInterfaces"]]' | sort)"
declare -A ENI_IP=()
for row in "$PRIV1 10.192.20.0/24 us-west-2a" "$PRIV2 10.192.21.0/24 us-west-2b"; do
    read -r sid cidr az <<<"$row"
    eni=$(J "$ENI_JSON" "[n for n in d['NetworkInterfaces'] if n['SubnetId'] == '$sid']")
    check_eq "one endpoint ENI in the subnet of $az" "1" "$(grep -c . <<<"$eni" || true)"
    ip=$(J "$eni" 'd["PrivateIpAddress"]')
    ENI_IP[$az]=$ip
    check "ENI in $az has a usable address of $cidr ($ip)" ip_usable_in_cidr "$ip" "$cidr"
    check_eq "ENI in $az: InterfaceType, RequesterManaged, Status, AZ, VPC, group" \
        "vpc_endpoint True in-use $az $VPC $SG" \
        "$(J "$eni" '" ".join(str(x) for x in [d["InterfaceType"], d["RequesterManaged"], d["Status"], d["AvailabilityZone"], d["VpcId"], d["Groups"][0]["GroupId"]])')"
    check_eq "ENI in $az: description names the endpoint" "VPC Endpoint Interface $VPCE" "$(J "$eni" 'd["Description"]')"
    check_eq "ENI in $az: private DNS name follows the address" \
        "ip-${ip//./-}.us-west-2.compute.internal" "$(J "$eni" 'd["PrivateDnsName"]')"
done

# DnsEntries: regional first, then one zonal entry per AZ, in the per-region vpce hosted zone.
DNS=$(J "$CREATED" "$E[\"DnsEntries\"]")
REGIONAL=$(head -n 1 <<<"$DNS" | jv 'd["DnsName"]')
check_match "first DnsEntry is the regional name ($REGIONAL)" \
    "^$VPCE-[a-z0-9]{8}\\.[a-z0-9.-]+\\.us-west-2\\.vpce\\.amazonaws\\.com\$" "$REGIONAL"
SUFFIX=${REGIONAL#"$VPCE-"}
RAND=${SUFFIX%%.*}
BASE=${SUFFIX#*.}
ZONAL_A=$VPCE-$RAND-us-west-2a.$BASE
ZONAL_B=$VPCE-$RAND-us-west-2b.$BASE
check_eq "second DnsEntry is the us-west-2a zonal name" "$ZONAL_A" "$(sed -n 2p <<<"$DNS" | jv 'd["DnsName"]')"
check_eq "third DnsEntry is the us-west-2b zonal name" "$ZONAL_B" "$(sed -n 3p <<<"$DNS" | jv 'd["DnsName"]')"
check_eq "regional and zonal entries are in hosted zone Z1YSA3EXCYUU9Z" "Z1YSA3EXCYUU9Z" \
    "$(head -n 3 <<<"$DNS" | while read -r e; do jv 'd["HostedZoneId"]' <<<"$e"; done | sort -u)"

# Lifecycle: pending -> available.
vpce_available() {
    [[ $("$AWS" --output json ec2 describe-vpc-endpoints --vpc-endpoint-ids "$VPCE" \
        --query 'VpcEndpoints[0].State' 2>/dev/null | jv) == available ]]
}
poll_until "the endpoint becomes available" 40 0.2 vpce_available

# Filters: each matching filter returns exactly the endpoint, a non-matching value returns none.
FILTERS=(
    "vpc-endpoint-id $VPCE vpce-0123456789abcdef0"
    "vpc-id $VPC vpc-0123456789abcdef0"
    "service-name $SERVICE com.amazonaws.us-west-2.airflow.env"
    "tag:Name mwaa-api-endpoint some-other-name"
)
i=0
for f in "${FILTERS[@]}"; do
    read -r name yes no <<<"$f"
    par "f$i.yes" q ec2 describe-vpc-endpoints --filters "Name=$name,Values=$yes" --query 'VpcEndpoints[].VpcEndpointId'
    par "f$i.no" q ec2 describe-vpc-endpoints --filters "Name=$name,Values=$no" --query 'VpcEndpoints[].VpcEndpointId'
    i=$((i + 1))
done
par fall q ec2 describe-vpc-endpoints --filters Name=vpc-endpoint-state,Values=available \
    Name=vpc-endpoint-type,Values=Interface "Name=vpc-id,Values=$VPC" --query 'VpcEndpoints[].VpcEndpointId'
# Seed procedure step 3, verbatim (no --output: with AWS_CONFIG_FILE=/dev/null the default is JSON).
par described "$AWS" ec2 describe-vpc-endpoints
par subnets2 qj ec2 describe-subnets --filters "Name=vpc-id,Values=$VPC"
par_wait
i=0
for f in "${FILTERS[@]}"; do
    read -r name yes no <<<"$f"
    check_eq "describe-vpc-endpoints --filters Name=$name,Values=$yes -> exactly the endpoint" "$VPCE" "$(par_out "f$i.yes")"
    check_eq "describe-vpc-endpoints --filters Name=$name,Values=$no -> none" "" "$(par_out "f$i.no")"
    i=$((i + 1))
done
check_eq "filters vpc-endpoint-state=available + vpc-endpoint-type=Interface + vpc-id together" "$VPCE" "$(par_out fall)"

DESCRIBED=$(par_out described)
check_contains "seed step 3: aws ec2 describe-vpc-endpoints | grep <regional name> prints its DnsName line" \
    "\"DnsName\": \"$REGIONAL\"" "$(grep "$REGIONAL" <<<"$DESCRIBED" || true)"
check_eq "seed step 3 with dig's trailing dot: grep <regional name>. matches only the regional DnsName line" \
    "1" "$(grep -c "$REGIONAL." <<<"$DESCRIBED" || true)"
check_eq "the available endpoint still has the same DnsEntries" "$DNS" \
    "$(J "$DESCRIBED" '[e for e in d["VpcEndpoints"] if e["VpcEndpointId"] == "'"$VPCE"'"][0]["DnsEntries"]')"
check_eq "each subnet has 250 free addresses now (endpoint ENIs in the private ones)" \
    "10.192.10.0/24 us-west-2a usw2-az1 250 $PUB1
10.192.11.0/24 us-west-2b usw2-az2 250 $PUB2
10.192.20.0/24 us-west-2a usw2-az1 250 $PRIV1
10.192.21.0/24 us-west-2b usw2-az2 250 $PRIV2" "$(subnet_rows "$(par_out subnets2)")"

# Seed procedure step 4, if this Airlock serves DNS: the endpoint names resolve to the ENI IPs.
if [[ -n ${DNS_PORT:-} ]] && command -v dig >/dev/null; then
    d() { dig @127.0.0.1 -p "$DNS_PORT" +time=2 +tries=1 "$@" 2>&1; }
    check_eq "dig +short <regional name> -> both ENI addresses" \
        "$(printf '%s\n' "${ENI_IP[us-west-2a]}" "${ENI_IP[us-west-2b]}" | sort)" "$(d +short "$REGIONAL" A | sort)"
    check_eq "dig +short <us-west-2a zonal name> -> only the us-west-2a address" "${ENI_IP[us-west-2a]}" "$(d +short "$ZONAL_A" A)"
    check_eq "dig +short <us-west-2b zonal name> -> only the us-west-2b address" "${ENI_IP[us-west-2b]}" "$(d +short "$ZONAL_B" A)"
    check_contains "dig of an unknown name in the same zone -> NXDOMAIN" "status: NXDOMAIN" \
        "$(d "vpce-0123456789abcdef0-zzzzzzzz.$BASE" A)"
else
    echo "# no DNS server in this airlock build (or no dig): skipping the dig checks" >&3
fi

# --- Tear down the endpoint: the addresses come back ---------------------------------------------------
check_eq "delete-vpc-endpoints reports no failures" "[]" \
    "$(qj ec2 delete-vpc-endpoints --vpc-endpoint-ids "$VPCE" --query Unsuccessful | jv 'json.dumps(d)')"
vpce_gone() {
    [[ -z $("$AWS" --output json ec2 describe-vpc-endpoints --filters "Name=vpc-endpoint-id,Values=$VPCE" \
        --query 'VpcEndpoints[?State!=`deleted`].VpcEndpointId' 2>/dev/null | jv) ]]
}
poll_until "the endpoint goes away" 40 0.2 vpce_gone
par enis q ec2 describe-network-interfaces --filters "Name=description,Values=*$VPCE*" --query 'NetworkInterfaces[].NetworkInterfaceId'
par free q ec2 describe-subnets --subnet-ids "$PRIV1" "$PRIV2" --query 'Subnets[].AvailableIpAddressCount'
par_wait
check_eq "its ENIs are gone" "" "$(par_out enis)"
check_eq "the private subnets have 251 free addresses again" "251 251" "$(par_out free | paste -sd ' ')"
if [[ -n ${DNS_PORT:-} ]] && command -v dig >/dev/null; then
    check_contains "dig of the deleted endpoint's regional name -> NXDOMAIN" "status: NXDOMAIN" \
        "$(dig @127.0.0.1 -p "$DNS_PORT" +time=2 +tries=1 "$REGIONAL" A 2>&1)"
fi

finish
