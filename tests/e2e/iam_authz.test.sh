#!/usr/bin/env bash
# IAM authorization (issue #20): every request after its signature is evaluated against the
# caller's policies. A user with no policies is refused with AWS's AccessDenied text in each
# protocol's shape; an attached or inline policy allows; an explicit deny wins; a permissions
# boundary and a session policy limit; conditions and policy variables apply; the simulators
# answer from the same evaluator; `--iam log` logs and allows, `--iam off` skips the step.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

start_server
ACCOUNT=000000000000

# --- a user with a key and no policies ----------------------------------------------------------
expect_ok "create-user bob" iam create-user --user-name bob
awsrun iam create-access-key --user-name bob
BOB_KEY=$(J "$OUT" 'd["AccessKey"]["AccessKeyId"]')
BOB_SECRET=$(J "$OUT" 'd["AccessKey"]["SecretAccessKey"]')
bob() { AWS_ACCESS_KEY_ID=$BOB_KEY AWS_SECRET_ACCESS_KEY=$BOB_SECRET "$@"; }
BOB=arn:aws:iam::$ACCOUNT:user/bob

bob awsrun sts get-caller-identity
check_eq "GetCallerIdentity needs no permission" "0 $BOB" "$RC $(J "$OUT" 'd["Arn"]')"

bob expect_error "EC2 without a policy" UnauthorizedOperation ec2 describe-vpcs
check_contains "... EC2's wording, no resource for a Describe" \
    "You are not authorized to perform this operation. User: $BOB is not authorized to perform: ec2:DescribeVpcs because no identity-based policy allows the ec2:DescribeVpcs action" "$ERR"
bob expect_error "IAM (query) without a policy" AccessDenied iam list-roles
check_contains "... IAM's wording" \
    "User: $BOB is not authorized to perform: iam:ListRoles because no identity-based policy allows the iam:ListRoles action" "$ERR"
bob expect_error "IAM on a named user" AccessDenied iam get-user --user-name bob
check_contains "... names the resource" \
    "is not authorized to perform: iam:GetUser on resource: $BOB because" "$ERR"
bob expect_error "ELBv2 without a policy" AccessDenied elbv2 describe-load-balancers
bob expect_error "ACM (json) without a policy" AccessDeniedException acm list-certificates
bob expect_error "MWAA (rest-json) without a policy" AccessDeniedException mwaa list-environments
check_contains "... MWAA's wording" \
    "is not authorized to perform: airflow:ListEnvironments because no identity-based policy allows the airflow:ListEnvironments action" "$ERR"
q s3api create-bucket --bucket authz-data --create-bucket-configuration LocationConstraint=us-west-2 >/dev/null
bob expect_error "S3 (rest-xml) without a policy" AccessDenied s3api get-object --bucket authz-data --key k "$WORKDIR/k"
check_contains "... S3 quotes the resource" \
    "is not authorized to perform: s3:GetObject on resource: \"arn:aws:s3:::authz-data/k\" because no identity-based policy allows the s3:GetObject action" "$ERR"
bob awsrun ec2 describe-vpcs --debug
check_match "EC2's refusal is HTTP 403" '"POST / HTTP/1.1" 403' "$ERR"

# --- a managed policy allows ---------------------------------------------------------------------
expect_ok "attach AmazonEC2ReadOnlyAccess" iam attach-user-policy --user-name bob \
    --policy-arn arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess
check_eq "list-attached-user-policies" "AmazonEC2ReadOnlyAccess" \
    "$(q iam list-attached-user-policies --user-name bob --query 'AttachedPolicies[].PolicyName')"
bob expect_ok "EC2 Describe* now allowed" ec2 describe-vpcs
bob expect_error "... but not CreateVpc" UnauthorizedOperation ec2 create-vpc --cidr-block 10.9.0.0/16
bob expect_error "... nor IAM" AccessDenied iam list-roles
expect_error "delete-user while a policy is attached" DeleteConflict iam delete-user --user-name bob
expect_error "attach-user-policy to a user that does not exist" NoSuchEntity \
    iam attach-user-policy --user-name nobody --policy-arn arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess

# --- an inline explicit deny wins ----------------------------------------------------------------
expect_ok "put-user-policy with a Deny" iam put-user-policy --user-name bob --policy-name no-vpcs \
    --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"ec2:DescribeVpcs","Resource":"*"}]}'
