#!/usr/bin/env bash
# `airlock mwaa`: the page's procedure as commands, driven as a user would against `airlock serve`
# with the AWS SDK for Rust inside `airlock-mwaa`. `endpoints` agrees with dig and the CLI;
# `expose` builds the load-balancer path (curl gets 302 through it, certificate verified), twice
# changes nothing; `doctor` passes, then names each mistake made on purpose with a fix command
# that, run as printed, makes it pass again.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

start_server --time-scale 0.002
export AIRLOCK_DNS_SERVER=127.0.0.1:$DNS_PORT
# The fix commands doctor prints start with `aws` or `airlock`.
aws() { command "$AWS" "$@"; }
airlock() { "$AIRLOCK_BIN" "$@"; }
M() { run "$AIRLOCK_BIN" mwaa "$@"; }
ENV=MyAirflowEnvironment

M --help
check_eq "airlock mwaa --help lists the four commands" "endpoints expose sync-targets doctor" \
    "$(echo $(grep -oE '^  (endpoints|expose|sync-targets|doctor) ' <<<"$OUT"))"
M expose --help
check_contains "airlock mwaa expose --help documents --dry-run" "--dry-run" "$OUT"

mwaa_network
q mwaa create-environment --name "$ENV" --execution-role-arn arn:aws:iam::000000000000:role/mwaa-exec \
    --source-bucket-arn arn:aws:s3:::my-airflow-bucket --dag-s3-path dags --network-configuration "SubnetIds=$A,$B,SecurityGroupIds=$SG" >/dev/null
available() { [[ $(q mwaa get-environment --name "$ENV" --query Environment.Status) == AVAILABLE ]]; }
poll_until "the environment becomes AVAILABLE" 100 0.2 available

# --- endpoints: steps 1-4 of the page ------------------------------------------------------------------
HOST=$(q mwaa get-environment --name "$ENV" --query Environment.WebserverUrl)
SERVICE=$(q mwaa get-environment --name "$ENV" --query Environment.WebserverVpcEndpointService)
VPCE=$(q ec2 describe-vpc-endpoints --filters "Name=service-name,Values=$SERVICE" --query 'VpcEndpoints[0].VpcEndpointId')
ENI_IPS=$(q ec2 describe-vpc-endpoints --vpc-endpoint-ids "$VPCE" --query 'VpcEndpoints[0].NetworkInterfaceIds' |
    xargs "$AWS" --output text ec2 describe-network-interfaces --query 'NetworkInterfaces[].PrivateIpAddress' --network-interface-ids |
    tr '\t' '\n' | sort | tr '\n' ' ')
M endpoints "$ENV" --output json
check_eq "endpoints --output json: exit 0" 0 "$RC"
check_eq "the host is the environment's WebserverUrl" "$HOST" "$(J "$OUT" 'd["WebserverHost"]')"
check_eq "the CNAME is what dig answers" "$(dig @127.0.0.1 -p "$DNS_PORT" CNAME +short "$HOST" | sed 's/\.$//')" "$(J "$OUT" 'd["Cname"]')"
check_eq "the endpoint is the one the CLI finds by service" "$VPCE" "$(J "$OUT" 'd["VpcEndpointId"]')"
check_eq "the addresses are the endpoint's interfaces'" "$ENI_IPS" \
    "$(J "$OUT" '" ".join(sorted(a["PrivateIpAddress"] for a in d["Addresses"])) + " "')"
check_eq "one address per zone" "us-west-2a us-west-2b" "$(J "$OUT" '" ".join(a["AvailabilityZone"] for a in d["Addresses"])')"
check_eq "DNS answers the same addresses" "True $ENI_IPS" \
    "$(J "$OUT" 'str(d["DnsMatchesInterfaces"]) + " " + " ".join(sorted(d["DnsAddresses"])) + " "')"
M endpoints "$ENV"
check_contains "the table says DNS matches the interfaces" "(match the endpoint's interfaces)" "$OUT"
M endpoints NoSuchEnvironment
check_eq "an unknown environment: exit 2 with MWAA's error" "2 yes" \
    "$RC $([[ $ERR == *"GetEnvironment: ResourceNotFoundException"* ]] && echo yes)"

M doctor "$ENV"
check_eq "doctor on the fresh environment: no problems (exit 0)" "0" "$RC"
check_contains "and it says there is no load balancer path yet" "no target group holds the webserver's addresses" "$OUT"
[[ $RC == 0 ]] || diag "$OUT"

# --- expose --------------------------------------------------------------------------------------------
cd "$WORKDIR"
openssl req -x509 -newkey rsa:2048 -nodes -keyout root.key -out chain.pem -days 30 \
    -subj "/O=Example Corp/CN=Example Root" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout key.pem -out leaf.csr -subj "/CN=airflow.example.com" 2>/dev/null
