#!/usr/bin/env bash
# AWS's APIs from inside a VPC through interface endpoints (issue #20): an `airflow.env` and an
# `sts` endpoint with private DNS, reached from the user's machine through a bastion
# (`ssh -L` to the services' own names, which the bastion resolves with its VPC's resolver), and
# the unmodified AWS CLI talking to https://env.airflow.us-west-2.amazonaws.com and
# https://sts.us-west-2.amazonaws.com over TLS it verifies with Airlock's CA. Then the endpoint's
# policy (allow, explicit deny, reset), `aws:SourceVpce` and `aws:VpcSourceIp` in a user's
# policy, the endpoint's security group and its private DNS setting (off: the name is AWS's
# public endpoint, reached through the internet gateway); then S3 from the bastion's subnet
# through a gateway endpoint: its policy, a bucket policy on `aws:SourceVpce`, and the same
# request through the internet once the route table is removed.
#
# The CLI must find those public names on this machine's loopback, where `ssh -L` listens: so
# the script runs in a network and mount namespace of its own (`unshare --net --mount`, loopback
# only; Airlock and every client inside it), where /etc/hosts can say so.
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

cp /etc/hosts "$WORKDIR/hosts"
BUCKET=airlock-gateway-data
printf '127.0.0.1 env.airflow.us-west-2.amazonaws.com\n127.0.0.2 sts.us-west-2.amazonaws.com\n127.0.0.3 %s.s3.us-west-2.amazonaws.com\n' \
    "$BUCKET" >>"$WORKDIR/hosts"
mount --bind "$WORKDIR/hosts" /etc/hosts

start_server --time-scale 0.002
ACCOUNT=000000000000
ROOT=arn:aws:iam::$ACCOUNT:root
SSH_OPTS=(-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes -o ConnectTimeout=5 -o ExitOnForwardFailure=yes)

mwaa_network
q mwaa create-environment --name MyAirflowEnvironment --execution-role-arn arn:aws:iam::$ACCOUNT:role/mwaa-exec \
    --source-bucket-arn arn:aws:s3:::my-airflow-bucket --dag-s3-path dags --network-configuration "SubnetIds=$A,$B,SecurityGroupIds=$SG" >/dev/null
available() { [[ $(q mwaa get-environment --name MyAirflowEnvironment --query Environment.Status) == AVAILABLE ]]; }
poll_until "the environment becomes AVAILABLE" 100 0.2 available
ENV_ARN=arn:aws:airflow:us-west-2:$ACCOUNT:environment/MyAirflowEnvironment

# A bastion in the public subnet.
KEY=$WORKDIR/key.pem
"$AWS" ec2 create-key-pair --key-name bastion --query KeyMaterial --output text >"$KEY"
chmod 600 "$KEY"
BSG=$(q ec2 create-security-group --group-name bastion --description "Bastion" --vpc-id "$VPC" --query GroupId)
q ec2 authorize-security-group-ingress --group-id "$BSG" --protocol tcp --port 22 --cidr 0.0.0.0/0 >/dev/null
INSTANCE=$(q ec2 run-instances --image-id ami-0123456789abcdef0 --instance-type t3.micro --key-name bastion \
    --subnet-id "$PUB" --security-group-ids "$BSG" --associate-public-ip-address --query 'Instances[0].InstanceId')
running() { [[ $(q ec2 describe-instances --instance-ids "$INSTANCE" --query 'Reservations[0].Instances[0].State.Name') == running ]]; }
poll_until "the bastion is running" 100 0.2 running
IP=$(q ec2 describe-instances --instance-ids "$INSTANCE" --query 'Reservations[0].Instances[0].PublicIpAddress')
BASTION_VPC_IP=$(q ec2 describe-instances --instance-ids "$INSTANCE" --query 'Reservations[0].Instances[0].PrivateIpAddress')
CA=$WORKDIR/ca.pem
"$AIRLOCK_BIN" ca --listen "127.0.0.1:$PORT" >"$CA"