check_eq "list-user-policies" "no-vpcs" "$(q iam list-user-policies --user-name bob --query PolicyNames)"
check_contains "get-user-policy returns the document" '"Effect":"Deny"' \
    "$(q iam get-user-policy --user-name bob --policy-name no-vpcs --query PolicyDocument --output json)"
bob expect_error "explicit deny beats the managed allow" UnauthorizedOperation ec2 describe-vpcs
check_contains "... with an explicit deny" \
    "User: $BOB is not authorized to perform: ec2:DescribeVpcs with an explicit deny in an identity-based policy" "$ERR"
bob expect_ok "... other Describe calls still allowed" ec2 describe-subnets
expect_ok "delete-user-policy" iam delete-user-policy --user-name bob --policy-name no-vpcs
expect_error "get-user-policy after the delete" NoSuchEntity iam get-user-policy --user-name bob --policy-name no-vpcs
check_contains "... AWS's wording" "The user policy with name no-vpcs cannot be found." "$ERR"
expect_error "put-user-policy with an unknown condition operator" MalformedPolicyDocument \
    iam put-user-policy --user-name bob --policy-name bad --policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringSortOf":{"aws:username":"x"}}}]}'
expect_error "put-user-policy naming a principal" MalformedPolicyDocument \
    iam put-user-policy --user-name bob --policy-name bad --policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}'
bob expect_ok "describe-vpcs allowed again" ec2 describe-vpcs

# --- conditions and policy variables -------------------------------------------------------------
expect_ok "an inline policy with a region condition and \${aws:username}" \
    iam put-user-policy --user-name bob --policy-name scoped --policy-document '{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": "airflow:ListEnvironments", "Resource": "*",
     "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}},
    {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "arn:aws:iam::*:user/${aws:username}"},
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
     "Condition": {"NotIpAddress": {"aws:SourceIp": "127.0.0.0/8"}}}
  ]
}'
bob expect_ok "airflow:ListEnvironments in eu-west-1" mwaa list-environments --region eu-west-1
bob expect_error "... but not in us-west-2" AccessDeniedException mwaa list-environments --region us-west-2
bob expect_ok "iam:GetUser on \${aws:username} (own user)" iam get-user --user-name bob
expect_ok "create-user carol" iam create-user --user-name carol
bob expect_error "... but not on another user" AccessDenied iam get-user --user-name carol
bob expect_error "NotIpAddress 127.0.0.0/8: a loopback client is refused" AccessDenied \
    s3api get-object --bucket authz-data --key k "$WORKDIR/k"
expect_ok "delete-user-policy scoped" iam delete-user-policy --user-name bob --policy-name scoped

# --- groups: members get the group's policies ------------------------------------------------------
check_eq "create-group readers" "arn:aws:iam::$ACCOUNT:group/readers" \
    "$(q iam create-group --group-name readers --query Group.Arn)"
expect_error "create-group twice" EntityAlreadyExists iam create-group --group-name readers
expect_ok "attach AmazonEC2ReadOnlyAccess to the group" iam attach-group-policy --group-name readers \
    --policy-arn arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess
expect_ok "an inline group policy denying DescribeSubnets" iam put-group-policy --group-name readers \
    --policy-name no-subnets --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"ec2:DescribeSubnets","Resource":"*"}]}'
awsrun iam create-access-key --user-name carol
C_KEY=$(J "$OUT" 'd["AccessKey"]["AccessKeyId"]')
C_SECRET=$(J "$OUT" 'd["AccessKey"]["SecretAccessKey"]')
carol() { AWS_ACCESS_KEY_ID=$C_KEY AWS_SECRET_ACCESS_KEY=$C_SECRET "$@"; }
carol expect_error "carol, in no group, may not DescribeVpcs" UnauthorizedOperation ec2 describe-vpcs
expect_ok "add-user-to-group carol readers" iam add-user-to-group --group-name readers --user-name carol
check_eq "get-group lists carol" "carol" "$(q iam get-group --group-name readers --query 'Users[].UserName')"
check_eq "list-groups-for-user carol" "readers" "$(q iam list-groups-for-user --user-name carol --query 'Groups[].GroupName')"
carol expect_ok "carol may DescribeVpcs through the group" ec2 describe-vpcs
carol expect_error "... and the group's deny applies to her" UnauthorizedOperation ec2 describe-subnets
expect_error "delete-group with a member" DeleteConflict iam delete-group --group-name readers
expect_error "delete-user while in a group" DeleteConflict iam delete-user --user-name carol
expect_error "add-user-to-group of a group that does not exist" NoSuchEntity \
    iam add-user-to-group --group-name nope --user-name carol
