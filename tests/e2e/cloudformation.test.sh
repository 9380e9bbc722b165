#!/usr/bin/env bash
# CloudFormation with the AWS CLI: the MWAA quick-start-shaped template deployed with
# `aws cloudformation deploy`, its outputs, the page's dig steps on the environment it made, a
# template that fails late and rolls back, change sets, exports, templates from S3, termination
# protection, and deletion that removes every resource.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

start_server --time-scale 0
T=$E2E_DIR/cloudformation
QS=$T/mwaa-quickstart.yaml

# Validation: parameters, capabilities, and what CloudFormation refuses.
check_eq "validate-template lists the parameters" "EnvironmentName MaxWorkerNodes PrivateSubnet1CIDR PrivateSubnet2CIDR PublicSubnet1CIDR PublicSubnet2CIDR VpcCIDR" \
    "$(q cloudformation validate-template --template-body "file://$QS" --query "join(' ', sort(Parameters[].ParameterKey))")"
check_eq "validate-template says the template needs CAPABILITY_IAM" CAPABILITY_IAM \
    "$(q cloudformation validate-template --template-body "file://$QS" --query 'Capabilities[0]')"
expect_error "a type Airlock does not emulate" ValidationError cloudformation validate-template \
    --template-body '{"Resources":{"F":{"Type":"AWS::Lambda::Function","Properties":{}}}}'
check_contains "the message names the type" "Unrecognized resource types: [AWS::Lambda::Function]" "$ERR"
expect_error "an unresolved reference" ValidationError cloudformation validate-template \
    --template-body '{"Resources":{"V":{"Type":"AWS::EC2::VPC","Properties":{"CidrBlock":{"Ref":"Missing"}}}}}'
check_contains "names it" "Unresolved resource dependencies [Missing]" "$ERR"
expect_error "malformed YAML" ValidationError cloudformation validate-template --template-body $'Resources:\n  A: [\n'
run "$AWS" cloudformation deploy --template-file "$QS" --stack-name nocap
check "deploy without CAPABILITY_IAM fails" test "$RC" -ne 0
check_contains "with AWS's reason" "Requires capabilities : [CAPABILITY_IAM]" "$ERR"
expect_error "a parameter outside its bounds" ValidationError cloudformation create-stack --stack-name bounds \
    --template-body "file://$QS" --capabilities CAPABILITY_IAM --parameters ParameterKey=MaxWorkerNodes,ParameterValue=99
check_contains "says which" "MaxWorkerNodes" "$ERR"
expect_error "an unknown parameter" ValidationError cloudformation create-stack --stack-name unknown \
    --template-body "file://$QS" --capabilities CAPABILITY_IAM --parameters ParameterKey=Nope,ParameterValue=1
check_eq "refused stacks are not made" 0 "$(q cloudformation list-stacks --query 'length(StackSummaries)')"

