#!/usr/bin/env bash
# State in a --data-dir survives kill -9 (every acknowledged write is in SQLite first), a restart
# resumes lifecycles, and the server refuses bad start-ups with a clear message.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DATA=$WORKDIR/data
start_server --data-dir "$DATA"
P=$PORT
http "http://127.0.0.1:$P/_airlock/health"
check_contains "health says persistent" '"persistent":true' "$HTTP_BODY"

# --- Some state of every kind -----------------------------------------------------------------------
VPC=$(q ec2 create-vpc --cidr-block 10.50.0.0/16 --query Vpc.VpcId)
SUBNET=$(q ec2 create-subnet --vpc-id "$VPC" --cidr-block 10.50.1.0/24 --availability-zone us-west-2b --query Subnet.SubnetId)
SG=$(q ec2 create-security-group --group-name durable --description "survives kill -9" --vpc-id "$VPC" --query GroupId)
check_eq "ingress rule" "true" \
    "$(q ec2 authorize-security-group-ingress --group-id "$SG" --protocol tcp --port 22 --cidr 10.50.0.0/16 --query Return)"
expect_ok "create-tags on the VPC and the subnet" ec2 create-tags --resources "$VPC" "$SUBNET" \
    --tags Key=Name,Value=durable Key=team,Value=data
ROLE_ARN=$(q iam create-role --role-name durable-role \
    --assume-role-policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"airflow.amazonaws.com"},"Action":"sts:AssumeRole"}]}' \
    --query Role.Arn)
check_eq "setup: VPC, subnet, group, role" "vpc- subnet- sg- arn:aws:iam::000000000000:role/durable-role" \
    "${VPC:0:4} ${SUBNET:0:7} ${SG:0:3} $ROLE_ARN"

awsrun ec2 create-vpc-endpoint --vpc-endpoint-type Interface --service-name com.amazonaws.us-west-2.airflow.api \
    --vpc-id "$VPC" --subnet-ids "$SUBNET" --no-private-dns-enabled
VPCE=$(J "$OUT" 'd["VpcEndpoint"]["VpcEndpointId"]')
VPCE_NAME=$(J "$OUT" 'd["VpcEndpoint"]["DnsEntries"][0]["DnsName"]')
check_match "create-vpc-endpoint in the subnet" '^vpce-[0-9a-f]{17}$' "$VPCE"

# Everything a user would look at, as the CLI prints it.
state() {
    q ec2 describe-vpcs --vpc-ids "$VPC" --query 'Vpcs[0]'
    q ec2 describe-subnets --subnet-ids "$SUBNET" --query 'Subnets[0]'
    q ec2 describe-security-groups --group-ids "$SG" --query 'SecurityGroups[0]'
    q iam get-role --role-name durable-role --query Role
}
BEFORE=$(state)
DEFAULT_VPC=$(q ec2 describe-vpcs --filters Name=is-default,Values=true --query 'Vpcs[].VpcId')

# A NAT gateway still pending when the server dies (2 min * 0.01 = 1.2 s).
NAT_SUBNET=$(q ec2 create-subnet --vpc-id "$VPC" --cidr-block 10.50.2.0/24 --availability-zone us-west-2a --query Subnet.SubnetId)
EIP=$(q ec2 allocate-address --domain vpc --query AllocationId)
NAT=$(q ec2 create-nat-gateway --subnet-id "$NAT_SUBNET" --allocation-id "$EIP" --query 'NatGateway.[NatGatewayId,State]' | paste -sd ' ')
check_match "create-nat-gateway: pending" '^nat-[0-9a-f]{17} pending$' "$NAT"
NAT=${NAT%% *}

# --- kill -9, restart on the same data dir and port ------------------------------------------------------
stop_server "$SERVER_PID" KILL
check_eq "kill -9 ends the server" "137" "$STOP_RC"
start_server --port "$P" --data-dir "$DATA"
check_eq "after kill -9: VPC, subnet (with tags), security group (with its rule) and role are identical" \
    "$BEFORE" "$(state)"
check_eq "after kill -9: the default VPC keeps its id" "$DEFAULT_VPC" \
    "$(q ec2 describe-vpcs --filters Name=is-default,Values=true --query 'Vpcs[].VpcId')"
check_eq "after kill -9: describe-tags shows the subnet's tags" "Name=durable team=data" \
    "$(qj ec2 describe-tags --filters "Name=resource-id,Values=$SUBNET" | jv '" ".join(t["Key"] + "=" + t["Value"] for t in d["Tags"])')"