# Interface endpoints to MWAA's env API and STS, with private DNS, in a group that admits the
# bastion on 443.
ESG=$(q ec2 create-security-group --group-name endpoints --description "Interface endpoints" --vpc-id "$VPC" --query GroupId)
q ec2 authorize-security-group-ingress --group-id "$ESG" --ip-permissions "IpProtocol=tcp,FromPort=443,ToPort=443,UserIdGroupPairs=[{GroupId=$BSG}]" >/dev/null
endpoint() {
    q ec2 create-vpc-endpoint --vpc-id "$VPC" --vpc-endpoint-type Interface --service-name "com.amazonaws.us-west-2.$1" \
        --subnet-ids "$A" "$B" --security-group-ids "$ESG" --private-dns-enabled --query VpcEndpoint.VpcEndpointId
}
VPCE=$(endpoint airflow.env)
STS_VPCE=$(endpoint sts)
check_match "create-vpc-endpoint airflow.env" '^vpce-[0-9a-f]{17}$' "$VPCE"
endpoints_available() {
    [[ $(q ec2 describe-vpc-endpoints --vpc-endpoint-ids "$VPCE" "$STS_VPCE" --query 'VpcEndpoints[].State' | sort -u) == available ]]
}
poll_until "both endpoints become available" 100 0.2 endpoints_available
ENDPOINT_IPS=$(q ec2 describe-network-interfaces --network-interface-ids \
    $(q ec2 describe-vpc-endpoints --vpc-endpoint-ids "$VPCE" --query 'VpcEndpoints[0].NetworkInterfaceIds[]') \
    --query 'NetworkInterfaces[].PrivateIpAddress' | sort | tr '\n' ' ')
check_match "the endpoint has one address in each subnet" '^10\.192\.2[01]\.[0-9]+ 10\.192\.2[01]\.[0-9]+ $' "$ENDPOINT_IPS"
wait_listening() { grep -c 'listener=Api' "$SERVER_LOG" | grep -qx 4; }
poll_until "the endpoints' API listeners start (two interfaces each)" 50 0.2 wait_listening

# Outside the VPC the service's name is AWS's public endpoint, not the endpoint's addresses.
run dig @127.0.0.1 -p "$DNS_PORT" +short env.airflow.us-west-2.amazonaws.com
check_eq "from the host, env.airflow.us-west-2.amazonaws.com is AWS's public endpoint address" 127.255.255.254 "$OUT"