# The quick start, deployed as the MWAA tutorials do.
run "$AWS" cloudformation deploy --template-file "$QS" --stack-name mwaa --capabilities CAPABILITY_IAM
check_eq "deploy succeeds" 0 "$RC"
check_contains "and says so" "Successfully created/updated stack - mwaa" "$OUT"
check_eq "the stack is CREATE_COMPLETE" CREATE_COMPLETE "$(q cloudformation describe-stacks --stack-name mwaa --query 'Stacks[0].StackStatus')"
out() { q cloudformation describe-stacks --stack-name mwaa --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue | [0]"; }
HOST=$(out WebserverUrl)
VPC=$(out VPC)
check_match "the WebserverUrl output is the private webserver's name" '^[0-9a-f-]{36}-vpce\.c[0-9]+\.us-west-2\.airflow\.amazonaws\.com$' "$HOST"
check_eq "the environment is AVAILABLE" AVAILABLE "$(q mwaa get-environment --name MwaaEnvironment --query Environment.Status)"
check_eq "the environment's URL is the output" "$HOST" "$(q mwaa get-environment --name MwaaEnvironment --query Environment.WebserverUrl)"
check_eq "it runs in the stack's private subnets" "$(out PrivateSubnets)" \
    "$(q mwaa get-environment --name MwaaEnvironment --query "join(',', Environment.NetworkConfiguration.SubnetIds)")"
check_eq "the VPC has the template's CIDR and DNS hostnames" "10.192.0.0/16 true" \
    "$(q ec2 describe-vpcs --vpc-ids "$VPC" --query 'Vpcs[0].CidrBlock') $(q ec2 describe-vpc-attribute --vpc-id "$VPC" --attribute enableDnsHostnames --query EnableDnsHostnames.Value)"
check_eq "four subnets, two NAT gateways available" "4 2" \
    "$(q ec2 describe-subnets --filters "Name=vpc-id,Values=$VPC" --query 'length(Subnets)') $(q ec2 describe-nat-gateways --filter "Name=vpc-id,Values=$VPC" "Name=state,Values=available" --query 'length(NatGateways)')"
check_eq "the private route tables go through the NAT gateways" 2 \
    "$(q ec2 describe-route-tables --filters "Name=vpc-id,Values=$VPC" "Name=route.destination-cidr-block,Values=0.0.0.0/0" --query 'length(RouteTables[?Routes[?NatGatewayId]])')"
BUCKET=$(out Bucket)
check_eq "the bucket is versioned" Enabled "$(q s3api get-bucket-versioning --bucket "$BUCKET" --query Status)"
check_eq "the stack lists its 27 resources" 27 "$(q cloudformation list-stack-resources --stack-name mwaa --query 'length(StackResourceSummaries)')"
check_eq "each CREATE_COMPLETE" 27 "$(q cloudformation describe-stack-resources --stack-name mwaa --query "length(StackResources[?ResourceStatus=='CREATE_COMPLETE'])")"
check_eq "the role's physical id is a generated name" "mwaa-MwaaExecutionRole-" \
    "$(q cloudformation describe-stack-resource --stack-name mwaa --logical-resource-id MwaaExecutionRole --query StackResourceDetail.PhysicalResourceId | cut -c1-23)"
check_eq "events go from the change set's review to CREATE_COMPLETE" "CREATE_COMPLETE REVIEW_IN_PROGRESS" \
    "$(q cloudformation describe-stack-events --stack-name mwaa --query "join(' ', [StackEvents[0].ResourceStatus, StackEvents[-1].ResourceStatus])")"
check_eq "the environment's events: started, initiated, complete" "CREATE_IN_PROGRESS CREATE_IN_PROGRESS CREATE_COMPLETE" \
    "$(q cloudformation describe-stack-events --stack-name mwaa --query "join(' ', reverse(StackEvents[?LogicalResourceId=='MwaaEnvironment'].ResourceStatus))")"
check_eq "the first event is the user's" "User Initiated" "$(q cloudformation describe-stack-events --stack-name mwaa --query 'StackEvents[-1].ResourceStatusReason')"
check_eq "exports are listed" "mwaa-PublicSubnet1 mwaa-PublicSubnet2 mwaa-SecurityGroup mwaa-VPC" "$(q cloudformation list-exports --query "join(' ', Exports[].Name)")"

# The page's dig steps on what the stack made.
CNAME=$(dig @127.0.0.1 -p "$DNS_PORT" CNAME +short "$HOST")
check_match "dig CNAME gives the webserver endpoint's name" '^vpce-[0-9a-f]{17}-[a-z0-9]{8}\.vpce-svc-[0-9a-f]{17}\.us-west-2\.vpce\.amazonaws\.com\.$' "$CNAME"
mapfile -t IPS < <(dig @127.0.0.1 -p "$DNS_PORT" +short A "$CNAME" | sort)
check_match "it resolves to one address in each private subnet" '^10\.192\.20\.[0-9]+ 10\.192\.21\.[0-9]+$' "${IPS[*]}"

# Deploying the same template again changes nothing.
run "$AWS" cloudformation deploy --template-file "$QS" --stack-name mwaa --capabilities CAPABILITY_IAM --no-fail-on-empty-changeset
check_eq "a second deploy succeeds" 0 "$RC"
check_contains "with nothing to deploy" "No changes to deploy. Stack mwaa is up to date" "$OUT"
check_eq "the empty change set is FAILED with AWS's reason" "FAILED The submitted information didn't contain changes. Submit different information to create a change set." \
    "$(q cloudformation list-change-sets --stack-name mwaa --query "join(' ', [Summaries[-1].Status, Summaries[-1].StatusReason])")"
expect_error "update-stack with nothing new" ValidationError cloudformation update-stack --stack-name mwaa --use-previous-template --capabilities CAPABILITY_IAM
check_contains "says so" "No updates are to be performed." "$ERR"
expect_error "a second stack of the same name" AlreadyExistsException cloudformation create-stack --stack-name mwaa --template-body "file://$T/fails-late.yaml"

# A change set reviewed before it runs (deploy --no-execute-changeset), then executed.
run "$AWS" cloudformation deploy --template-file "$T/fails-late.yaml" --stack-name review --no-execute-changeset
check_eq "deploy --no-execute-changeset succeeds" 0 "$RC"
check_eq "the stack waits in REVIEW_IN_PROGRESS" REVIEW_IN_PROGRESS "$(q cloudformation describe-stacks --stack-name review --query 'Stacks[0].StackStatus')"
CS=$(q cloudformation list-change-sets --stack-name review --query 'Summaries[0].ChangeSetId')
check_eq "the change set adds the four resources" "Add Add Add Add" \
    "$(q cloudformation describe-change-set --change-set-name "$CS" --query "join(' ', Changes[].ResourceChange.Action)")"
check_eq "no VPC exists before execution" 0 "$(q ec2 describe-vpcs --filters Name=cidr,Values=10.50.0.0/16 --query 'length(Vpcs)')"

# A late failure rolls everything back, and the events name the resource and EC2's error.
q cloudformation execute-change-set --change-set-name "$CS" >/dev/null
run "$AWS" cloudformation wait stack-create-complete --stack-name review
check "the create waiter fails on the rollback" test "$RC" -ne 0
check_eq "the stack is ROLLBACK_COMPLETE" ROLLBACK_COMPLETE "$(q cloudformation describe-stacks --stack-name review --query 'Stacks[0].StackStatus')"
REASON=$(q cloudformation describe-stack-events --stack-name review --query "StackEvents[?LogicalResourceId=='Bad' && ResourceStatus=='CREATE_FAILED'].ResourceStatusReason | [0]")
check_contains "the failed resource's event carries EC2's message" "The CIDR '10.99.0.0/24' is invalid" "$REASON"
check_eq "the stack's reason names it" "The following resource(s) failed to create: [Bad]. Rollback requested by user." \
    "$(q cloudformation describe-stack-events --stack-name review --query "StackEvents[?ResourceStatus=='ROLLBACK_IN_PROGRESS'].ResourceStatusReason | [0]")"
check_eq "what was made is deleted" "DELETE_COMPLETE DELETE_COMPLETE DELETE_COMPLETE DELETE_COMPLETE" \
    "$(q cloudformation describe-stack-resources --stack-name review --query "join(' ', StackResources[].ResourceStatus)")"
check_eq "no VPC is left" 0 "$(q ec2 describe-vpcs --filters Name=cidr,Values=10.50.0.0/16 --query 'length(Vpcs)')"
q cloudformation delete-stack --stack-name review >/dev/null
run "$AWS" cloudformation wait stack-delete-complete --stack-name review
check_eq "a rolled-back stack deletes" 0 "$RC"

# A template from Airlock's S3 and create-stack with the waiter, importing the first stack's export.
q s3api create-bucket --bucket cfn-templates --create-bucket-configuration LocationConstraint=us-west-2 >/dev/null
cat >"$WORKDIR/import.json" <<'JSON'
{"Parameters": {"Name": {"Type": "String", "Default": "imported"}},
 "Resources": {"Group": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
   "GroupDescription": {"Fn::Sub": "${Name} group"}, "VpcId": {"Fn::ImportValue": "mwaa-VPC"},
   "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": "443",
     "SourceSecurityGroupId": {"Fn::ImportValue": "mwaa-SecurityGroup"}}]}}},
 "Outputs": {"Group": {"Value": {"Ref": "Group"}}}}