nat_available() {
    [[ $("$AWS" --output json ec2 describe-nat-gateways --nat-gateway-ids "$NAT" \
        --query 'NatGateways[0].State' 2>/dev/null | jv) == available ]]
}
poll_until "after kill -9: the NAT gateway that was pending becomes available" 40 0.2 nat_available
VPCE_AFTER=$(qj ec2 describe-vpc-endpoints --vpc-endpoint-ids "$VPCE")
check_eq "after kill -9: the endpoint keeps its DNS name" "$VPCE_NAME" "$(J "$VPCE_AFTER" 'd["VpcEndpoints"][0]["DnsEntries"][0]["DnsName"]')"
ENI_ID=$(J "$VPCE_AFTER" 'd["VpcEndpoints"][0]["NetworkInterfaceIds"][0]')
ENI_IP=$(q ec2 describe-network-interfaces --network-interface-ids "$ENI_ID" --query 'NetworkInterfaces[0].PrivateIpAddress')
check "after kill -9: the endpoint ENI still has its address ($ENI_IP)" ip_usable_in_cidr "$ENI_IP" 10.50.1.0/24
if [[ -n ${DNS_PORT:-} ]] && command -v dig >/dev/null; then
    check_eq "after kill -9: the DNS server answers the endpoint's name with the ENI address" "$ENI_IP" \
        "$(dig @127.0.0.1 -p "$DNS_PORT" +time=2 +tries=1 +short "$VPCE_NAME" A 2>&1)"
fi

# --- 50 create-tags as fast as possible, kill -9 right after the last answer -----------------------------
# One botocore process (the CLI's own library) so that the calls come back to back and the kill
# follows the last success within microseconds; each CLI start-up would take ~0.7 s.
cat >"$WORKDIR/tags.py" <<'EOF'
import os, signal, sys
import botocore.session
from botocore.config import Config
endpoint, pid, resource = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ec2 = botocore.session.Session().create_client(
    "ec2", region_name="us-west-2", endpoint_url=endpoint,
    aws_access_key_id="test", aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}))
done = 0
for i in range(1, 51):
    ec2.create_tags(Resources=[resource], Tags=[{"Key": "burst-%02d" % i, "Value": str(i)}])
    done += 1
os.kill(pid, signal.SIGKILL)
print(done)
EOF
check_eq "50 create-tags calls succeed, then kill -9" "50" \
    "$("$PYTHON" "$WORKDIR/tags.py" "http://127.0.0.1:$P/" "$SERVER_PID" "$NAT_SUBNET" 2>&1 | tail -n 1)"
stop_server "$SERVER_PID" KILL
check_eq "the server died of SIGKILL" "137" "$STOP_RC"
start_server --port "$P" --data-dir "$DATA"
check_eq "after kill -9: all 50 burst tags are there" "50" \
    "$(q ec2 describe-tags --filters "Name=resource-id,Values=$NAT_SUBNET" Name=key,Values='burst-*' --query 'length(Tags)')"
check_eq "after kill -9: burst-01 and burst-50 have their values" "1 50" \
    "$(q ec2 describe-tags --filters "Name=resource-id,Values=$NAT_SUBNET" Name=key,Values=burst-01,burst-50 \
        --query 'sort_by(Tags,&Key)[].Value' | paste -sd ' ')"

# --- Refusing to start --------------------------------------------------------------------------------------
dns_args
run timeout 20 "$AIRLOCK_BIN" serve --listen "127.0.0.1:$P" --data-dir "$WORKDIR/other" "${DNS_ARGS[@]}"
check "a second server on the same port exits non-zero" test "$RC" -ne 0 -a "$RC" -ne 124
check_contains "... and says the address is in use" "127.0.0.1:$P" "$ERR"
check_match "... clearly" 'in use|already' "$ERR"

: >"$WORKDIR/a-file"
dns_args
run timeout 20 "$AIRLOCK_BIN" serve --listen "127.0.0.1:$(free_port)" --data-dir "$WORKDIR/a-file" "${DNS_ARGS[@]}"
check "--data-dir pointing at a regular file exits non-zero" test "$RC" -ne 0 -a "$RC" -ne 124
check_contains "... and names the path" "$WORKDIR/a-file" "$ERR"

# Two servers on one data dir would each keep their own in-memory copy of the state and write
# over each other; the second one must refuse to start.
P2=$(free_port)
dns_args
spawn_server "$WORKDIR/second.log" --listen "127.0.0.1:$P2" --data-dir "$DATA" "${DNS_ARGS[@]}"
SECOND=$SPAWNED_PID
if wait_healthy "$P2" "$SECOND"; then
    bug data-dir-lock not_ok "a second server on the same --data-dir (another port) refuses to start"
    diag "it started and serves on 127.0.0.1:$P2"
    stop_server "$SECOND" KILL
else
    stop_server "$SECOND" KILL
    check "a second server on the same --data-dir (another port) exits non-zero" test "$STOP_RC" -ne 0
    check_match "... with a message" '.' "$(cat "$WORKDIR/second.log")"
fi

# --- SIGTERM: a clean exit, and the state is still there ---------------------------------------------
stop_server "$SERVER_PID" TERM
check_eq "SIGTERM: the server exits 0" "0" "$STOP_RC"
check "SIGTERM: the port is free again" python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))' "$P"
start_server --port "$P" --data-dir "$DATA"
check_eq "after SIGTERM and restart: the state is identical" "$BEFORE" "$(state)"

finish
