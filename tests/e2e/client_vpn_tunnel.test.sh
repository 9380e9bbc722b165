#!/usr/bin/env bash
# The MWAA Client VPN tutorial end to end with Debian's stock OpenVPN client: an environment
# with a private webserver, the tutorial's certificates (made with openssl as easy-rsa makes
# them) in ACM, a Client VPN endpoint with mutual authentication on both private subnets, an
# authorization rule for the VPC, the exported configuration with the client's certificate and
# key appended, `openvpn --config`, then curl of the webserver's URL by name through the
# tunnel, verified with `airlock ca`. Then what decides: the authorization rule revoked and
# given back, the webserver group's rule for the endpoint's group removed and given back, and a
# client certificate from another CA refused at the TLS handshake.
#
# OpenVPN routes the VPC's private addresses into its tun device, so the script runs in a
# network and mount namespace of its own (`unshare --net --mount`: loopback and the tun device
# only), with Airlock inside it (its DNS on 127.0.0.1:53, which the namespace's resolv.conf
# names); nothing outside loopback is addressed in the machine's own namespace.
set -euo pipefail
if [[ -z ${AIRLOCK_E2E_NETNS:-} ]]; then
    if ! unshare --net --mount true 2>/dev/null; then
        echo "not ok - this script needs its own network namespace: unshare --net --mount (root or CAP_SYS_ADMIN)"
        echo "0 passed, 1 failed"
        exit 1
    fi
    exec unshare --net --mount env AIRLOCK_E2E_NETNS=1 bash "$0" "$@"
fi
ip link set lo up
. "$(dirname "$0")/lib.sh"
OPENVPN=${OPENVPN:-$(command -v openvpn || echo /usr/sbin/openvpn)}

printf 'nameserver 127.0.0.1\n' >"$WORKDIR/resolv.conf"
mount --bind "$WORKDIR/resolv.conf" /etc/resolv.conf
start_server --time-scale 0.002 --dns-listen 127.0.0.1:53
CA=$WORKDIR/airlock-ca.pem
"$AIRLOCK_BIN" ca --listen "127.0.0.1:$PORT" >"$CA"

mwaa_network
q mwaa create-environment --name MyAirflowEnvironment --execution-role-arn arn:aws:iam::000000000000:role/mwaa-exec \
    --source-bucket-arn arn:aws:s3:::my-airflow-bucket --dag-s3-path dags --network-configuration "SubnetIds=$A,$B,SecurityGroupIds=$SG" >/dev/null
available() { [[ $(q mwaa get-environment --name MyAirflowEnvironment --query Environment.Status) == AVAILABLE ]]; }
poll_until "the environment becomes AVAILABLE" 100 0.2 available
HOST=$(q mwaa get-environment --name MyAirflowEnvironment --query Environment.WebserverUrl)