JSON
"$AWS" s3 cp "$WORKDIR/import.json" s3://cfn-templates/import.json >/dev/null
q cloudformation create-stack --stack-name importer --template-url https://cfn-templates.s3.us-west-2.amazonaws.com/import.json >/dev/null
run "$AWS" cloudformation wait stack-create-complete --stack-name importer
check_eq "a stack from a TemplateURL completes" 0 "$RC"
G=$(q cloudformation describe-stacks --stack-name importer --query 'Stacks[0].Outputs[0].OutputValue')
check_eq "its group is in the imported VPC" "$VPC" "$(q ec2 describe-security-groups --group-ids "$G" --query 'SecurityGroups[0].VpcId')"
check_eq "with the rule from the imported group" 443 "$(q ec2 describe-security-groups --group-ids "$G" --query 'SecurityGroups[0].IpPermissions[0].FromPort')"
check_eq "list-imports names the importer" importer "$(q cloudformation list-imports --export-name mwaa-VPC --query 'Imports[0]')"
expect_error "an export in use cannot go" ValidationError cloudformation delete-stack --stack-name mwaa
check_contains "says who uses it" "in use by importer" "$ERR"
q cloudformation delete-stack --stack-name importer >/dev/null

# Termination protection, then deletion removes every resource.
q cloudformation update-termination-protection --stack-name mwaa --enable-termination-protection >/dev/null
expect_error "a protected stack cannot be deleted" ValidationError cloudformation delete-stack --stack-name mwaa
q cloudformation update-termination-protection --stack-name mwaa --no-enable-termination-protection >/dev/null
STACK_ID=$(q cloudformation describe-stacks --stack-name mwaa --query 'Stacks[0].StackId')
q cloudformation delete-stack --stack-name mwaa >/dev/null
run "$AWS" cloudformation wait stack-delete-complete --stack-name mwaa
check_eq "delete-stack completes" 0 "$RC"
check_eq "the deleted stack is DELETE_COMPLETE by id" DELETE_COMPLETE "$(q cloudformation describe-stacks --stack-name "$STACK_ID" --query 'Stacks[0].StackStatus')"
expect_error "and gone by name" ValidationError cloudformation describe-stacks --stack-name mwaa
check_eq "no VPC but the default is left" "172.31.0.0/16" "$(q ec2 describe-vpcs --query "join(' ', Vpcs[].CidrBlock)")"
check_eq "no environment is left" 0 "$(q mwaa list-environments --query 'length(Environments)')"
check_eq "no NAT gateway is left running" 0 "$(q ec2 describe-nat-gateways --filter Name=state,Values=available,pending --query 'length(NatGateways)')"
check_eq "no address is left" 0 "$(q ec2 describe-addresses --query 'length(Addresses)')"
check_eq "only the template bucket is left" cfn-templates "$(q s3api list-buckets --query "join(' ', Buckets[].Name)")"
check_eq "no role of the stack is left" 0 "$(q iam list-roles --query "length(Roles[?starts_with(RoleName, 'mwaa-')])")"
check_eq "no policy of the stack is left" 0 "$(q iam list-policies --scope Local --query 'length(Policies)')"
check_eq "list-stacks keeps the deleted stacks" "DELETE_COMPLETE DELETE_COMPLETE DELETE_COMPLETE" \
    "$(q cloudformation list-stacks --stack-status-filter DELETE_COMPLETE --query "join(' ', StackSummaries[].StackStatus)")"