expect_ok "remove-user-from-group" iam remove-user-from-group --group-name readers --user-name carol
carol expect_error "out of the group, carol is refused again" UnauthorizedOperation ec2 describe-vpcs
expect_error "delete-group with policies" DeleteConflict iam delete-group --group-name readers
expect_ok "detach-group-policy" iam detach-group-policy --group-name readers \
    --policy-arn arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess
expect_ok "delete-group-policy" iam delete-group-policy --group-name readers --policy-name no-subnets
expect_ok "delete-group" iam delete-group --group-name readers
check_eq "list-groups is empty" "" "$(q iam list-groups --query 'Groups[].GroupName')"

# --- a permissions boundary limits ---------------------------------------------------------------
expect_ok "a customer managed boundary allowing only ec2:DescribeSubnets" \
    iam create-policy --policy-name subnets-only \
    --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:DescribeSubnets","Resource":"*"}]}'
expect_ok "create-user dana with the boundary" iam create-user --user-name dana \
    --permissions-boundary "arn:aws:iam::$ACCOUNT:policy/subnets-only"
expect_ok "attach AmazonEC2ReadOnlyAccess to dana" iam attach-user-policy --user-name dana \
    --policy-arn arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess
awsrun iam create-access-key --user-name dana
DANA_KEY=$(J "$OUT" 'd["AccessKey"]["AccessKeyId"]')
DANA_SECRET=$(J "$OUT" 'd["AccessKey"]["SecretAccessKey"]')
AWS_ACCESS_KEY_ID=$DANA_KEY AWS_SECRET_ACCESS_KEY=$DANA_SECRET \
    expect_ok "the boundary and the policy both allow DescribeSubnets" ec2 describe-subnets
AWS_ACCESS_KEY_ID=$DANA_KEY AWS_SECRET_ACCESS_KEY=$DANA_SECRET \
    expect_error "the policy allows DescribeVpcs, the boundary does not" UnauthorizedOperation ec2 describe-vpcs
check_contains "... because no permissions boundary allows" \
    "because no permissions boundary allows the ec2:DescribeVpcs action" "$ERR"
SUBNETS_ONLY=arn:aws:iam::$ACCOUNT:policy/subnets-only
awsrun iam create-policy-version --policy-arn "$SUBNETS_ONLY" --set-as-default \
    --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:DescribeSubnets","ec2:DescribeVpcs"],"Resource":"*"}]}'
check_eq "create-policy-version v2 as the default" "0 v2 True" "$RC $(J "$OUT" 'd["PolicyVersion"]["VersionId"] + " " + str(d["PolicyVersion"]["IsDefaultVersion"])')"
AWS_ACCESS_KEY_ID=$DANA_KEY AWS_SECRET_ACCESS_KEY=$DANA_SECRET \
    expect_ok "the boundary's new default version allows DescribeVpcs at once" ec2 describe-vpcs
check_eq "list-policy-versions: newest first, v2 the default" "v2:True v1:False" \
    "$(qj iam list-policy-versions --policy-arn "$SUBNETS_ONLY" | J "$(cat)" '" ".join(v["VersionId"] + ":" + str(v["IsDefaultVersion"]) for v in d["Versions"])')"
expect_error "delete-policy-version of the default" DeleteConflict \
    iam delete-policy-version --policy-arn "$SUBNETS_ONLY" --version-id v2
expect_ok "set-default-policy-version v1" iam set-default-policy-version --policy-arn "$SUBNETS_ONLY" --version-id v1
AWS_ACCESS_KEY_ID=$DANA_KEY AWS_SECRET_ACCESS_KEY=$DANA_SECRET \
    expect_error "... and DescribeVpcs is refused again" UnauthorizedOperation ec2 describe-vpcs
expect_ok "delete-policy-version v2" iam delete-policy-version --policy-arn "$SUBNETS_ONLY" --version-id v2
expect_error "get-policy-version of the deleted version" NoSuchEntity \
    iam get-policy-version --policy-arn "$SUBNETS_ONLY" --version-id v2
