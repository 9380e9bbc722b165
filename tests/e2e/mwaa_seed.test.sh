#!/usr/bin/env bash
# The AWS page's procedure with the AWS CLI and dig: an MWAA environment per access mode and
# endpoint-management mode, then steps 1–4 verbatim against Airlock's DNS server, then deletion.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

start_server --time-scale 0.002

mwaa_network
ROLE=arn:aws:iam::000000000000:role/mwaa-exec
NET="SubnetIds=$A,$B,SecurityGroupIds=$SG"

mk() { # mk NAME [extra args]: create-environment
    local name=$1
    shift
    q mwaa create-environment --name "$name" --execution-role-arn "$ROLE" --source-bucket-arn arn:aws:s3:::my-airflow-bucket \
        --dag-s3-path dags --network-configuration "$NET" "$@" --query Arn
}
status_is() { [[ $(q mwaa get-environment --name "$1" --query Environment.Status) == "$2" ]]; }

check_eq "create-environment returns the ARN" "arn:aws:airflow:us-west-2:000000000000:environment/MyAirflowEnvironment" "$(mk MyAirflowEnvironment)"
check_eq "a new environment is CREATING" CREATING "$(q mwaa get-environment --name MyAirflowEnvironment --query Environment.Status)"
mk PublicEnv --webserver-access-mode PUBLIC_ONLY >/dev/null
mk CustomerEnv --endpoint-management CUSTOMER >/dev/null
poll_until "MyAirflowEnvironment becomes AVAILABLE" 100 0.2 status_is MyAirflowEnvironment AVAILABLE
poll_until "PublicEnv becomes AVAILABLE" 100 0.2 status_is PublicEnv AVAILABLE
poll_until "CustomerEnv waits in PENDING for its endpoints" 100 0.2 status_is CustomerEnv PENDING

# Step 1, verbatim: the private form of the URL, quoted.
run "$AWS" mwaa get-environment --name MyAirflowEnvironment --query 'Environment.WebserverUrl'
check_match "step 1 prints \"<uuid>-vpce.c<N>.us-west-2.airflow.amazonaws.com\"" \
    '^"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-vpce\.c[0-9]+\.us-west-2\.airflow\.amazonaws\.com"$' "$OUT"