# An edge association: the gateway's table, made and taken down in dependency order.
run "$AWS" cloudformation deploy --template-file "$T/edge-association.yaml" --stack-name edge
check_eq "a template with a gateway route table association deploys" 0 "$RC"
EDGE=$(q cloudformation describe-stacks --stack-name edge --query "Stacks[0].Outputs[?OutputKey=='Association'] | [0].OutputValue")
EDGE_IGW=$(q cloudformation describe-stacks --stack-name edge --query "Stacks[0].Outputs[?OutputKey=='Gateway'] | [0].OutputValue")
check_eq "the association is the gateway's (GetAtt AssociationId)" "$EDGE" \
    "$(q ec2 describe-route-tables --filters Name=association.gateway-id,Values="$EDGE_IGW" --query "RouteTables[0].Associations[?GatewayId=='$EDGE_IGW'] | [0].RouteTableAssociationId")"
q cloudformation delete-stack --stack-name edge >/dev/null
run "$AWS" cloudformation wait stack-delete-complete --stack-name edge
check_eq "the stack is deleted (association before the gateway's detachment)" 0 "$RC"
check_eq "and its gateway with it" 0 "$(q ec2 describe-internet-gateways --filters Name=internet-gateway-id,Values="$EDGE_IGW" --query 'length(InternetGateways)')"