for i in 1 2 3 4; do
    q iam create-policy-version --policy-arn "$SUBNETS_ONLY" \
        --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:DescribeSubnets","Resource":"*"}]}' >/dev/null
done
check_eq "version ids are never reused" "v6 v5 v4 v3 v1" \
    "$(qj iam list-policy-versions --policy-arn "$SUBNETS_ONLY" | J "$(cat)" '" ".join(v["VersionId"] for v in d["Versions"])')"
expect_error "a sixth version" LimitExceeded iam create-policy-version --policy-arn "$SUBNETS_ONLY" \
    --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:DescribeSubnets","Resource":"*"}]}'
expect_error "create-policy-version of an AWS managed policy" AccessDenied iam create-policy-version \
    --policy-arn arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess \
    --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'

# --- sessions: AssumeRole needs the permission; session policies limit ------------------------------
ROLE=$(q iam create-role --role-name reader --query Role.Arn --assume-role-policy-document \
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::$ACCOUNT:root\"},\"Action\":\"sts:AssumeRole\"}]}")
expect_ok "attach AmazonEC2ReadOnlyAccess to the role" iam attach-role-policy --role-name reader \
    --policy-arn arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess
bob expect_error "bob may not assume a role that trusts only the account" AccessDenied \
    sts assume-role --role-arn "$ROLE" --role-session-name ci
check_contains "... no identity-based policy allows sts:AssumeRole" \
    "is not authorized to perform: sts:AssumeRole on resource: $ROLE because no identity-based policy allows the sts:AssumeRole action" "$ERR"
expect_ok "an inline policy allowing sts:AssumeRole on it" iam put-user-policy --user-name bob \
    --policy-name assume --policy-document "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"sts:AssumeRole\",\"Resource\":\"$ROLE\"}]}"
bob awsrun sts assume-role --role-arn "$ROLE" --role-session-name ci \
    --policy '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:DescribeSubnets","Resource":"*"}]}'
check_eq "... then the assume-role succeeds (with a session policy)" "0" "$RC"
S_KEY=$(J "$OUT" 'd["Credentials"]["AccessKeyId"]')
S_SECRET=$(J "$OUT" 'd["Credentials"]["SecretAccessKey"]')
S_TOKEN=$(J "$OUT" 'd["Credentials"]["SessionToken"]')
sess() { AWS_ACCESS_KEY_ID=$S_KEY AWS_SECRET_ACCESS_KEY=$S_SECRET AWS_SESSION_TOKEN=$S_TOKEN "$@"; }
sess expect_ok "the session may DescribeSubnets (role and session policy allow)" ec2 describe-subnets
sess expect_error "the session may not DescribeVpcs (the session policy does not allow)" \
    UnauthorizedOperation ec2 describe-vpcs
check_contains "... because no session policy allows" \
    "User: arn:aws:sts::$ACCOUNT:assumed-role/reader/ci is not authorized to perform: ec2:DescribeVpcs because no session policy allows the ec2:DescribeVpcs action" "$ERR"

# --- the simulators -------------------------------------------------------------------------------
check_eq "simulate-principal-policy: allowed and implicitDeny" "allowed implicitDeny" \
    "$(q iam simulate-principal-policy --policy-source-arn "$BOB" \
        --action-names ec2:DescribeVpcs ec2:CreateVpc --query 'EvaluationResults[].EvalDecision' | tr '\n' ' ' | sed 's/ $//')"
check_eq "simulate-custom-policy: explicitDeny" "explicitDeny" \
    "$(q iam simulate-custom-policy --action-names s3:GetObject --resource-arns arn:aws:s3:::b/k \
        --policy-input-list '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}' \
        --query 'EvaluationResults[0].EvalDecision')"
check_eq "simulate-custom-policy with a context entry" "allowed" \
    "$(q iam simulate-custom-policy --action-names ec2:RunInstances \
        --policy-input-list '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:*","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"eu-west-1"}}}]}' \
        --context-entries ContextKeyName=aws:RequestedRegion,ContextKeyValues=eu-west-1,ContextKeyType=string \
        --query 'EvaluationResults[0].EvalDecision')"
