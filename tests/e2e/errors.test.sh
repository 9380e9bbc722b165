#!/usr/bin/env bash
# Bad input and bad credentials: each must give the error a real AWS client sees (the CLI's
# `An error occurred (<Code>)` and exit status 255, or the raw HTTP status and envelope), and
# change nothing. Uses two servers: one verifying signatures (the default), one with --auth off
# for raw unsigned HTTP.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

start_server --auth off
OFF_PORT=$PORT
OFF_URL=http://127.0.0.1:$OFF_PORT/
start_server
ON_PORT=$PORT
ON_URL=http://127.0.0.1:$ON_PORT/

# --- Setup: a VPC with a subnet and a security group with a rule ----------------------------------
VPC=$(q ec2 create-vpc --cidr-block 10.0.0.0/16 --query Vpc.VpcId)
SUBNET=$(q ec2 create-subnet --vpc-id "$VPC" --cidr-block 10.0.1.0/24 --availability-zone us-west-2a --query Subnet.SubnetId)
SG=$(q ec2 create-security-group --group-name web --description "web servers" --vpc-id "$VPC" --query GroupId)
check_eq "setup: VPC, subnet, security group" "vpc- subnet- sg-" "${VPC:0:4} ${SUBNET:0:7} ${SG:0:3}"
check_eq "setup: ingress tcp/443 from 10.0.0.0/16" "true" \
    "$(q ec2 authorize-security-group-ingress --group-id "$SG" --protocol tcp --port 443 --cidr 10.0.0.0/16 --query Return)"

# What must not change: "<vpc ids> | <subnet ids> | <rules of the group>".
snapshot() {
    local vpcs subnets rules
    vpcs=$(q ec2 describe-vpcs --query 'sort(Vpcs[].VpcId)' | paste -sd ' ')
    subnets=$(q ec2 describe-subnets --query 'sort(Subnets[].SubnetId)' | paste -sd ' ')
    rules=$(q ec2 describe-security-groups --group-ids "$SG" --query 'SecurityGroups[0].IpPermissions' | paste -sd ' ')
    echo "$vpcs | $subnets | $rules"
}
BEFORE=$(snapshot)
check_match "snapshot: the default VPC and ours, 5 subnets" '^vpc-[0-9a-f]{17} vpc-[0-9a-f]{17} \| (subnet-[0-9a-f]{17} ?){5} \|' "$BEFORE"

# --- Credentials ------------------------------------------------------------------------------------
AWS_SECRET_ACCESS_KEY=wrong expect_error "wrong secret on ec2 describe-vpcs" AuthFailure ec2 describe-vpcs
AWS_SECRET_ACCESS_KEY=wrong expect_error "wrong secret on ec2 create-vpc (must not create it)" AuthFailure \
    ec2 create-vpc --cidr-block 10.9.0.0/16
AWS_SECRET_ACCESS_KEY=wrong expect_error "wrong secret on iam list-roles" SignatureDoesNotMatch iam list-roles
AWS_SECRET_ACCESS_KEY=wrong expect_error "wrong secret on sts get-caller-identity" SignatureDoesNotMatch sts get-caller-identity
AWS_ACCESS_KEY_ID=AKIAEXAMPLE1234 AWS_SECRET_ACCESS_KEY=x \
    expect_error "unknown access key on ec2 describe-vpcs" AuthFailure ec2 describe-vpcs
AWS_ACCESS_KEY_ID=AKIAEXAMPLE1234 AWS_SECRET_ACCESS_KEY=x \
    expect_error "unknown access key on sts get-caller-identity" InvalidClientTokenId sts get-caller-identity
AWS_ACCESS_KEY_ID=AKIAEXAMPLE1234 AWS_SECRET_ACCESS_KEY=x \
    expect_error "unknown access key on iam list-roles" InvalidClientTokenId iam list-roles
check_contains "the AuthFailure message is AWS's" "AWS was not able to validate the provided access credentials" \
    "$(AWS_ACCESS_KEY_ID=AKIAEXAMPLE1234 AWS_SECRET_ACCESS_KEY=x "$AWS" --output json ec2 describe-vpcs 2>&1 || true)"

# A 12-digit access key acts in that account.
AWS_ACCESS_KEY_ID=111111111111 AWS_SECRET_ACCESS_KEY=test awsrun sts get-caller-identity
check_eq "access key 111111111111: get-caller-identity shows account 111111111111" "0 111111111111" \
    "$RC $(J "$OUT" 'd["Account"]')"