# A secondary IPv4 block and a subnet in it; deleted subnet first.
run "$AWS" cloudformation deploy --template-file "$T/secondary-cidr.yaml" --stack-name grown
check_eq "a template with a secondary CIDR block deploys" 0 "$RC"
GROWN=$(q cloudformation describe-stacks --stack-name grown --query "Stacks[0].Outputs[?OutputKey=='Vpc'] | [0].OutputValue")
GROWN_BLOCK=$(q cloudformation describe-stacks --stack-name grown --query "Stacks[0].Outputs[?OutputKey=='Block'] | [0].OutputValue")
check_eq "the block is the VPC's (Ref is its association id)" "100.64.0.0/16" \
    "$(q ec2 describe-vpcs --vpc-ids "$GROWN" --query "Vpcs[0].CidrBlockAssociationSet[?AssociationId=='$GROWN_BLOCK'] | [0].CidrBlock")"
check_eq "the subnet is in it" "100.64.0.0/18" \
    "$(q ec2 describe-subnets --filters Name=vpc-id,Values="$GROWN" --query 'Subnets[0].CidrBlock')"
q cloudformation delete-stack --stack-name grown >/dev/null
run "$AWS" cloudformation wait stack-delete-complete --stack-name grown
check_eq "the stack is deleted (the subnet before its block)" 0 "$RC"
check_eq "and the VPC with it" 0 "$(q ec2 describe-vpcs --filters Name=vpc-id,Values="$GROWN" --query 'length(Vpcs)')"

# GitHub Actions' keyless deploys: the OIDC provider and a role trusting it, then a token assumed.
run "$AWS" cloudformation deploy --template-file "$T/github-oidc.yaml" --stack-name gha --capabilities CAPABILITY_IAM
check_eq "a template with an OIDC provider and a role that trusts it deploys" 0 "$RC"
GHA_ROLE=$(q cloudformation describe-stacks --stack-name gha --query "Stacks[0].Outputs[?OutputKey=='Role'] | [0].OutputValue")
GHA_PROVIDER=$(q cloudformation describe-stacks --stack-name gha --query "Stacks[0].Outputs[?OutputKey=='Provider'] | [0].OutputValue")
check_eq "the provider is IAM's (Ref and GetAtt Arn)" "token.actions.githubusercontent.com sts.amazonaws.com" \
    "$(q iam get-open-id-connect-provider --open-id-connect-provider-arn "$GHA_PROVIDER" --query "join(' ', [Url, ClientIDList[0]])")"