expect_error "simulate-custom-policy with a broken policy" MalformedPolicyDocument \
    iam simulate-custom-policy --action-names s3:GetObject --policy-input-list '{"Statement":'
expect_error "simulate-principal-policy of a user that does not exist" NoSuchEntity \
    iam simulate-principal-policy --policy-source-arn "arn:aws:iam::$ACCOUNT:user/nobody" --action-names s3:GetObject

# --- MWAA: the Airflow role follows the caller's policies ------------------------------------------
mwaa_network
q mwaa create-environment --name authz-env --execution-role-arn "arn:aws:iam::$ACCOUNT:role/mwaa-exec" \
    --source-bucket-arn arn:aws:s3:::my-airflow-bucket --dag-s3-path dags \
    --network-configuration "SubnetIds=$A,$B,SecurityGroupIds=$SG" >/dev/null
available() { [[ $(q mwaa get-environment --name authz-env --query Environment.Status) == AVAILABLE ]]; }
poll_until "the environment becomes AVAILABLE" 100 0.2 available
expect_ok "create-user vera" iam create-user --user-name vera
awsrun iam create-access-key --user-name vera
V_KEY=$(J "$OUT" 'd["AccessKey"]["AccessKeyId"]')
V_SECRET=$(J "$OUT" 'd["AccessKey"]["SecretAccessKey"]')
vera() { AWS_ACCESS_KEY_ID=$V_KEY AWS_SECRET_ACCESS_KEY=$V_SECRET "$@"; }
expect_ok "vera may sign in and call the REST API as Viewer of authz-env only" \
    iam put-user-policy --user-name vera --policy-name viewer --policy-document "{
  \"Version\": \"2012-10-17\",
  \"Statement\": [{\"Effect\": \"Allow\",
    \"Action\": [\"airflow:CreateWebLoginToken\", \"airflow:InvokeRestApi\"],
    \"Resource\": \"arn:aws:airflow:us-west-2:$ACCOUNT:role/authz-env/Viewer\"}]
}"
vera expect_ok "vera: create-web-login-token" mwaa create-web-login-token --name authz-env
vera expect_ok "vera (Viewer): invoke-rest-api GET /dags" \
    mwaa invoke-rest-api --name authz-env --path /dags --method GET
vera expect_error "vera (Viewer): invoke-rest-api POST a DAG run" RestApiClientException \
    mwaa invoke-rest-api --name authz-env --path /dags/tutorial/dagRuns --method POST --body '{}'
check_contains "... Airflow answered 403" "Airflow answered 403" "$ERR"
expect_ok "the root (Admin) may trigger it" \
    mwaa invoke-rest-api --name authz-env --path /dags/tutorial/dagRuns --method POST --body '{}'
vera expect_error "vera: no rights on another environment" AccessDeniedException \
    mwaa create-web-login-token --name other-env
check_contains "... names the Admin role resource" \
    "is not authorized to perform: airflow:CreateWebLoginToken on resource: arn:aws:airflow:us-west-2:$ACCOUNT:role/other-env/Admin because no identity-based policy allows" "$ERR"
vera expect_error "vera: no airflow:CreateCliToken" AccessDeniedException mwaa create-cli-token --name authz-env
expect_ok "AmazonMWAAWebServerAccess grants up to Op" iam attach-user-policy --user-name vera \
    --policy-arn arn:aws:iam::aws:policy/AmazonMWAAWebServerAccess
expect_ok "... with InvokeRestApi on every role of the environment" iam put-user-policy --user-name vera \
    --policy-name rest --policy-document "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"airflow:InvokeRestApi\",\"Resource\":\"arn:aws:airflow:*:*:role/authz-env/User\"}]}"
vera expect_ok "vera (User): invoke-rest-api POST a DAG run" \
    mwaa invoke-rest-api --name authz-env --path /dags/tutorial/dagRuns --method POST --body '{}'