printf 'subjectAltName=DNS:airflow.example.com\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >leaf.ext
openssl x509 -req -in leaf.csr -CA chain.pem -CAkey root.key -CAcreateserial -days 30 -extfile leaf.ext -out cert.pem 2>/dev/null
cd - >/dev/null
PUB2=$(q ec2 create-subnet --vpc-id "$VPC" --cidr-block 10.192.11.0/24 --availability-zone us-west-2b --query Subnet.SubnetId)
q ec2 associate-route-table --route-table-id "$PRT" --subnet-id "$PUB2" >/dev/null
EXPOSE=(expose "$ENV" --via alb --internet-facing --certificate "$WORKDIR/cert.pem" --private-key "$WORKDIR/key.pem"
    --chain "$WORKDIR/chain.pem" --subnets "$PUB" "$PUB2")

M "${EXPOSE[@]}" --dry-run
# import the certificate; create the group, open 443 on it, admit it in the environment's group;
# create the target group, register both addresses; create the load balancer, its listener.
check_eq "expose --dry-run: exit 0, a plan of eight changes" "0 8" "$RC $(grep -c '^would:' <<<"$OUT")"
check_eq "and nothing was made" "0 0" \
    "$(q elbv2 describe-load-balancers --query 'length(LoadBalancers)') $(q acm list-certificates --query 'length(CertificateSummaryList)')"
M "${EXPOSE[@]}"
check_eq "expose: exit 0, ends with healthy targets" "0 yes" "$RC $(grep -q '^ok: *targets healthy' <<<"$OUT" && echo yes)"
[[ $RC == 0 ]] || diag "$OUT $ERR"
TG=$(q elbv2 describe-target-groups --names MyAirflowEnvironment-alb-web --query 'TargetGroups[0].TargetGroupArn')
check_eq "the target group: HTTPS:443, ip, matcher 200,302" "HTTPS 443 ip 200,302" \
    "$(echo $(q elbv2 describe-target-groups --target-group-arns "$TG" --query 'TargetGroups[0].[Protocol,Port,TargetType,Matcher.HttpCode]'))"
check_eq "it holds both webserver addresses" "$ENI_IPS" \
    "$(q elbv2 describe-target-health --target-group-arn "$TG" --query 'TargetHealthDescriptions[].Target.Id' | sort | tr '\n' ' ')"
LB_DNS=$(q elbv2 describe-load-balancers --names MyAirflowEnvironment-alb --query 'LoadBalancers[0].DNSName')
LB_IP=$(dig @127.0.0.1 -p "$DNS_PORT" +short "$LB_DNS" | head -n 1)
LB_PORT=$(grep 'listener started' "$SERVER_LOG" | grep -o "addr=$LB_IP:[0-9]*" | head -n 1 | cut -d: -f2 || true)
run curl -s -o /dev/null -w '%{http_code}' -m 10 --cacert "$WORKDIR/chain.pem" \
    --resolve "airflow.example.com:$LB_PORT:$LB_IP" "https://airflow.example.com:$LB_PORT/"
check_eq "curl through the load balancer, certificate verified: 302" 302 "$OUT"
M "${EXPOSE[@]}"
check_eq "expose again: exit 0, no changes" "0 0 yes" "$RC $(grep -c '^done:' <<<"$OUT") $(grep -q '^no changes' <<<"$OUT" && echo yes)"
check_eq "the certificate was imported once" 1 "$(q acm list-certificates --query 'length(CertificateSummaryList)')"
M sync-targets "$ENV"
check_eq "sync-targets with nothing moved: no changes" "0 yes" "$RC $(grep -q '^no changes' <<<"$OUT" && echo yes)"

M doctor "$ENV"
check_eq "doctor after expose: no problems (exit 0)" "0" "$RC"
[[ $RC == 0 ]] || diag "$OUT"

# --- each mistake on purpose: doctor names it and prints the fix; the fix, run as printed, passes --------
# mistake DESC EXPECTED-TEXT: doctor must exit 1 naming EXPECTED-TEXT with a fix; the fixes are run
# as printed and doctor must then pass (targets may need a few health checks to recover).
mistake() {
    local desc=$1 expected=$2 fixes
    M doctor "$ENV"
    if [[ $RC == 1 && $OUT == *"$expected"* ]]; then
        ok "doctor names $desc"
    else
        not_ok "doctor names $desc"
        diag "exit $RC: $OUT"
    fi
    fixes=$(sed -n 's/^  fix:   //p' <<<"$OUT")
    check_ne "with a fix command" "" "$fixes"
    while IFS= read -r f; do
        [[ -n $f ]] && eval "$f" >/dev/null
    done <<<"$fixes"
    passes() { "$AIRLOCK_BIN" mwaa doctor "$ENV" >"$WORKDIR/doctor.out" 2>&1; }
    poll_until "the printed fix for $desc makes doctor pass" 100 0.2 passes
}

