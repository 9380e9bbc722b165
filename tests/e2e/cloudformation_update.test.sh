#!/usr/bin/env bash
# CloudFormation stack updates with the AWS CLI: a change set that says what an update will do
# (in place, replacement, removal), its execution (a subnet replaced: the new one made, what
# refers to it moved, the old one deleted in cleanup), an update that fails and rolls back
# (what it changed in place changed back, what it made deleted), and a custom-named resource
# that would need replacing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

start_server --time-scale 0
T=$E2E_DIR/cloudformation/network-update.yaml
res() { q cloudformation describe-stack-resource --stack-name net --logical-resource-id "$1" --query StackResourceDetail.PhysicalResourceId; }
status() { q cloudformation describe-stacks --stack-name net --query 'Stacks[0].StackStatus'; }

run "$AWS" cloudformation deploy --template-file "$T" --stack-name net
check_eq "the first deploy succeeds" 0 "$RC"
VPC=$(res Vpc)
A1=$(res SubnetA)
B=$(res SubnetB)
WEB=$(res Web)
ASSOC1=$(res RoutesA)
DHCP1=$(res Dhcp)

# The change set of an update says what will change and how.
run "$AWS" cloudformation deploy --template-file "$T" --stack-name net --no-execute-changeset \
    --parameter-overrides Stage=v2 SubnetACidr=10.60.3.0/24 WithSubnetB=no WebPort=8443 SettingValue=two
check_eq "deploy --no-execute-changeset of the update succeeds" 0 "$RC"
CS=$(q cloudformation list-change-sets --stack-name net --query "Summaries[?ExecutionStatus=='AVAILABLE'].ChangeSetId | [0]")
change() { q cloudformation describe-change-set --change-set-name "$CS" --query "Changes[?ResourceChange.LogicalResourceId=='$1'].ResourceChange.[Action, Replacement] | [0] | join(' ', @)"; }
check_eq "the VPC's tag changes in place" "Modify False" "$(change Vpc)"
check_eq "the subnet's new CIDR replaces it" "Modify True" "$(change SubnetA)"
check_eq "the association follows the new subnet by replacement" "Modify True" "$(change RoutesA)"
check_eq "the group's rule changes in place" "Modify False" "$(change Web)"
check_eq "the parameter's value changes in place" "Modify False" "$(change Setting)"
check_eq "subnet B goes" "Remove" "$(q cloudformation describe-change-set --change-set-name "$CS" --query "Changes[?ResourceChange.LogicalResourceId=='SubnetB'].ResourceChange.Action | [0]")"
check_eq "unchanged resources are not listed" 0 "$(q cloudformation describe-change-set --change-set-name "$CS" --query "length(Changes[?ResourceChange.LogicalResourceId=='Routes'])")"
check_eq "the changed property is named" CidrBlock \
    "$(q cloudformation describe-change-set --change-set-name "$CS" --query "Changes[?ResourceChange.LogicalResourceId=='SubnetA'].ResourceChange.Details[0].Target.Name | [0]")"
check_eq "nothing has changed before execution" "CREATE_COMPLETE one" "$(status) $(q ssm get-parameter --name /net/setting --query Parameter.Value)"

q cloudformation execute-change-set --change-set-name "$CS" >/dev/null
run "$AWS" cloudformation wait stack-update-complete --stack-name net
check_eq "the update completes" 0 "$RC"
check_eq "UPDATE_COMPLETE" UPDATE_COMPLETE "$(status)"
A2=$(res SubnetA)
check_ne "subnet A has a new physical id" "$A1" "$A2"
check_eq "with the new CIDR" 10.60.3.0/24 "$(q ec2 describe-subnets --subnet-ids "$A2" --query 'Subnets[0].CidrBlock')"
expect_error "the old subnet A is deleted" InvalidSubnetID.NotFound ec2 describe-subnets --subnet-ids "$A1"
expect_error "subnet B is deleted" InvalidSubnetID.NotFound ec2 describe-subnets --subnet-ids "$B"
check_eq "the VPC is the same one" "$VPC" "$(res Vpc)"
check_eq "with its new tag" v2 "$(q ec2 describe-vpcs --vpc-ids "$VPC" --query "Vpcs[0].Tags[?Key=='Stage'].Value | [0]")"
check_eq "the group is the same one" "$WEB" "$(res Web)"
check_eq "with its new rule" "8443" "$(q ec2 describe-security-groups --group-ids "$WEB" --query "join(' ', SecurityGroups[0].IpPermissions[].to_string(FromPort))")"
check_eq "the parameter has its new value" two "$(q ssm get-parameter --name /net/setting --query Parameter.Value)"
check_ne "the association was replaced" "$ASSOC1" "$(res RoutesA)"
check_eq "the route table serves the new subnet" "$A2" \
    "$(q ec2 describe-route-tables --route-table-ids "$(res Routes)" --query 'RouteTables[0].Associations[0].SubnetId')"
check_eq "the VPC uses the replacement DHCP options" "$(res Dhcp) v2.internal" \
    "$(q ec2 describe-vpcs --vpc-ids "$VPC" --query 'Vpcs[0].DhcpOptionsId') $(q ec2 describe-dhcp-options --dhcp-options-ids "$(res Dhcp)" --query "DhcpOptions[0].DhcpConfigurations[?Key=='domain-name'].Values[0].Value | [0]")"
check_eq "the replaced DHCP options are kept (UpdateReplacePolicy: Retain)" "$DHCP1 DELETE_SKIPPED" \
    "$(q ec2 describe-dhcp-options --dhcp-options-ids "$DHCP1" --query 'DhcpOptions[0].DhcpOptionsId') $(q cloudformation describe-stack-events --stack-name net --query "StackEvents[?PhysicalResourceId=='$DHCP1'].ResourceStatus | [0]")"