# --- resource tags and EC2's resources -------------------------------------------------------------
q iam put-user-policy --user-name vera --policy-name by-tag --policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"airflow:GetEnvironment","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/team":"data"}}},{"Effect":"Allow","Action":"ec2:CreateSubnet","Resource":"arn:aws:ec2:*:*:subnet/*"},{"Effect":"Allow","Action":["ec2:CreateSubnet","ec2:DeleteVpc"],"Resource":"arn:aws:ec2:*:*:vpc/*","Condition":{"StringEquals":{"ec2:ResourceTag/team":"data"}}},{"Effect":"Allow","Action":"ec2:CreateVpc","Resource":"*"}]}'
vera expect_error "aws:ResourceTag: an untagged environment" AccessDeniedException mwaa get-environment --name authz-env
q mwaa tag-resource --resource-arn "arn:aws:airflow:us-west-2:$ACCOUNT:environment/authz-env" --tags team=data >/dev/null
vera expect_ok "aws:ResourceTag: once tagged team=data" mwaa get-environment --name authz-env
TAGGED=$(vera q ec2 create-vpc --cidr-block 10.60.0.0/16 --tag-specifications 'ResourceType=vpc,Tags=[{Key=team,Value=data}]' --query Vpc.VpcId)
PLAIN=$(vera q ec2 create-vpc --cidr-block 10.61.0.0/16 --query Vpc.VpcId)
vera expect_ok "ec2:ResourceTag: a subnet in the VPC tagged team=data" ec2 create-subnet --vpc-id "$TAGGED" --cidr-block 10.60.1.0/24
vera expect_error "... not in the untagged one" UnauthorizedOperation ec2 create-subnet --vpc-id "$PLAIN" --cidr-block 10.61.1.0/24
check_contains "... EC2 names the VPC it refused" \
    "is not authorized to perform: ec2:CreateSubnet on resource: arn:aws:ec2:us-west-2:$ACCOUNT:vpc/$PLAIN because no identity-based policy allows the ec2:CreateSubnet action" "$ERR"
vera expect_error "ec2:DeleteVpc of the untagged VPC" UnauthorizedOperation ec2 delete-vpc --vpc-id "$PLAIN"

# --- boundaries and tags after creation, ListEntitiesForPolicy --------------------------------------
q iam create-user --user-name ivy >/dev/null
awsrun iam create-access-key --user-name ivy
IVY_KEY=$(J "$OUT" 'd["AccessKey"]["AccessKeyId"]')
IVY_SECRET=$(J "$OUT" 'd["AccessKey"]["SecretAccessKey"]')
ivy() { AWS_ACCESS_KEY_ID=$IVY_KEY AWS_SECRET_ACCESS_KEY=$IVY_SECRET "$@"; }
EC2RO=arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess
q iam attach-user-policy --user-name ivy --policy-arn "$EC2RO" >/dev/null
ivy expect_ok "ivy: EC2 read-only" ec2 describe-vpcs
expect_ok "put-user-permissions-boundary (S3 read-only)" iam put-user-permissions-boundary --user-name ivy \
    --permissions-boundary arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess
check_eq "get-user shows the boundary" arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess \
    "$(q iam get-user --user-name ivy --query User.PermissionsBoundary.PermissionsBoundaryArn)"
ivy expect_error "ivy: the boundary now refuses EC2" UnauthorizedOperation ec2 describe-vpcs
check_contains "... because no permissions boundary allows it" "because no permissions boundary allows the ec2:DescribeVpcs action" "$ERR"
expect_error "put-user-permissions-boundary with a policy that does not exist" NoSuchEntity \
    iam put-user-permissions-boundary --user-name ivy --permissions-boundary "arn:aws:iam::$ACCOUNT:policy/nope"
expect_error "put-user-permissions-boundary for a user that does not exist" NoSuchEntity \
    iam put-user-permissions-boundary --user-name nobody --permissions-boundary "$EC2RO"
check_eq "list-entities-for-policy (boundary use)" ivy "$(q iam list-entities-for-policy \
    --policy-arn arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess --policy-usage-filter PermissionsBoundary --query 'PolicyUsers[].UserName')"
expect_ok "delete-user-permissions-boundary" iam delete-user-permissions-boundary --user-name ivy
ivy expect_ok "ivy: EC2 read-only again" ec2 describe-vpcs
check_match "list-entities-for-policy (attached): ivy among the users" '(^|[[:space:]])ivy($|[[:space:]])' \
    "$(q iam list-entities-for-policy --policy-arn "$EC2RO" --entity-filter User --query 'PolicyUsers[].UserName')"
check_eq "... and no role or group when filtered to users" "0 0" \
    "$(q iam list-entities-for-policy --policy-arn "$EC2RO" --entity-filter User --query '[length(PolicyRoles), length(PolicyGroups)]' | tr '\n' ' ' | sed 's/ $//')"