HOST=${OUT//\"/}
PUBHOST=$(q mwaa get-environment --name PublicEnv --query Environment.WebserverUrl)
check_match "a public webserver's URL has no -vpce" '^[0-9a-f-]{36}\.c[0-9]+\.us-west-2\.airflow\.amazonaws\.com$' "$PUBHOST"

# Step 2, verbatim: one line, the webserver endpoint's regional name with a trailing dot.
CNAME=$(dig @127.0.0.1 -p "$DNS_PORT" CNAME +short "$HOST")
WEBSVC=$(q mwaa get-environment --name MyAirflowEnvironment --query Environment.WebserverVpcEndpointService)
REGIONAL=$(q ec2 describe-vpc-endpoints --filters "Name=service-name,Values=$WEBSVC" --query 'VpcEndpoints[0].DnsEntries[0].DnsName')
check_eq "step 2: dig CNAME +short prints the endpoint's first DnsEntries name and a dot" "$REGIONAL." "$CNAME"

# Step 3, verbatim: grep finds the DnsName line.
LINE=$("$AWS" ec2 describe-vpc-endpoints | grep "$CNAME" || true)
check_match "step 3: describe-vpc-endpoints | grep <name> prints its DnsName line" '^ +"DnsName": "vpce-[0-9a-f]{17}-[a-z0-9]{8}\.vpce-svc-[0-9a-f]{17}\.us-west-2\.vpce\.amazonaws\.com",$' "$LINE"

# Step 4, verbatim: the CNAME, then the addresses, twice (once per name).
mapfile -t STEP4 < <(dig @127.0.0.1 -p "$DNS_PORT" +short "$HOST" "$CNAME")
check_eq "step 4 prints the CNAME first" "$CNAME" "${STEP4[0]}"
check_eq "step 4 prints 1 + 2 + 2 lines" 5 "${#STEP4[@]}"
mapfile -t ENI_IPS < <(q ec2 describe-network-interfaces --filters "Name=description,Values=*$(cut -d- -f1-2 <<<"$CNAME")*" --query 'NetworkInterfaces[].PrivateIpAddress' | sort)
check_eq "step 4's addresses are the endpoint ENIs' PrivateIpAddress" "$(printf '%s\n' "${ENI_IPS[@]}")" "$(printf '%s\n' "${STEP4[1]}" "${STEP4[2]}" | sort)"
check "the first address lies in 10.192.20.0/24" ip_usable_in_cidr "${ENI_IPS[0]}" 10.192.20.0/24
check "the second address lies in 10.192.21.0/24" ip_usable_in_cidr "${ENI_IPS[1]}" 10.192.21.0/24
check_eq "the answer for the endpoint name is the same pair" "$(printf '%s\n' "${STEP4[1]}" "${STEP4[2]}")" "$(printf '%s\n' "${STEP4[3]}" "${STEP4[4]}")"
FULL=$(dig @127.0.0.1 -p "$DNS_PORT" "$HOST")
check_contains "answers are authoritative" "flags: qr aa rd ra" "$FULL"
check_contains "no 'recursion requested but not available' warning" "ANSWER: 3" "$FULL"
check_eq "AAAA of the endpoint name: NOERROR, no address" "NOERROR:" "$(dig @127.0.0.1 -p "$DNS_PORT" AAAA "$CNAME" | grep -o 'status: [A-Z]*' | sed 's/status: //'):$(dig @127.0.0.1 -p "$DNS_PORT" AAAA +short "$CNAME")"
check_eq "the public webserver host resolves to one public (loopback) address" 1 "$(dig @127.0.0.1 -p "$DNS_PORT" +short "$PUBHOST" | grep -c '^127\.255\.')"

# What MWAA created: two endpoints for the private environment, one for the public one, none for
# the customer-managed one; ENIs tagged, in the environment's subnets and group.
check_eq "PRIVATE_ONLY + SERVICE + PUBLIC_ONLY: three MWAA endpoints in the VPC" 3 \
    "$(q ec2 describe-vpc-endpoints --filters "Name=vpc-id,Values=$VPC" "Name=tag-key,Values=AmazonMWAAManaged" --query 'length(VpcEndpoints)')"
check_eq "each endpoint uses the environment's security group" "$SG" \
    "$(q ec2 describe-vpc-endpoints --filters "Name=vpc-id,Values=$VPC" --query 'VpcEndpoints[].Groups[].GroupId' | sort -u)"
check_eq "each endpoint is in both private subnets" "$(printf '%s\n' "$A" "$B" | sort)" \
    "$(q ec2 describe-vpc-endpoints --filters "Name=vpc-id,Values=$VPC" --query 'VpcEndpoints[].SubnetIds[]' | sort -u)"
check_eq "the endpoint services are listed" 1 \
    "$(q ec2 describe-vpc-endpoint-services --service-names "$WEBSVC" --query 'length(ServiceDetails)')"

# The customer creates the endpoints for CustomerEnv; it then proceeds to AVAILABLE.
for SVC in $(q mwaa get-environment --name CustomerEnv --query 'Environment.[WebserverVpcEndpointService,DatabaseVpcEndpointService]'); do
    q ec2 create-vpc-endpoint --vpc-endpoint-type Interface --vpc-id "$VPC" --service-name "$SVC" \
        --subnet-ids "$A" "$B" --security-group-ids "$SG" --query VpcEndpoint.VpcEndpointId >/dev/null
done
poll_until "CustomerEnv becomes AVAILABLE once its endpoints exist" 150 0.2 status_is CustomerEnv AVAILABLE
CHOST=$(q mwaa get-environment --name CustomerEnv --query Environment.WebserverUrl)
check_eq "the customer-managed webserver host resolves to two addresses" 2 "$(dig @127.0.0.1 -p "$DNS_PORT" +short "$CHOST" | grep -c '^10\.192\.')"

# Validation: bad requests are refused and create nothing.
expect_error "two subnets in one zone are refused" ValidationException mwaa create-environment --name Bad1 \
    --execution-role-arn "$ROLE" --source-bucket-arn arn:aws:s3:::my-airflow-bucket --dag-s3-path dags --network-configuration "SubnetIds=$A,$A,SecurityGroupIds=$SG"
expect_error "a public subnet is refused" ValidationException mwaa create-environment --name Bad2 \
    --execution-role-arn "$ROLE" --source-bucket-arn arn:aws:s3:::my-airflow-bucket --dag-s3-path dags --network-configuration "SubnetIds=$PUB,$B,SecurityGroupIds=$SG"
expect_error "an unknown Airflow version is refused" ValidationException mwaa create-environment --name Bad3 --airflow-version 1.10.12 \
    --execution-role-arn "$ROLE" --source-bucket-arn arn:aws:s3:::my-airflow-bucket --dag-s3-path dags --network-configuration "$NET"
# The source bucket must be as MWAA requires it.
bad_bucket() { # bad_bucket DESC BUCKET MESSAGE [extra args]
    local desc=$1 bucket=$2 message=$3
    shift 3
    expect_error "$desc" ValidationException mwaa create-environment --name BadBucket --execution-role-arn "$ROLE" \
        --source-bucket-arn "arn:aws:s3:::$bucket" --dag-s3-path dags --network-configuration "$NET" "$@"
    check_contains "... $message" "$message" "$ERR"
}
bad_bucket "a bucket that does not exist is refused" no-such-bucket \
    "Invalid request provided: Unable to check PublicAccessBlock configuration for the bucket no-such-bucket: The specified bucket does not exist"
q s3api create-bucket --bucket bare-bucket --create-bucket-configuration LocationConstraint=us-west-2 >/dev/null
q s3api put-public-access-block --bucket bare-bucket --public-access-block-configuration \
    BlockPublicAcls=true,IgnorePublicAcls=false,BlockPublicPolicy=true,RestrictPublicBuckets=true >/dev/null
bad_bucket "a bucket that lets some public access through is refused" bare-bucket \
    "Invalid request provided: Provided bucket does not have BlockPublicAccess set for s3 bucket bare-bucket."
q s3api put-public-access-block --bucket bare-bucket --public-access-block-configuration \
    BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true >/dev/null
bad_bucket "a bucket without versioning is refused" bare-bucket "does not have versioning enabled for s3 bucket bare-bucket"
bad_bucket "a requirements file that is not in the bucket is refused" my-airflow-bucket \
    "s3://my-airflow-bucket/requirements.txt: the object does not exist" \
    --requirements-s3-path requirements.txt --requirements-s3-object-version 1
check_eq "nothing was created by the refused requests" 3 "$(q mwaa list-environments --query 'length(Environments)')"

# Deletion: DELETING, then gone, with its names.
q mwaa delete-environment --name MyAirflowEnvironment >/dev/null
check_eq "a deleted environment is DELETING" DELETING "$(q mwaa get-environment --name MyAirflowEnvironment --query Environment.Status)"
gone() { ! "$AWS" mwaa get-environment --name MyAirflowEnvironment >/dev/null 2>&1; }
poll_until "then GetEnvironment answers ResourceNotFoundException" 100 0.2 gone
expect_error "the error is ResourceNotFoundException" ResourceNotFoundException mwaa get-environment --name MyAirflowEnvironment
nx() { dig @127.0.0.1 -p "$DNS_PORT" "$HOST" | grep -q 'status: NXDOMAIN'; }
poll_until "the webserver host answers NXDOMAIN" 50 0.2 nx
nx2() { dig @127.0.0.1 -p "$DNS_PORT" "$CNAME" | grep -q 'status: NXDOMAIN'; }
poll_until "the endpoint name answers NXDOMAIN" 50 0.2 nx2

finish