# The tutorial's certificates: one CA for the server and the client; another CA's client.
cd "$WORKDIR"
ca() { openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.crt" -days 30 -subj "/CN=$2" 2>/dev/null; }
issue() { # issue NAME EKU CA
    openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$1" 2>/dev/null
    printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=%s\nsubjectAltName=DNS:%s\n' "$2" "$1" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA "$3.crt" -CAkey "$3.key" -CAcreateserial -days 30 -extfile "$1.ext" -out "$1.crt" 2>/dev/null
}
ca ca "Easy-RSA CA"
ca other "Another CA"
issue server serverAuth ca
issue client1.domain.tld clientAuth ca
issue stranger.domain.tld clientAuth other
SERVER_CERT=$(q acm import-certificate --certificate fileb://server.crt --private-key fileb://server.key \
    --certificate-chain fileb://ca.crt --query CertificateArn)
CLIENT_CERT=$(q acm import-certificate --certificate fileb://client1.domain.tld.crt --private-key fileb://client1.domain.tld.key \
    --certificate-chain fileb://ca.crt --query CertificateArn)
cd - >/dev/null

# The endpoint in the environment's VPC with a group of its own, which the environment's group
# admits on 443 (the tutorial's step).
VPN_SG=$(q ec2 create-security-group --group-name client-vpn --description "Client VPN" --vpc-id "$VPC" --query GroupId)
q ec2 authorize-security-group-ingress --group-id "$SG" \
    --ip-permissions "IpProtocol=tcp,FromPort=443,ToPort=443,UserIdGroupPairs=[{GroupId=$VPN_SG}]" >/dev/null
CVPN=$(q ec2 create-client-vpn-endpoint --client-cidr-block 10.100.0.0/22 --server-certificate-arn "$SERVER_CERT" \
    --authentication-options "Type=certificate-authentication,MutualAuthentication={ClientRootCertificateChainArn=$CLIENT_CERT}" \
    --connection-log-options Enabled=false --split-tunnel --vpc-id "$VPC" --security-group-ids "$VPN_SG" --query ClientVpnEndpointId)
q ec2 associate-client-vpn-target-network --client-vpn-endpoint-id "$CVPN" --subnet-id "$A" >/dev/null
q ec2 associate-client-vpn-target-network --client-vpn-endpoint-id "$CVPN" --subnet-id "$B" >/dev/null
q ec2 authorize-client-vpn-ingress --client-vpn-endpoint-id "$CVPN" --target-network-cidr 10.192.0.0/16 --authorize-all-groups >/dev/null
cvpn_available() { [[ $(q ec2 describe-client-vpn-endpoints --client-vpn-endpoint-ids "$CVPN" --query 'ClientVpnEndpoints[0].Status.Code') == available ]]; }
poll_until "the endpoint becomes available" 100 0.1 cvpn_available
rule_active() { [[ $(q ec2 describe-client-vpn-authorization-rules --client-vpn-endpoint-id "$CVPN" --query 'AuthorizationRules[0].Status.Code') == active ]]; }
poll_until "the authorization rule is active" 100 0.1 rule_active

# The exported file with the client's certificate and key appended, as the tutorial says.
"$AWS" ec2 export-client-vpn-client-configuration --client-vpn-endpoint-id "$CVPN" --output text >"$WORKDIR/client-config.ovpn"
config() { # config NAME → a configuration file for client NAME
    cp "$WORKDIR/client-config.ovpn" "$WORKDIR/$1.ovpn"
    printf '<cert>\n%s\n</cert>\n<key>\n%s\n</key>\n' "$(cat "$WORKDIR/$1.crt")" "$(cat "$WORKDIR/$1.key")" >>"$WORKDIR/$1.ovpn"
}
config client1.domain.tld
config stranger.domain.tld

connect() { # connect NAME → starts openvpn in the background; its log is $WORKDIR/NAME.log
    : >"$WORKDIR/$1.log"
    "$OPENVPN" --config "$WORKDIR/$1.ovpn" --log "$WORKDIR/$1.log" --writepid "$WORKDIR/$1.pid" --daemon
}
connected() { grep -q "Initialization Sequence Completed" "$WORKDIR/$1.log"; }
disconnect() { [[ -f $WORKDIR/$1.pid ]] && kill "$(cat "$WORKDIR/$1.pid")" 2>/dev/null || true; }
trap 'disconnect client1.domain.tld; disconnect stranger.domain.tld; _cleanup' EXIT

connect client1.domain.tld
poll_until "the stock OpenVPN client connects with the exported configuration" 150 0.2 connected client1.domain.tld
if ! connected client1.domain.tld; then
    diag "$(tail -30 "$WORKDIR/client1.domain.tld.log")"
    diag "$(grep -i vpn "$SERVER_LOG" | tail -10)"
fi
check_match "the client got an address of the client CIDR" 'inet 10\.100\.[0-3]\.[0-9]+/22' "$(ip -4 addr show dev tun0 2>&1)"
check_contains "the VPC's CIDR is routed into the tunnel" "10.192.0.0/16" "$(ip route 2>&1)"

check_eq "the VPC's resolver answers through the tunnel" "$(dig @127.0.0.1 +short "$HOST" | sort | paste -sd' ')" \
    "$(dig @10.192.0.2 +short +time=3 +tries=1 "$HOST" | sort | paste -sd' ')"
web() { curl -s -o /dev/null -w '%{http_code}' -m "${2:-10}" --cacert "$CA" "https://$HOST$1"; }
run web /
check_eq "curl https://<webserver host>/ through the tunnel answers 302" 302 "$OUT"
run web /health
check_eq "and /health 200, the certificate verified with airlock ca" 200 "$OUT"

WEB_IP=$(dig @127.0.0.1 +short "$HOST" | grep -E '^[0-9.]+$' | head -1)
check "a ping to the webserver's address goes unanswered while its group admits only TCP 443" \
    bash -c "! ping -c 1 -W 2 $WEB_IP >/dev/null 2>&1"
q ec2 authorize-security-group-ingress --group-id "$SG" \
    --ip-permissions "IpProtocol=icmp,FromPort=-1,ToPort=-1,UserIdGroupPairs=[{GroupId=$VPN_SG}]" >/dev/null
check "with an ICMP rule for the endpoint's group the address answers a ping" bash -c "ping -c 1 -W 3 $WEB_IP >/dev/null"

q ec2 revoke-client-vpn-ingress --client-vpn-endpoint-id "$CVPN" --target-network-cidr 10.192.0.0/16 --revoke-all-groups >/dev/null
run web /health 3
check_eq "with the authorization rule revoked the connection goes nowhere" 000 "$OUT"
q ec2 authorize-client-vpn-ingress --client-vpn-endpoint-id "$CVPN" --target-network-cidr 10.192.0.0/16 --authorize-all-groups >/dev/null
poll_until "the rule is active again" 100 0.1 rule_active
run web /health
check_eq "re-authorized, it works again" 200 "$OUT"

q ec2 revoke-security-group-ingress --group-id "$SG" \
    --ip-permissions "IpProtocol=tcp,FromPort=443,ToPort=443,UserIdGroupPairs=[{GroupId=$VPN_SG}]" >/dev/null
run web /health 3
check_eq "without the webserver group's rule for the endpoint's group it goes nowhere" 000 "$OUT"
q ec2 authorize-security-group-ingress --group-id "$SG" \
    --ip-permissions "IpProtocol=tcp,FromPort=443,ToPort=443,UserIdGroupPairs=[{GroupId=$VPN_SG}]" >/dev/null
run web /health
check_eq "with the rule back it works" 200 "$OUT"

conn() { q ec2 describe-client-vpn-connections --client-vpn-endpoint-id "$CVPN" --query "Connections[?ConnectionId=='$1'] | [0].$2"; }
CONN=$(q ec2 describe-client-vpn-connections --client-vpn-endpoint-id "$CVPN" --query 'Connections[0].ConnectionId')
check_match "DescribeClientVpnConnections lists the live connection" '^cvpn-connection-[0-9a-f]{17}$' "$CONN"
check_eq "active, with the certificate's common name, the client's address and no end" "active client1.domain.tld 10.100.0.2 -" \
    "$(conn "$CONN" Status.Code) $(conn "$CONN" CommonName) $(conn "$CONN" ClientIp) $(conn "$CONN" ConnectionEndTime)"
check_eq "TerminateClientVpnConnections takes it from active to terminating" "active terminating" \
    "$(echo $(q ec2 terminate-client-vpn-connections --client-vpn-endpoint-id "$CVPN" --connection-id "$CONN" \
        --query 'ConnectionStatuses[0].[PreviousStatus.Code,CurrentStatus.Code][]'))"
terminated() { [[ $(conn "$CONN" Status.Code) == terminated ]]; }
poll_until "the server ends it: terminated" 50 0.2 terminated
check_match "its counters say what went through" '^[1-9][0-9]* [1-9][0-9]*$' "$(conn "$CONN" IngressBytes) $(conn "$CONN" EgressBytes)"
reconnected() { [[ $(grep -c "Initialization Sequence Completed" "$WORKDIR/client1.domain.tld.log") -ge 2 ]]; }
poll_until "the client was dropped and connects again, as OpenVPN does" 150 0.2 reconnected
run web /health
check_eq "through the new session it works" 200 "$OUT"

connect stranger.domain.tld
refused() { grep -q "Received fatal SSL alert: unknown CA" "$WORKDIR/stranger.domain.tld.log"; }
poll_until "a client certificate from another CA is refused at the TLS handshake" 100 0.2 refused
check "it never completes" bash -c "! grep -q 'Initialization Sequence Completed' '$WORKDIR/stranger.domain.tld.log'"
check_contains "Airlock's log says why" "TLS handshake failed" "$(grep -i 'airlock::vpn' "$SERVER_LOG" | tail -20)"
disconnect stranger.domain.tld

# The same over TCP on port 1194 (OpenVPN's length-prefixed framing), one subnet.
disconnect client1.domain.tld
gone() { ! ip link show tun0 >/dev/null 2>&1; }
poll_until "the UDP client is gone" 50 0.2 gone
TCP_CVPN=$(q ec2 create-client-vpn-endpoint --client-cidr-block 10.101.0.0/22 --server-certificate-arn "$SERVER_CERT" \
    --authentication-options "Type=certificate-authentication,MutualAuthentication={ClientRootCertificateChainArn=$CLIENT_CERT}" \
    --connection-log-options Enabled=false --split-tunnel --transport-protocol tcp --vpn-port 1194 \
    --vpc-id "$VPC" --security-group-ids "$VPN_SG" --query ClientVpnEndpointId)
q ec2 associate-client-vpn-target-network --client-vpn-endpoint-id "$TCP_CVPN" --subnet-id "$A" >/dev/null
q ec2 authorize-client-vpn-ingress --client-vpn-endpoint-id "$TCP_CVPN" --target-network-cidr 10.192.0.0/16 --authorize-all-groups >/dev/null
tcp_available() { [[ $(q ec2 describe-client-vpn-endpoints --client-vpn-endpoint-ids "$TCP_CVPN" --query 'ClientVpnEndpoints[0].Status.Code') == available ]]; }
poll_until "the TCP endpoint becomes available" 100 0.1 tcp_available
"$AWS" ec2 export-client-vpn-client-configuration --client-vpn-endpoint-id "$TCP_CVPN" --output text >"$WORKDIR/client-config.ovpn"
check_contains "its file says TCP and port 1194" "proto tcp" "$(grep -E '^(proto|remote) ' "$WORKDIR/client-config.ovpn" | paste -sd' ')"
check_contains "and port 1194" "prod.clientvpn.us-west-2.amazonaws.com 1194" "$(grep '^remote ' "$WORKDIR/client-config.ovpn")"
config client1.domain.tld
connect client1.domain.tld
tcp_connected() { [[ $(grep -c "Initialization Sequence Completed" "$WORKDIR/client1.domain.tld.log") -ge 1 ]]; }
poll_until "the client connects over TCP" 150 0.2 tcp_connected
run web /health
check_eq "and reaches the webserver through that tunnel" 200 "$OUT"
finish