expect_error "list-entities-for-policy of a policy that does not exist" NoSuchEntity \
    iam list-entities-for-policy --policy-arn "arn:aws:iam::$ACCOUNT:policy/nope"
q iam put-user-policy --user-name ivy --policy-name abac --policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:CreateVpc","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"data"}}}]}'
ivy expect_error "aws:PrincipalTag: ivy untagged" UnauthorizedOperation ec2 create-vpc --cidr-block 10.70.0.0/16
expect_ok "tag-user team=data" iam tag-user --user-name ivy --tags Key=team,Value=data
check_eq "list-user-tags" "team=data" "$(q iam list-user-tags --user-name ivy --query 'join(`=`, [Tags[0].Key, Tags[0].Value])')"
ivy expect_ok "aws:PrincipalTag: ivy tagged team=data" ec2 create-vpc --cidr-block 10.70.0.0/16
expect_ok "untag-user team" iam untag-user --user-name ivy --tag-keys TEAM
check_eq "... (keys are case-insensitive)" 0 "$(q iam list-user-tags --user-name ivy --query 'length(Tags)')"
ivy expect_error "aws:PrincipalTag: untagged again" UnauthorizedOperation ec2 create-vpc --cidr-block 10.71.0.0/16
expect_ok "tag-role" iam tag-role --role-name reader --tags Key=env,Value=prod
check_eq "list-role-tags" prod "$(q iam list-role-tags --role-name reader --query 'Tags[?Key==`env`].Value | [0]')"
TG=$(q elbv2 create-target-group --name authz-tg --protocol HTTPS --port 443 --vpc-id "$TAGGED" \
    --tags Key=team,Value=data --query 'TargetGroups[0].TargetGroupArn')
q iam put-user-policy --user-name ivy --policy-name by-resource-tag --policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetRole","Resource":"*","Condition":{"StringEquals":{"iam:ResourceTag/env":"prod"}}},{"Effect":"Allow","Action":"elasticloadbalancing:ModifyTargetGroup","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/team":"data"}}}]}'
ivy expect_ok "iam:ResourceTag: get-role of the role tagged env=prod" iam get-role --role-name reader
ivy expect_error "... not of an untagged role" AccessDenied iam get-role --role-name "$(q iam list-roles --query 'Roles[?RoleName!=`reader`].RoleName | [0]')"
ivy expect_ok "aws:ResourceTag: modify-target-group of the target group tagged team=data" elbv2 modify-target-group --target-group-arn "$TG" --health-check-path /health
q elbv2 remove-tags --resource-arns "$TG" --tag-keys team >/dev/null
ivy expect_error "... refused once untagged" AccessDenied elbv2 modify-target-group --target-group-arn "$TG" --health-check-path /health
expect_error "tag-role on a service-linked role" UnmodifiableEntity iam tag-role --role-name AWSServiceRoleForAmazonMWAA --tags Key=a,Value=b
expect_error "put-role-permissions-boundary on a service-linked role" UnmodifiableEntity \
    iam put-role-permissions-boundary --role-name AWSServiceRoleForAmazonMWAA --permissions-boundary "$EC2RO"

# --- --iam log and --iam off ----------------------------------------------------------------------
# as_new_user NAME CMD...: creates user NAME with a key (and no policies) and runs CMD with it.
as_new_user() {
    local name=$1
    shift
    q iam create-user --user-name "$name" >/dev/null
    awsrun iam create-access-key --user-name "$name"
    AWS_ACCESS_KEY_ID=$(J "$OUT" 'd["AccessKey"]["AccessKeyId"]') \
        AWS_SECRET_ACCESS_KEY=$(J "$OUT" 'd["AccessKey"]["SecretAccessKey"]') "$@"
}
stop_server
start_server --iam log
as_new_user erin expect_ok "--iam log: a user without policies is allowed" ec2 describe-vpcs
poll_until "--iam log: the refusal is logged" 50 0.1 grep -q "would refuse.*ec2:DescribeVpcs\|ec2:DescribeVpcs.*would refuse" "$SERVER_LOG"
stop_server
start_server --iam off
as_new_user fay expect_ok "--iam off: a user without policies is allowed" iam list-roles

finish