q elbv2 modify-target-group --target-group-arn "$TG" --matcher HttpCode=200 >/dev/null
mistake "matcher 200 only" "matcher 200 does not accept the webserver's 302"

ALB_SG=$(q elbv2 describe-load-balancers --names MyAirflowEnvironment-alb --query 'LoadBalancers[0].SecurityGroups[0]')
q ec2 revoke-security-group-ingress --group-id "$SG" --ip-permissions "IpProtocol=tcp,FromPort=443,ToPort=443,UserIdGroupPairs=[{GroupId=$ALB_SG}]" >/dev/null
mistake "a security group that does not admit the load balancer" "do not admit load balancer MyAirflowEnvironment-alb's group $ALB_SG on 443"

q ec2 revoke-security-group-ingress --group-id "$SG" --ip-permissions "IpProtocol=-1,UserIdGroupPairs=[{GroupId=$SG}]" >/dev/null
mistake "the environment's group without its self-reference" "security group $SG does not admit all traffic from itself"

FIRST_IP=${ENI_IPS%% *}
q elbv2 deregister-targets --target-group-arn "$TG" --targets "Id=$FIRST_IP,Port=443" >/dev/null
mistake "a target group missing one endpoint address" "lacks $FIRST_IP"

q iam update-assume-role-policy --role-name mwaa-exec --policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"airflow.amazonaws.com"},"Action":"sts:AssumeRole"}]}' >/dev/null
mistake "an execution role MWAA cannot assume" "does not let airflow-env.amazonaws.com assume it"

q ec2 replace-route --route-table-id "$RT" --destination-cidr-block 0.0.0.0/0 --gateway-id "$IGW" >/dev/null
mistake "environment subnets routed to the internet gateway" "subnet $A is public"

q ec2 create-key-pair --key-name bastion --query KeyMaterial >/dev/null
BSG=$(q ec2 create-security-group --group-name bastion --description bastion --vpc-id "$VPC" --query GroupId)
BASTION=$(q ec2 run-instances --image-id ami-0123456789abcdef0 --instance-type t3.micro --key-name bastion \
    --subnet-id "$PUB" --security-group-ids "$BSG" --associate-public-ip-address --query 'Instances[0].InstanceId')
running() { [[ $(q ec2 describe-instances --instance-ids "$BASTION" --query 'Reservations[0].Instances[0].State.Name') == running ]]; }
poll_until "the bastion is running" 100 0.1 running
mistake "a bastion the environment does not admit" "bastion $BASTION's group $BSG is not admitted on 443"

# --- other ways to get it wrong ------------------------------------------------------------------------
OTHER=$(q acm import-certificate --certificate "fileb://$WORKDIR/cert.pem" --private-key "fileb://$WORKDIR/key.pem" \
    --certificate-chain "fileb://$WORKDIR/chain.pem" --region us-east-1 --query CertificateArn)
M expose "$ENV" --via alb --internet-facing --certificate-arn "$OTHER" --subnets "$PUB" "$PUB2"
check_eq "expose with a certificate from another region: exit 2, says why" "2 yes" \
    "$RC $([[ $ERR == *"is in us-east-1, the environment in us-west-2"* ]] && echo yes)"
M sync-targets NoSuchEnvironment
check_eq "sync-targets for an unknown environment: exit 2" 2 "$RC"

# An internal NLB with a TLS listener, from the certificate already imported.
CERT=$(q acm list-certificates --query 'CertificateSummaryList[0].CertificateArn')
M expose "$ENV" --via nlb --certificate-arn "$CERT" --subnets "$A" "$B"
check_eq "expose --via nlb: exit 0, healthy targets" "0 yes" "$RC $(grep -q '^ok: *targets healthy' <<<"$OUT" && echo yes)"
[[ $RC == 0 ]] || diag "$OUT $ERR"
check_eq "its listener is TLS on 443" "TLS 443" "$(echo $(q elbv2 describe-listeners --load-balancer-arn \
    "$(q elbv2 describe-load-balancers --names MyAirflowEnvironment-nlb --query 'LoadBalancers[0].LoadBalancerArn')" \
    --query 'Listeners[0].[Protocol,Port]'))"
M doctor "$ENV"
check_eq "doctor with both load balancers: no problems" 0 "$RC"
[[ $RC == 0 ]] || diag "$OUT"
finish