# The tunnel: the bastion resolves the services' names inside its VPC.
wait_port() { for _ in $(seq 50); do (echo >"/dev/tcp/$1/443") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
tunnel() {
    ssh "${SSH_OPTS[@]}" -i "$KEY" -N -L 127.0.0.1:443:env.airflow.us-west-2.amazonaws.com:443 \
        -L 127.0.0.2:443:sts.us-west-2.amazonaws.com:443 -L 127.0.0.3:443:s3.us-west-2.amazonaws.com:443 "ec2-user@$IP" &
    SSH_L=$!
    check "ssh -N -L to the services' names starts" wait_port 127.0.0.1
}
tunnel

# The unmodified CLI: AWS's own endpoints, TLS verified with Airlock's CA.
ENDPOINT_URL=$AWS_ENDPOINT_URL
through() {
    unset AWS_ENDPOINT_URL AWS_DISABLE_HOST_PREFIX_INJECTION
    export AWS_CA_BUNDLE=$CA AWS_STS_REGIONAL_ENDPOINTS=regional AWS_MAX_ATTEMPTS=1
    "$@"
    unset AWS_CA_BUNDLE AWS_STS_REGIONAL_ENDPOINTS AWS_MAX_ATTEMPTS
    export AWS_ENDPOINT_URL=$ENDPOINT_URL AWS_DISABLE_HOST_PREFIX_INJECTION=true
}
through awsrun mwaa create-cli-token --name MyAirflowEnvironment --debug
check_eq "create-cli-token through the endpoint succeeds" 0 "$RC"
check_match "... and answers a token" '"CliToken": "[^"]+' "$OUT"
check_contains "... sent to https://env.airflow.us-west-2.amazonaws.com" "https://env.airflow.us-west-2.amazonaws.com:443" "$ERR"
through awsrun sts get-caller-identity
check_eq "sts get-caller-identity through the sts endpoint" "0 $ROOT" "$RC $(J "$OUT" 'd["Arn"]' 2>/dev/null)"
run curl -s -m 10 --cacert "$CA" "https://sts.us-west-2.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15"
check "curl verifies the endpoint's certificate for sts.us-west-2.amazonaws.com" test "$RC" -eq 0
check_contains "... and an unsigned request gets STS's answer" "<Code>MissingAuthenticationToken</Code>" "$OUT"
run curl -s -m 10 --cacert "$CA" "https://sts.us-west-2.amazonaws.com/_airlock/health"
check_contains "Airlock's own /_airlock/ paths are not served inside the VPC" "<Code>MissingAuthenticationToken</Code>" "$OUT"

# One endpoint serves one service: MWAA's front end refuses an EC2 request in its own (JSON)
# shape, which the EC2 client cannot parse.
through awsrun ec2 describe-vpcs --endpoint-url https://env.airflow.us-west-2.amazonaws.com
check_eq "EC2 through the airflow.env endpoint fails" 255 "$RC"
check_contains "... MWAA's answer: the scope names another service" \
    "{\"message\":\"Credential should be scoped to correct service: \\'airflow\\'. \"}" "$ERR"

# The endpoint's policy: an explicit deny, then an allow that does not cover the action.
q ec2 modify-vpc-endpoint --vpc-endpoint-id "$VPCE" --policy-document \
    '{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"},{"Effect":"Deny","Principal":"*","Action":"airflow:CreateCliToken","Resource":"*"}]}' >/dev/null
through expect_error "create-cli-token denied by the endpoint policy" AccessDeniedException \
    mwaa create-cli-token --name MyAirflowEnvironment
check_contains "... AWS's text names the VPC endpoint policy" \
    "User: $ROOT is not authorized to perform: airflow:CreateCliToken on resource: $ENV_ARN with an explicit deny in a VPC endpoint policy" "$ERR"
expect_ok "the same call outside the endpoint is not subject to its policy" mwaa create-cli-token --name MyAirflowEnvironment
q ec2 modify-vpc-endpoint --vpc-endpoint-id "$VPCE" --policy-document \
    '{"Statement":[{"Effect":"Allow","Principal":"*","Action":"airflow:CreateWebLoginToken","Resource":"*"}]}' >/dev/null
through expect_error "an endpoint policy that allows another action" AccessDeniedException \
    mwaa create-cli-token --name MyAirflowEnvironment
check_contains "... 'because no VPC endpoint policy allows'" \
    "because no VPC endpoint policy allows the airflow:CreateCliToken action" "$ERR"
through expect_ok "... while create-web-login-token passes it" mwaa create-web-login-token --name MyAirflowEnvironment
q ec2 modify-vpc-endpoint --vpc-endpoint-id "$VPCE" --reset-policy >/dev/null
through expect_ok "reset-policy: the full-access policy again" mwaa create-cli-token --name MyAirflowEnvironment

# A user whose policy allows only calls through this endpoint, from the bastion's subnet.
q iam create-user --user-name vera >/dev/null
awsrun iam create-access-key --user-name vera
VERA_KEY=$(J "$OUT" 'd["AccessKey"]["AccessKeyId"]')
VERA_SECRET=$(J "$OUT" 'd["AccessKey"]["SecretAccessKey"]')
vera() { AWS_ACCESS_KEY_ID=$VERA_KEY AWS_SECRET_ACCESS_KEY=$VERA_SECRET "$@"; }
q iam put-user-policy --user-name vera --policy-name through-the-endpoint --policy-document "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"airflow:CreateCliToken\",\"Resource\":\"*\",\"Condition\":{\"StringEquals\":{\"aws:SourceVpce\":\"$VPCE\"},\"IpAddress\":{\"aws:VpcSourceIp\":\"10.192.10.0/24\"}}}]}" >/dev/null
vera expect_error "vera outside the endpoint (aws:SourceVpce absent)" AccessDeniedException mwaa create-cli-token --name MyAirflowEnvironment
check_contains "... no identity-based policy allows it" "because no identity-based policy allows the airflow:CreateCliToken action" "$ERR"
vera through expect_ok "vera through the endpoint, from the bastion's address $BASTION_VPC_IP" mwaa create-cli-token --name MyAirflowEnvironment
q iam put-user-policy --user-name vera --policy-name through-the-endpoint --policy-document "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"airflow:CreateCliToken\",\"Resource\":\"*\",\"Condition\":{\"StringEquals\":{\"aws:SourceVpce\":\"$STS_VPCE\"}}}]}" >/dev/null
vera through expect_error "vera's policy naming the other endpoint" AccessDeniedException mwaa create-cli-token --name MyAirflowEnvironment

# The endpoint's security group decides who reaches it.
q ec2 revoke-security-group-ingress --group-id "$ESG" --ip-permissions "IpProtocol=tcp,FromPort=443,ToPort=443,UserIdGroupPairs=[{GroupId=$BSG}]" >/dev/null
through awsrun mwaa create-cli-token --name MyAirflowEnvironment --cli-connect-timeout 5 --cli-read-timeout 5
check "without the endpoint group's rule the call cannot connect" test "$RC" -ne 0
q ec2 authorize-security-group-ingress --group-id "$ESG" --ip-permissions "IpProtocol=tcp,FromPort=443,ToPort=443,UserIdGroupPairs=[{GroupId=$BSG}]" >/dev/null
through expect_ok "with the rule back it does" mwaa create-cli-token --name MyAirflowEnvironment

# Private DNS off: the bastion's resolver answers the service's name as public DNS does, with
# AWS's public endpoint, which the bastion's public subnet reaches through its internet gateway:
# the call works, and neither the endpoint's policy nor aws:SourceVpce applies any more.
q ec2 modify-vpc-endpoint --vpc-endpoint-id "$VPCE" --policy-document \
    '{"Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}' >/dev/null
through expect_error "(the endpoint's policy now denies everything)" AccessDeniedException mwaa create-cli-token --name MyAirflowEnvironment
q ec2 modify-vpc-endpoint --vpc-endpoint-id "$VPCE" --no-private-dns-enabled >/dev/null
through expect_ok "with private DNS disabled the call goes to AWS's public endpoint" mwaa create-cli-token --name MyAirflowEnvironment
q iam put-user-policy --user-name vera --policy-name through-the-endpoint --policy-document "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"airflow:CreateCliToken\",\"Resource\":\"*\",\"Condition\":{\"StringEquals\":{\"aws:SourceVpce\":\"$VPCE\"}}}]}" >/dev/null
vera through expect_error "... where vera's aws:SourceVpce condition no longer holds" AccessDeniedException mwaa create-cli-token --name MyAirflowEnvironment
NAME=$(q ec2 describe-vpc-endpoints --vpc-endpoint-ids "$VPCE" --query 'VpcEndpoints[0].DnsEntries[0].DnsName')
check_eq "the endpoint's regional DNS name still resolves to its addresses" "$ENDPOINT_IPS" \
    "$(dig @127.0.0.1 -p "$DNS_PORT" +short "$NAME" | sort | tr '\n' ' ')"

# A gateway endpoint for S3 on the bastion's route table: S3 requests from that subnet come
# through it (aws:SourceVpce), and its policy applies to them.
q s3api create-bucket --bucket "$BUCKET" --create-bucket-configuration LocationConstraint=us-west-2 >/dev/null
q iam put-user-policy --user-name vera --policy-name s3 --policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}' >/dev/null
GATEWAY=$(q ec2 create-vpc-endpoint --vpc-id "$VPC" --vpc-endpoint-type Gateway --service-name com.amazonaws.us-west-2.s3 \
    --route-table-ids "$PRT" --policy-document \
    '{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"},{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"*"}]}' \
    --query VpcEndpoint.VpcEndpointId)