OTHER_DEFAULT=$(AWS_ACCESS_KEY_ID=111111111111 AWS_SECRET_ACCESS_KEY=test \
    q ec2 describe-vpcs --filters Name=is-default,Values=true --query 'Vpcs[].[VpcId,OwnerId]' | jv '" ".join(d)')
OUR_DEFAULT=$(q ec2 describe-vpcs --filters Name=is-default,Values=true --query 'Vpcs[].[VpcId,OwnerId]' | jv '" ".join(d)')
check_match "account 111111111111 has its own default VPC" '^vpc-[0-9a-f]{17} 111111111111$' "$OTHER_DEFAULT"
check_match "the default account's default VPC is owned by 000000000000" '^vpc-[0-9a-f]{17} 000000000000$' "$OUR_DEFAULT"
check_ne "the two default VPCs differ" "${OUR_DEFAULT%% *}" "${OTHER_DEFAULT%% *}"
AWS_ACCESS_KEY_ID=111111111111 AWS_SECRET_ACCESS_KEY=test \
    expect_error "account 111111111111 cannot see the default account's VPC" InvalidVpcID.NotFound \
    ec2 describe-vpcs --vpc-ids "$VPC"

# --auth off accepts anything.
(
    use_server "$OFF_PORT"
    AWS_SECRET_ACCESS_KEY=wrong expect_ok "--auth off: a wrong secret is accepted (ec2 describe-vpcs)" ec2 describe-vpcs
    AWS_SECRET_ACCESS_KEY=wrong expect_ok "--auth off: a wrong secret is accepted (sts get-caller-identity)" sts get-caller-identity
)

# --- Invalid requests through the CLI ------------------------------------------------------------------
expect_error "create-subnet overlapping 10.0.1.0/24" InvalidSubnet.Conflict \
    ec2 create-subnet --vpc-id "$VPC" --cidr-block 10.0.1.128/25 --availability-zone us-west-2a
check_contains "the Conflict message names the CIDR" "The CIDR '10.0.1.128/25' conflicts with another subnet" "$ERR"
expect_error "create-subnet outside the VPC CIDR" InvalidSubnet.Range \
    ec2 create-subnet --vpc-id "$VPC" --cidr-block 10.1.0.0/24 --availability-zone us-west-2a
expect_error "create-subnet in AZ us-west-2z" InvalidParameterValue \
    ec2 create-subnet --vpc-id "$VPC" --cidr-block 10.0.2.0/24 --availability-zone us-west-2z
check_contains "the AZ message lists the valid zones" "Value (us-west-2z) for parameter availabilityZone is invalid" "$ERR"
expect_error "create-vpc with a /8" InvalidVpc.Range ec2 create-vpc --cidr-block 10.0.0.0/8
expect_error "describe-vpcs --vpc-ids vpc-12345678" InvalidVpcID.NotFound ec2 describe-vpcs --vpc-ids vpc-12345678
check_contains "the NotFound message is AWS's" "The vpc ID 'vpc-12345678' does not exist" "$ERR"
expect_error "describe-subnets --subnet-ids subnet-12345678" InvalidSubnetID.NotFound \
    ec2 describe-subnets --subnet-ids subnet-12345678
expect_error "create-security-group with a taken name" InvalidGroup.Duplicate \
    ec2 create-security-group --group-name web --description again --vpc-id "$VPC"
expect_error "delete-vpc while it has a subnet" DependencyViolation ec2 delete-vpc --vpc-id "$VPC"
expect_error "authorize the same ingress rule again" InvalidPermission.Duplicate \
    ec2 authorize-security-group-ingress --group-id "$SG" --protocol tcp --port 443 --cidr 10.0.0.0/16
expect_error "create-vpc --dry-run" DryRunOperation ec2 create-vpc --cidr-block 10.7.0.0/16 --dry-run
check_contains "the DryRunOperation message" "Request would have succeeded, but DryRun flag is set." "$ERR"
expect_error "create-vpc-endpoint with private DNS in a VPC without DNS hostnames" InvalidParameter \
    ec2 create-vpc-endpoint --vpc-endpoint-type Interface --service-name com.amazonaws.us-west-2.airflow.api \
    --vpc-id "$VPC" --subnet-ids "$SUBNET" --security-group-ids "$SG"
check_contains "... saying what to enable" "enableDnsHostnames" "$ERR"
expect_error "iam get-role of a missing role" NoSuchEntity iam get-role --role-name no-such-role

