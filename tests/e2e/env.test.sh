#!/usr/bin/env bash
# `airlock env` and the admin endpoints /_airlock/health and /_airlock/reset.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

expected_env() { # ADDR REGION
    printf '%s\n' \
        "export AWS_ENDPOINT_URL=http://$1" \
        "export AWS_DISABLE_HOST_PREFIX_INJECTION=true" \
        "export AWS_ACCESS_KEY_ID=test" \
        "export AWS_SECRET_ACCESS_KEY=test" \
        "export AWS_REGION=$2" \
        "export AWS_DEFAULT_REGION=$2" \
        "export AIRLOCK_DNS_SERVER=${3:-127.0.0.1:1053}" \
        "# the web console: http://$1/_airlock/console/"
}

# --- airlock env ---------------------------------------------------------------------------------------
run "$AIRLOCK_BIN" env --listen 127.0.0.1:4599
check_eq "airlock env --listen 127.0.0.1:4599: exit 0, nothing on stderr" "0 " "$RC $ERR"
check_eq "airlock env --listen 127.0.0.1:4599 prints exactly the seven exports and the console's address" \
    "$(expected_env 127.0.0.1:4599 us-west-2)" "$OUT"
run env -u AIRLOCK_LISTEN "$AIRLOCK_BIN" env
check_eq "airlock env without --listen points at 127.0.0.1:4566" "$(expected_env 127.0.0.1:4566 us-west-2)" "$OUT"
run env AIRLOCK_LISTEN=127.0.0.1:4600 "$AIRLOCK_BIN" env
check_eq "airlock env follows AIRLOCK_LISTEN" "$(expected_env 127.0.0.1:4600 us-west-2)" "$OUT"
run "$AIRLOCK_BIN" env --listen 127.0.0.1:4599 --region eu-west-1
check_eq "airlock env --region eu-west-1 sets both region variables" "$(expected_env 127.0.0.1:4599 eu-west-1)" "$OUT"
run "$AIRLOCK_BIN" env --listen 127.0.0.1:4599 --dns-listen 127.0.0.1:5399
check_eq "airlock env --dns-listen names Airlock's DNS for airlock mwaa" "$(expected_env 127.0.0.1:4599 us-west-2 127.0.0.1:5399)" "$OUT"
check_eq "eval in a POSIX sh with an empty environment sets exactly those seven variables" \
    "AIRLOCK_DNS_SERVER=127.0.0.1:1053
AWS_ACCESS_KEY_ID=test
AWS_DEFAULT_REGION=us-west-2
AWS_DISABLE_HOST_PREFIX_INJECTION=true
AWS_ENDPOINT_URL=http://127.0.0.1:4599
AWS_REGION=us-west-2
AWS_SECRET_ACCESS_KEY=test" \
    "$(env -i /bin/sh -c 'eval "$("$0" env --listen 127.0.0.1:4599)"; env' "$AIRLOCK_BIN" | grep -E '^(AWS|AIRLOCK)_' | LC_ALL=C sort)"

# --- A server, used only through the exports -------------------------------------------------------------
start_server
URL=http://127.0.0.1:$PORT
awsrun sts get-caller-identity
check_eq "with only the exports, the CLI reaches Airlock as the default account's root" \
    "0 arn:aws:iam::000000000000:root" "$RC $(J "$OUT" 'd["Arn"]')"

http -D "$WORKDIR/health.headers" "$URL/_airlock/health"
check_eq "GET /_airlock/health -> 200" "200" "$HTTP_STATUS"
check_contains "... as application/json" "application/json" "$(tr 'A-Z' 'a-z' <"$WORKDIR/health.headers" | grep '^content-type' || true)"
check_eq "... with status running, not persistent (--ephemeral)" "running False" \
    "$(J "$HTTP_BODY" 'd["status"] + " " + str(d["persistent"])')"
check_contains "... listing the services" "ec2" "$(J "$HTTP_BODY" 'd["services"]')"
http -X POST "$URL/_airlock/health"
check_eq "POST /_airlock/health -> 405" "405" "$HTTP_STATUS"

