#!/usr/bin/env bash
# The control plane of the MWAA Client VPN tutorial with the real AWS CLI and dig: the tutorial's
# certificates (a CA, a server and a client certificate, made here with openssl as easy-rsa
# makes them) imported with `aws acm import-certificate`, a Client VPN endpoint with mutual
# authentication, the environment's two private subnets associated, an authorization rule for
# the VPC, the endpoint's name in DNS, the configuration file exported with
# `export-client-vpn-client-configuration --output text`, AWS's refusals, and the teardown.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

start_server --time-scale 0.002
mwaa_network

cd "$WORKDIR"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 30 -subj "/CN=Easy-RSA CA" 2>/dev/null
issue() { # issue NAME EKU
    openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$1" 2>/dev/null
    printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=%s\nsubjectAltName=DNS:%s\n' "$2" "$1" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -extfile "$1.ext" -out "$1.crt" 2>/dev/null
}
issue server serverAuth
issue client1.domain.tld clientAuth
SERVER_CERT=$(q acm import-certificate --certificate fileb://server.crt --private-key fileb://server.key \
    --certificate-chain fileb://ca.crt --query CertificateArn)
CLIENT_CERT=$(q acm import-certificate --certificate fileb://client1.domain.tld.crt --private-key fileb://client1.domain.tld.key \
    --certificate-chain fileb://ca.crt --query CertificateArn)
EAST_CERT=$(q acm import-certificate --certificate fileb://server.crt --private-key fileb://server.key \
    --certificate-chain fileb://ca.crt --region us-east-1 --query CertificateArn)
cd - >/dev/null

MUTUAL="Type=certificate-authentication,MutualAuthentication={ClientRootCertificateChainArn=$CLIENT_CERT}"
expect_error "a client CIDR smaller than /22 is refused" InvalidParameterValue \
    ec2 create-client-vpn-endpoint --client-cidr-block 10.100.0.0/24 --server-certificate-arn "$SERVER_CERT" \
    --authentication-options "$MUTUAL" --connection-log-options Enabled=false
expect_error "a server certificate of another region is refused" InvalidParameterValue \
    ec2 create-client-vpn-endpoint --client-cidr-block 10.100.0.0/22 --server-certificate-arn "$EAST_CERT" \
    --authentication-options "$MUTUAL" --connection-log-options Enabled=false
expect_error "port 80 is refused" InvalidParameterValue \
    ec2 create-client-vpn-endpoint --client-cidr-block 10.100.0.0/22 --server-certificate-arn "$SERVER_CERT" \
    --authentication-options "$MUTUAL" --connection-log-options Enabled=false --vpn-port 80
expect_error "security groups without a VPC are refused" InvalidParameterValue \
    ec2 create-client-vpn-endpoint --client-cidr-block 10.100.0.0/22 --server-certificate-arn "$SERVER_CERT" \
    --authentication-options "$MUTUAL" --connection-log-options Enabled=false --security-group-ids "$SG"

CVPN=$(q ec2 create-client-vpn-endpoint --client-cidr-block 10.100.0.0/22 --server-certificate-arn "$SERVER_CERT" \
    --authentication-options "$MUTUAL" --connection-log-options Enabled=false \
    --tag-specifications 'ResourceType=client-vpn-endpoint,Tags=[{Key=Name,Value=mwaa-vpn}]' --query ClientVpnEndpointId)
check_match "the endpoint id is in AWS's format" '^cvpn-endpoint-[0-9a-f]{17}$' "$CVPN"
check_eq "it waits for a target network" "pending-associate" \
    "$(q ec2 describe-client-vpn-endpoints --client-vpn-endpoint-ids "$CVPN" --query 'ClientVpnEndpoints[0].Status.Code')"
check_eq "it is found by its tag" "$CVPN" \
    "$(q ec2 describe-client-vpn-endpoints --filters Name=tag:Name,Values=mwaa-vpn --query 'ClientVpnEndpoints[0].ClientVpnEndpointId')"
NAME="$CVPN.prod.clientvpn.us-west-2.amazonaws.com"
check_eq "its DNS name is a wildcard" "*.$NAME" \
    "$(q ec2 describe-client-vpn-endpoints --client-vpn-endpoint-ids "$CVPN" --query 'ClientVpnEndpoints[0].DnsName')"
check_eq "nothing resolves before a target network is associated" "NXDOMAIN" \
    "$(dig @127.0.0.1 -p "$DNS_PORT" "a1b2c3.$NAME" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p')"

ASSOC_A=$(q ec2 associate-client-vpn-target-network --client-vpn-endpoint-id "$CVPN" --subnet-id "$A" --query AssociationId)
check_match "the association id is in AWS's format" '^cvpn-assoc-[0-9a-f]{17}$' "$ASSOC_A"
expect_error "a second subnet of the same zone is refused" InvalidClientVpnSubnetId.DuplicateAz \
    ec2 associate-client-vpn-target-network --client-vpn-endpoint-id "$CVPN" --subnet-id "$PUB"
q ec2 associate-client-vpn-target-network --client-vpn-endpoint-id "$CVPN" --subnet-id "$B" >/dev/null
available() { [[ $(q ec2 describe-client-vpn-endpoints --client-vpn-endpoint-ids "$CVPN" --query 'ClientVpnEndpoints[0].Status.Code') == available ]]; }
poll_until "the endpoint becomes available" 100 0.1 available
check_eq "both target networks are associated" "associated associated" \
    "$(echo $(q ec2 describe-client-vpn-target-networks --client-vpn-endpoint-id "$CVPN" --query 'ClientVpnTargetNetworks[].Status.Code'))"
check_eq "the endpoint took the VPC and its default group" "$VPC default" \
    "$(echo $(q ec2 describe-client-vpn-endpoints --client-vpn-endpoint-ids "$CVPN" --query 'ClientVpnEndpoints[0].VpcId') \
        $(q ec2 describe-security-groups --group-ids "$(q ec2 describe-client-vpn-endpoints --client-vpn-endpoint-ids "$CVPN" --query 'ClientVpnEndpoints[0].SecurityGroupIds[0]')" --query 'SecurityGroups[0].GroupName'))"
check_eq "a route to the VPC through each subnet" "10.192.0.0/16 10.192.0.0/16 associate associate" \
    "$(echo $(q ec2 describe-client-vpn-routes --client-vpn-endpoint-id "$CVPN" --query 'Routes[].DestinationCidr') \
        $(q ec2 describe-client-vpn-routes --client-vpn-endpoint-id "$CVPN" --query 'Routes[].Origin'))"
check_eq "an interface in each subnet" 2 \
    "$(q ec2 describe-network-interfaces --filters "Name=description,Values=ClientVPN Endpoint resource" --query 'length(NetworkInterfaces)')"

check_eq "the authorization rule for the VPC is authorizing" "authorizing" \
    "$(q ec2 authorize-client-vpn-ingress --client-vpn-endpoint-id "$CVPN" --target-network-cidr 10.192.0.0/16 --authorize-all-groups --query Status.Code)"
active() { [[ $(q ec2 describe-client-vpn-authorization-rules --client-vpn-endpoint-id "$CVPN" --query 'AuthorizationRules[0].Status.Code') == active ]]; }
poll_until "then active" 100 0.1 active
expect_error "the same rule twice is refused" InvalidClientVpnDuplicateAuthorizationRule \
    ec2 authorize-client-vpn-ingress --client-vpn-endpoint-id "$CVPN" --target-network-cidr 10.192.0.0/16 --authorize-all-groups

ANSWERS=$(dig @127.0.0.1 -p "$DNS_PORT" +short "f3e2d1c0b9a8.$NAME" | sort)
check_eq "any label under the endpoint's name resolves to two public addresses" 2 "$(echo "$ANSWERS" | grep -c '^127\.255\.')"
check_eq "the name without a label does not exist" "NXDOMAIN" \
    "$(dig @127.0.0.1 -p "$DNS_PORT" "$NAME" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p')"

# As the tutorial does it: the text output is the file.
"$AWS" ec2 export-client-vpn-client-configuration --client-vpn-endpoint-id "$CVPN" --output text >"$WORKDIR/client-config.ovpn"
check_eq "the exported file starts as AWS's does" "client|dev tun|proto udp|remote $NAME 443|remote-random-hostname|resolv-retry infinite|nobind|remote-cert-tls server|cipher AES-256-GCM|verb 3|<ca>" \
    "$(head -11 "$WORKDIR/client-config.ovpn" | paste -sd'|')"
sed -n '/<ca>/,/<\/ca>/p' "$WORKDIR/client-config.ovpn" | sed '1d;$d' >"$WORKDIR/exported-ca.pem"
check "its <ca> verifies the server certificate" openssl verify -CAfile "$WORKDIR/exported-ca.pem" "$WORKDIR/server.crt"
check_contains "it names the server certificate" "verify-x509-name server name" "$(cat "$WORKDIR/client-config.ovpn")"
check_contains "renegotiation is off" "reneg-sec 0" "$(cat "$WORKDIR/client-config.ovpn")"

expect_error "the endpoint cannot be deleted while it has target networks" ClientVpnEndpointAssociationExists \
    ec2 delete-client-vpn-endpoint --client-vpn-endpoint-id "$CVPN"
check_eq "revoking the rule" "revoking" \
    "$(q ec2 revoke-client-vpn-ingress --client-vpn-endpoint-id "$CVPN" --target-network-cidr 10.192.0.0/16 --revoke-all-groups --query Status.Code)"
for assoc in $(q ec2 describe-client-vpn-target-networks --client-vpn-endpoint-id "$CVPN" --query 'ClientVpnTargetNetworks[].AssociationId'); do
    q ec2 disassociate-client-vpn-target-network --client-vpn-endpoint-id "$CVPN" --association-id "$assoc" >/dev/null
done
check_eq "with no target network the endpoint waits again" "pending-associate" \
    "$(q ec2 describe-client-vpn-endpoints --client-vpn-endpoint-ids "$CVPN" --query 'ClientVpnEndpoints[0].Status.Code')"
check_eq "its interfaces are gone" 0 \
    "$(q ec2 describe-network-interfaces --filters "Name=description,Values=ClientVPN Endpoint resource" --query 'length(NetworkInterfaces)')"
check_eq "deleting it" "deleting" "$(q ec2 delete-client-vpn-endpoint --client-vpn-endpoint-id "$CVPN" --query Status.Code)"
expect_error "then it is gone" InvalidClientVpnEndpointId.NotFound \
    ec2 describe-client-vpn-endpoints --client-vpn-endpoint-ids "$CVPN"
finish