# Services Airlock may not have yet (ACM, ELBv2): the CLI must get a reply it can parse, either a
# success or an error in that service's protocol (`An error occurred (<Code>)`), never
# "Unable to parse response" or a bare HTTP status as the code.
for cmd in "acm list-certificates" "elbv2 describe-load-balancers"; do
    # shellcheck disable=SC2086
    awsrun $cmd
    if [[ $RC -eq 0 ]]; then
        ok "aws $cmd succeeds"
    else
        bug unknown-service-envelope check_match "aws $cmd: an error the CLI can parse, with an AWS error code" \
            'An error occurred \([A-Za-z][A-Za-z.]+\)' "$ERR"
    fi
done

# --- Raw HTTP (unsigned, to the --auth off server) --------------------------------------------------
FORM=(-H 'Content-Type: application/x-www-form-urlencoded; charset=utf-8')
http "${FORM[@]}" --data 'Action=Bogus&Version=2016-11-15' "$OFF_URL"
check_eq "raw: unknown EC2 Action -> HTTP 400" "400" "$HTTP_STATUS"
check_contains "raw: unknown EC2 Action -> <Code>InvalidAction</Code>" "<Code>InvalidAction</Code>" "$HTTP_BODY"
check_match "raw: EC2 error envelope <Response><Errors><Error>...<RequestID>" \
    '<Response><Errors><Error><Code>.*</Message></Error></Errors><RequestID>[^<]+</RequestID></Response>' "$HTTP_BODY"
http "${FORM[@]}" --data 'Action=CreateVpc&Version=2016-11-15' "$OFF_URL"
check_eq "raw: CreateVpc without CidrBlock -> 400 MissingParameter" "400 1" \
    "$HTTP_STATUS $(grep -c '<Code>MissingParameter</Code>' <<<"$HTTP_BODY" || true)"
http "${FORM[@]}" --data 'Action=DescribeVpcs&Version=2016-11-15&Bogus=1' "$OFF_URL"
check_eq "raw: DescribeVpcs with an unknown parameter -> 400 UnknownParameter" "400 1" \
    "$HTTP_STATUS $(grep -c '<Code>UnknownParameter</Code>' <<<"$HTTP_BODY" || true)"
http "${FORM[@]}" --data 'Action=GetRole&RoleName=nope&Version=2010-05-08' "$OFF_URL"
check_eq "raw: IAM GetRole of a missing role -> 404 NoSuchEntity in an ErrorResponse" "404 1 1" \
    "$HTTP_STATUS $(grep -c '<Code>NoSuchEntity</Code>' <<<"$HTTP_BODY" || true) $(grep -c '^<ErrorResponse\|<ErrorResponse ' <<<"$HTTP_BODY" || true)"
http -X PUT -H 'Content-Type: application/json' --data '{"not json' "${OFF_URL}environments/my-env"
check_eq "raw: malformed JSON to an MWAA path -> 400" "400" "$HTTP_STATUS"
check_match "raw: ... with a JSON body" '^\{.*"message"' "$HTTP_BODY"
http -H 'Content-Type: application/x-amz-json-1.1' -H 'X-Amz-Target: CertificateManager.ListCertificates' \
    --data '{"MaxItems": ' "$OFF_URL"
check_eq "raw: malformed JSON with X-Amz-Target: CertificateManager.ListCertificates -> 400" "400" "$HTTP_STATUS"
bug unknown-service-envelope check_match "raw: ... answered in the awsJson error envelope (with __type)" \
    '^\{.*"__type" *: *"[A-Za-z]+' "$HTTP_BODY"

# Unsigned requests to the server that verifies signatures.
http "${FORM[@]}" --data 'Action=DescribeVpcs&Version=2016-11-15' "$ON_URL"
check_eq "raw unsigned EC2 request (auth on) -> 401 MissingAuthenticationToken" "401 1" \
    "$HTTP_STATUS $(grep -c '<Code>MissingAuthenticationToken</Code>' <<<"$HTTP_BODY" || true)"
http "${FORM[@]}" --data 'Action=GetCallerIdentity&Version=2011-06-15' "$ON_URL"
check_eq "raw unsigned STS request (auth on) -> 403 MissingAuthenticationToken" "403 1" \
    "$HTTP_STATUS $(grep -c '<Code>MissingAuthenticationToken</Code>' <<<"$HTTP_BODY" || true)"