check_eq "the ACL entry's port changed in place" 8443 \
    "$(q ec2 describe-network-acls --network-acl-ids "$(res Acl)" --query "NetworkAcls[0].Entries[?RuleNumber==\`100\`].PortRange.From | [0]")"
check_eq "the new subnet is in the stack's ACL" "$(res Acl)" \
    "$(q ec2 describe-network-acls --filters Name=association.subnet-id,Values="$A2" --query 'NetworkAcls[0].NetworkAclId')"
check_eq "the outputs follow" "$A2" "$(q cloudformation describe-stacks --stack-name net --query "Stacks[0].Outputs[?OutputKey=='SubnetA'].OutputValue | [0]")"
check_eq "the replacement's events say why" "Requested update requires the creation of a new physical resource; hence creating one." \
    "$(q cloudformation describe-stack-events --stack-name net --query "StackEvents[?LogicalResourceId=='SubnetA' && ResourceStatus=='UPDATE_IN_PROGRESS'].ResourceStatusReason | [-1]")"
check_eq "the cleanup deleted the old subnet" "$A1" \
    "$(q cloudformation describe-stack-events --stack-name net --query "StackEvents[?LogicalResourceId=='SubnetA' && ResourceStatus=='DELETE_COMPLETE'].PhysicalResourceId | [0]")"
check_eq "the stack went through its cleanup" "UPDATE_COMPLETE UPDATE_COMPLETE_CLEANUP_IN_PROGRESS UPDATE_IN_PROGRESS" \
    "$(q cloudformation describe-stack-events --stack-name net --query "StackEvents[?ResourceType=='AWS::CloudFormation::Stack'].ResourceStatus | [:3] | join(' ', @)")"

# An update that fails: the parameter's new value is rolled back, the subnet stays.
q cloudformation update-stack --stack-name net --use-previous-template --parameters \
    ParameterKey=Stage,UsePreviousValue=true ParameterKey=SubnetACidr,ParameterValue=10.99.0.0/24 \
    ParameterKey=WithSubnetB,ParameterValue=no ParameterKey=WebPort,ParameterValue=9443 \
    ParameterKey=SettingValue,ParameterValue=three >/dev/null
run "$AWS" cloudformation wait stack-update-complete --stack-name net
check "the update waiter fails" test "$RC" -ne 0
check_eq "the stack is UPDATE_ROLLBACK_COMPLETE" UPDATE_ROLLBACK_COMPLETE "$(status)"
check_contains "the subnet's failure carries EC2's error" "The CIDR '10.99.0.0/24' is invalid" \
    "$(q cloudformation describe-stack-events --stack-name net --query "StackEvents[?LogicalResourceId=='SubnetA' && ResourceStatus=='UPDATE_FAILED'].ResourceStatusReason | [0]")"
check_eq "the stack's reason names it" "The following resource(s) failed to update: [SubnetA]. " \
    "$(q cloudformation describe-stack-events --stack-name net --query "StackEvents[?ResourceStatus=='UPDATE_ROLLBACK_IN_PROGRESS'].ResourceStatusReason | [0]")"
check_eq "subnet A is the one before" "$A2" "$(res SubnetA)"
check_eq "the parameters are the ones before" "10.60.3.0/24 two" \
    "$(q cloudformation describe-stacks --stack-name net --query "Stacks[0].Parameters[?ParameterKey=='SubnetACidr' || ParameterKey=='SettingValue'].ParameterValue | sort(@) | join(' ', @)")"
check_eq "what changed in place before the failure is changed back" "8443" \
    "$(q ec2 describe-security-groups --group-ids "$WEB" --query "join(' ', SecurityGroups[0].IpPermissions[].to_string(FromPort))")"
check_eq "the parameter keeps its value" two "$(q ssm get-parameter --name /net/setting --query Parameter.Value)"

# A custom-named resource cannot be replaced in place of itself.
NAMED=$(res Named)
run "$AWS" cloudformation deploy --template-file "$T" --stack-name net \
    --parameter-overrides Stage=v2 SubnetACidr=10.60.3.0/24 WithSubnetB=no WebPort=8443 SettingValue=two NamedGroupDescription=second
check "the deploy fails" test "$RC" -ne 0
check_eq "CloudFormation's reason" "CloudFormation cannot update a stack when a custom-named resource requires replacing. Rename net-named and update the stack again." \
    "$(q cloudformation describe-stack-events --stack-name net --query "StackEvents[?LogicalResourceId=='Named' && ResourceStatus=='UPDATE_FAILED'].ResourceStatusReason | [0]")"
check_eq "the group stays" "$NAMED" "$(res Named)"
check_eq "rolled back" UPDATE_ROLLBACK_COMPLETE "$(status)"

q cloudformation delete-stack --stack-name net >/dev/null
run "$AWS" cloudformation wait stack-delete-complete --stack-name net
check_eq "the updated stack deletes" 0 "$RC"
check_eq "the VPC's DHCP options are given back before it goes" 0 "$(q ec2 describe-dhcp-options --filters Name=key,Values=domain-name --query "length(DhcpOptions[?DhcpConfigurations[?Values[?Value=='v2.internal']]])")"
check_eq "no subnet of it is left" 0 "$(q ec2 describe-subnets --filters Name=vpc-id,Values="$VPC" --query 'length(Subnets)')"
expect_error "nor its VPC" InvalidVpcID.NotFound ec2 describe-vpcs --vpc-ids "$VPC"
expect_error "nor its parameter" ParameterNotFound ssm get-parameter --name /net/setting

finish