# --- POST /_airlock/reset ----------------------------------------------------------------------------------
VPC=$(q ec2 create-vpc --cidr-block 10.60.0.0/16 --query Vpc.VpcId)
check_match "create a VPC" '^vpc-[0-9a-f]{17}$' "$VPC"
check_eq "create a role" "arn:aws:iam::000000000000:role/to-be-reset" "$(q iam create-role --role-name to-be-reset \
    --assume-role-policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"airflow.amazonaws.com"},"Action":"sts:AssumeRole"}]}' \
    --query Role.Arn)"
DEFAULT_BEFORE=$(q ec2 describe-vpcs --filters Name=is-default,Values=true --query 'Vpcs[].VpcId')
check_match "there is a default VPC" '^vpc-[0-9a-f]{17}$' "$DEFAULT_BEFORE"

http -X GET "$URL/_airlock/reset"
check_eq "GET /_airlock/reset -> 405 (reset needs POST)" "405" "$HTTP_STATUS"
# What a web page can make a browser send without a preflight is refused (and resets nothing).
http -X POST -H 'Content-Type: text/plain' --data 'x' "$URL/_airlock/reset"
check_eq "POST /_airlock/reset as text/plain (a cross-site form) -> 415" "415" "$HTTP_STATUS"
http -X POST -H 'Origin: http://evil.example' -H 'X-Airlock-Admin: 1' "$URL/_airlock/reset"
check_eq "POST /_airlock/reset from another origin -> 403" "403 CrossOriginRefused" "$HTTP_STATUS $(J "$HTTP_BODY" 'd["error"]')"
http -X POST "$URL/_airlock/reset"
check_eq "POST /_airlock/reset without X-Airlock-Admin -> 403" "403 AdminHeaderRequired" "$HTTP_STATUS $(J "$HTTP_BODY" 'd["error"]')"
check_eq "... and the VPC is still there" "$VPC" "$(q ec2 describe-vpcs --vpc-ids "$VPC" --query 'Vpcs[0].VpcId')"
http -X POST -H 'X-Airlock-Admin: 1' "$URL/_airlock/reset"
check_eq "POST /_airlock/reset with X-Airlock-Admin: 1 -> 200" "200" "$HTTP_STATUS"
check_eq "... answering {\"reset\":true}" "true" "$(J "$HTTP_BODY" 'd["reset"]')"

expect_error "after reset the created VPC is gone" InvalidVpcID.NotFound ec2 describe-vpcs --vpc-ids "$VPC"
expect_error "after reset the role is gone" NoSuchEntity iam get-role --role-name to-be-reset
VPCS=$(qj ec2 describe-vpcs)
check_eq "after reset there is exactly one VPC, the default one" "1 True" \
    "$(J "$VPCS" 'str(len(d["Vpcs"])) + " " + str(all(v["IsDefault"] for v in d["Vpcs"]))')"
DEFAULT_AFTER=$(J "$VPCS" 'd["Vpcs"][0]["VpcId"]')
check_match "the default VPC came back" '^vpc-[0-9a-f]{17}$' "$DEFAULT_AFTER"
check_ne "... with a new id" "$DEFAULT_BEFORE" "$DEFAULT_AFTER"
check_eq "... and its default subnets, one per AZ" "us-west-2a us-west-2b us-west-2c us-west-2d" \
    "$(q ec2 describe-subnets --filters "Name=vpc-id,Values=$DEFAULT_AFTER" --query 'sort(Subnets[].AvailabilityZone)' | paste -sd ' ')"
http "$URL/_airlock/health"
check_eq "the server is still running after reset" "200 running" "$HTTP_STATUS $(J "$HTTP_BODY" 'd["status"]')"

# --- --default-account ------------------------------------------------------------------------------------
start_server --default-account 123456789012
check_eq "--default-account 123456789012: the test key acts in that account" "123456789012" \
    "$(q sts get-caller-identity --query Account)"

finish