echo data >"$WORKDIR/data.txt"
q s3api put-object --bucket "$BUCKET" --key k --body "$WORKDIR/data.txt" >/dev/null
q s3api put-bucket-policy --bucket "$BUCKET" --policy "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Principal\":{\"AWS\":\"arn:aws:iam::$ACCOUNT:user/vera\"},\"Action\":\"s3:*\",\"Resource\":[\"arn:aws:s3:::$BUCKET\",\"arn:aws:s3:::$BUCKET/*\"],\"Condition\":{\"StringNotEquals\":{\"aws:SourceVpce\":\"$GATEWAY\"}}}]}" >/dev/null
vera expect_error "vera outside the VPC: the bucket policy wants the gateway endpoint" AccessDenied s3api get-object --bucket "$BUCKET" --key k "$WORKDIR/out.txt"
check_contains "... an explicit deny in a resource-based policy" "with an explicit deny in a resource-based policy" "$ERR"
vera through expect_ok "vera from the bastion's subnet, through the gateway endpoint" s3api get-object --bucket "$BUCKET" --key k "$WORKDIR/out.txt"
check_eq "... reads the object (https://$BUCKET.s3.us-west-2.amazonaws.com)" data "$(cat "$WORKDIR/out.txt" 2>/dev/null)"
vera through expect_error "the gateway endpoint's policy denies PutObject" AccessDenied s3api put-object --bucket "$BUCKET" --key k2 --body "$WORKDIR/data.txt"
check_contains "... in AWS's words" "with an explicit deny in a VPC endpoint policy" "$ERR"
q ec2 modify-vpc-endpoint --vpc-endpoint-id "$GATEWAY" --remove-route-table-ids "$PRT" >/dev/null
vera through expect_error "with the route table removed, the request comes through the internet" AccessDenied s3api get-object --bucket "$BUCKET" --key k "$WORKDIR/out.txt"
check_contains "... and the bucket policy refuses it" "with an explicit deny in a resource-based policy" "$ERR"
kill "$SSH_L" 2>/dev/null || true

finish