# An oversized body (> 16 MiB): a 4xx, never a 5xx, and the server keeps answering.
head -c $((16 * 1024 * 1024 + 1024)) /dev/zero | tr '\0' 'a' >"$WORKDIR/big"
{ printf 'Action=DescribeVpcs&Version=2016-11-15&Filter.1.Name=vpc-id&Filter.1.Value.1='; cat "$WORKDIR/big"; } >"$WORKDIR/big.form"
http "${FORM[@]}" --data-binary @"$WORKDIR/big.form" "$OFF_URL"
check_match "raw: a 16 MiB+ EC2 form body -> 4xx ($HTTP_STATUS)" '^4[0-9][0-9]$' "$HTTP_STATUS"
http -X PUT -H 'Content-Type: application/json' --data-binary @"$WORKDIR/big" "${OFF_URL}environments/my-env"
check_match "raw: a 16 MiB+ MWAA JSON body -> 4xx ($HTTP_STATUS)" '^4[0-9][0-9]$' "$HTTP_STATUS"
http "${FORM[@]}" --data-binary @"$WORKDIR/big.form" "$ON_URL"
check_match "raw: a 16 MiB+ body to the auth-on server -> 4xx ($HTTP_STATUS)" '^4[0-9][0-9]$' "$HTTP_STATUS"
cat >"$WORKDIR/big.py" <<'EOF'
import sys, botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError
client = botocore.session.Session().create_client(
    "ec2", region_name="us-west-2", endpoint_url=sys.argv[1],
    aws_access_key_id="test", aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}))
try:
    client.describe_vpcs(Filters=[{"Name": "tag:x", "Values": ["a" * (17 * 1024 * 1024)]}])
    print("200\tOK")
except ClientError as e:
    print(e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"], sep="\t")
EOF
R=$("$PYTHON" "$WORKDIR/big.py" "$ON_URL" 2>&1 | tail -n 1)
check_match "a signed 17 MiB EC2 request -> 4xx EC2 error (${R//$'\t'/ })" $'^4[0-9][0-9]\t[A-Za-z.]+$' "$R"
http "http://127.0.0.1:$OFF_PORT/_airlock/health"
check_eq "the server still answers after the oversized bodies" "200" "$HTTP_STATUS"
expect_ok "the auth-on server still answers the CLI" ec2 describe-vpcs --max-results 5

# --- A clock 20 minutes off ------------------------------------------------------------------------------
# botocore signs with botocore.auth.get_current_datetime(); shift it and sign real requests.
cat >"$WORKDIR/skew.py" <<'EOF'
import datetime, os, sys
import botocore.auth, botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError

service, minutes, endpoint = sys.argv[1], float(sys.argv[2]), sys.argv[3]
real = botocore.auth.get_current_datetime
botocore.auth.get_current_datetime = lambda *a, **k: real(*a, **k) + datetime.timedelta(minutes=minutes)
client = botocore.session.Session().create_client(
    service, region_name="us-west-2", endpoint_url=endpoint,
    aws_access_key_id="test", aws_secret_access_key="test",
    config=Config(retries={"max_attempts": 1}))
try:
    {"ec2": lambda: client.describe_vpcs(), "sts": lambda: client.get_caller_identity(),
     "iam": lambda: client.list_roles()}[service]()
    print("200\tOK\t")
except ClientError as e:
    print(e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"],
          e.response["Error"]["Message"], sep="\t")
EOF
skewed() { "$PYTHON" "$WORKDIR/skew.py" "$@" "$ON_URL" 2>&1 | tail -n 1; }
R=$(skewed ec2 -20)
check_match "ec2 request signed 20 min in the past -> RequestExpired" $'^[0-9]+\tRequestExpired\t' "$R"
check_contains "... message says Signature expired" "Signature expired" "$R"
R=$(skewed sts -20)
check_match "sts request signed 20 min in the past -> SignatureDoesNotMatch" $'^[0-9]+\tSignatureDoesNotMatch\t' "$R"
check_contains "... message says Signature expired" "Signature expired" "$R"
R=$(skewed ec2 20)
check_match "ec2 request signed 20 min in the future -> RequestExpired" $'^[0-9]+\tRequestExpired\t' "$R"
R=$(skewed ec2 -3)
check_match "ec2 request signed 3 min in the past is accepted" $'^200\tOK' "$R"

# --- Nothing changed ---------------------------------------------------------------------------------
check_eq "VPCs, subnets and rules are unchanged after all the errors" "$BEFORE" "$(snapshot)"
(
    use_server "$OFF_PORT"
    check_eq "the --auth off server still has just its default VPC" "1" \
        "$(q ec2 describe-vpcs --query 'length(Vpcs)')"
)

finish