GHA_TOKEN=$("$PYTHON" -c '
import base64, json, time
b = lambda o: base64.urlsafe_b64encode(json.dumps(o).encode()).rstrip(b"=").decode()
print(b({"alg": "RS256"}) + "." + b({"iss": "https://token.actions.githubusercontent.com", "aud": "sts.amazonaws.com",
      "sub": "repo:acme/site:ref:refs/heads/main", "exp": int(time.time()) + 300}) + ".c2ln")')
check_match "a workflow's token assumes the role" '^ASIA' \
    "$(q sts assume-role-with-web-identity --role-arn "$GHA_ROLE" --role-session-name gha --web-identity-token "$GHA_TOKEN" --query Credentials.AccessKeyId)"
run "$AWS" cloudformation deploy --template-file "$T/github-oidc.yaml" --stack-name gha --capabilities CAPABILITY_IAM \
    --parameter-overrides Repository=acme/other
check_eq "an update of the role's trust (another repository)" 0 "$RC"
expect_error "... after which the first repository's token is refused" AccessDenied sts assume-role-with-web-identity \
    --role-arn "$GHA_ROLE" --role-session-name gha --web-identity-token "$GHA_TOKEN"
q cloudformation delete-stack --stack-name gha >/dev/null
run "$AWS" cloudformation wait stack-delete-complete --stack-name gha
check_eq "the stack is deleted" 0 "$RC"
check_eq "and the provider with it" 0 "$(q iam list-open-id-connect-providers --query 'length(OpenIDConnectProviderList)')"

# A bucket's ownership controls, at creation and changed in place by an update.
run "$AWS" cloudformation deploy --template-file "$T/bucket-ownership.yaml" --stack-name dags
check_eq "a bucket with OwnershipControls deploys" 0 "$RC"
DAGS=$(q cloudformation describe-stacks --stack-name dags --query "Stacks[0].Outputs[0].OutputValue")
check_eq "its ownership controls are the template's" ObjectWriter \
    "$(q s3api get-bucket-ownership-controls --bucket "$DAGS" --query 'OwnershipControls.Rules[0].ObjectOwnership')"
run "$AWS" cloudformation deploy --template-file "$T/bucket-ownership.yaml" --stack-name dags --parameter-overrides Ownership=BucketOwnerEnforced
check_eq "an update changes them in place" "0 $DAGS BucketOwnerEnforced" \
    "$RC $(q cloudformation describe-stacks --stack-name dags --query "Stacks[0].Outputs[0].OutputValue") $(q s3api get-bucket-ownership-controls --bucket "$DAGS" --query 'OwnershipControls.Rules[0].ObjectOwnership')"
check_eq "the bucket is versioned" Enabled "$(q s3api get-bucket-versioning --bucket "$DAGS" --query Status)"
run "$AWS" cloudformation deploy --template-file "$T/bucket-ownership.yaml" --stack-name dags \
    --parameter-overrides Ownership=BucketOwnerEnforced Versioning=Suspended
check_eq "an update suspends versioning in place (same bucket)" "0 $DAGS Suspended" \
    "$RC $(q cloudformation describe-stacks --stack-name dags --query "Stacks[0].Outputs[0].OutputValue") $(q s3api get-bucket-versioning --bucket "$DAGS" --query Status)"
q cloudformation delete-stack --stack-name dags >/dev/null
run "$AWS" cloudformation wait stack-delete-complete --stack-name dags
check_eq "the bucket goes with its stack" "0 0" "$RC $(q s3api list-buckets --query "length(Buckets[?Name=='$DAGS'])")"

finish
