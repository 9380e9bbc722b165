#!/usr/bin/env bash
# What a bastion template resolves before it launches anything, with the real AWS CLI: the
# latest Amazon Linux image from SSM's public parameters, the image itself as Terraform's
# data "aws_ami" finds it (owners, name filter, most recent), an Ubuntu image by Canonical's
# account; and the account's own parameters (versions, SecureString, paths, tags, errors).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

start_server
AL2023=/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64

AMI=$(q ssm get-parameter --name "$AL2023" --query Parameter.Value)
check_match "the public parameter names an image" '^ami-[0-9a-f]{17}$' "$AMI"
check_eq "the image is Amazon Linux 2023 from Amazon's account" "137112412989 amazon x86_64 /dev/xvda available" \
    "$(q ec2 describe-images --image-ids "$AMI" --query "Images[0].join(' ', [OwnerId, ImageOwnerAlias, Architecture, RootDeviceName, State])")"
check_eq "data aws_ami: owners amazon, name filter, most recent" "$AMI" \
    "$(q ec2 describe-images --owners amazon --filters 'Name=name,Values=al2023-ami-2023.*-x86_64' 'Name=virtualization-type,Values=hvm' \
        --query 'sort_by(Images, &CreationDate)[-1].ImageId')"
check_match "Ubuntu 24.04 from Canonical's account" '^ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-' \
    "$(q ec2 describe-images --owners 099720109477 --filters 'Name=name,Values=ubuntu/images/*noble*amd64*' --query 'Images[0].Name')"
check_eq "the account owns no images" "0" "$(q ec2 describe-images --owners self --query 'length(Images)')"
expect_error "an image that does not exist" InvalidAMIID.NotFound ec2 describe-images --image-ids ami-0123456789abcdef0
expect_error "a malformed image id" InvalidAMIID.Malformed ec2 describe-images --image-ids ami-xyz
check_ne "us-east-1 has its own id for the same image" "$AMI" \
    "$(q ssm get-parameter --region us-east-1 --name "$AL2023" --query Parameter.Value)"
check_contains "the family's parameters by path" "$AL2023" \
    "$(q ssm get-parameters-by-path --path /aws/service/ami-amazon-linux-latest --query "join(' ', Parameters[].Name)")"
INSTANCE=$(q ec2 run-instances --image-id "$AMI" --instance-type t3.micro --query 'Instances[0].InstanceId')
check_eq "an instance runs from it" "$AMI" \
    "$(q ec2 describe-instances --instance-ids "$INSTANCE" --query 'Reservations[0].Instances[0].ImageId')"
# The AWS documentation's launch: --image-id resolve:ssm:<parameter>, resolved when it runs.
INSTANCE=$(q ec2 run-instances --image-id "resolve:ssm:$AL2023" --instance-type t3.micro --query 'Instances[0].InstanceId')
check_eq "run-instances --image-id resolve:ssm: runs the image the parameter names" "$AMI" \
    "$(q ec2 describe-instances --instance-ids "$INSTANCE" --query 'Reservations[0].Instances[0].ImageId')"
expect_error "resolve:ssm: of a parameter that does not exist" InvalidParameterValue \
    ec2 run-instances --image-id resolve:ssm:/no/such/parameter --instance-type t3.micro
q ssm put-parameter --name /golden/ami --value "$AMI" --type String --data-type aws:ec2:image >/dev/null
q ssm put-parameter --name /golden/text --value "$AMI" --type String >/dev/null
INSTANCE=$(q ec2 run-instances --image-id resolve:ssm:/golden/ami:1 --instance-type t3.micro --query 'Instances[0].InstanceId')
check_eq "resolve:ssm: of the account's aws:ec2:image parameter, by version" "$AMI" \
    "$(q ec2 describe-instances --instance-ids "$INSTANCE" --query 'Reservations[0].Instances[0].ImageId')"
expect_error "resolve:ssm: of a text parameter of the account" SsmInvalidParameter \
    ec2 run-instances --image-id resolve:ssm:/golden/text --instance-type t3.micro
q ssm delete-parameters --names /golden/ami /golden/text >/dev/null

# The account's parameters.
check_eq "put-parameter: version 1, Standard tier" "1 Standard" \
    "$(q ssm put-parameter --name /mwaa/bucket --value my-airflow-bucket --type String --tags Key=team,Value=data --query "join(' ', [to_string(Version), Tier])")"
expect_error "again without --overwrite" ParameterAlreadyExists ssm put-parameter --name /mwaa/bucket --value x --type String
check_eq "--overwrite makes version 2" "2" "$(q ssm put-parameter --name /mwaa/bucket --value other --overwrite --query Version)"
check_eq "a version selector reads version 1" "my-airflow-bucket" "$(q ssm get-parameter --name /mwaa/bucket:1 --query Parameter.Value)"
expect_error "tags with --overwrite" ValidationException ssm put-parameter --name /mwaa/bucket --value y --overwrite --tags Key=a,Value=b
q ssm put-parameter --name /mwaa/db/password --value s3cret --type SecureString >/dev/null
check_ne "a SecureString is not shown without decryption" "s3cret" "$(q ssm get-parameter --name /mwaa/db/password --query Parameter.Value)"
check_eq "with --with-decryption it is" "s3cret" "$(q ssm get-parameter --name /mwaa/db/password --with-decryption --query Parameter.Value)"
check_eq "get-parameters-by-path, recursive" "/mwaa/bucket /mwaa/db/password" \
    "$(q ssm get-parameters-by-path --path /mwaa --recursive --query "join(' ', Parameters[].Name)")"
check_eq "describe-parameters by type" "/mwaa/db/password alias/aws/ssm" \
    "$(q ssm describe-parameters --parameter-filters Key=Type,Values=SecureString --query "Parameters[0].join(' ', [Name, KeyId])")"
check_eq "the tag given at creation" "team=data" \
    "$(q ssm list-tags-for-resource --resource-type Parameter --resource-id /mwaa/bucket --query "TagList[0].join('=', [Key, Value])")"
check_eq "get-parameters reports the unknown" "/nope" "$(q ssm get-parameters --names /mwaa/bucket /nope --query 'InvalidParameters[0]')"
expect_error "AWS's own prefix is reserved" ValidationException ssm put-parameter --name /aws/mine --value x --type String
expect_error "a new parameter needs a type" ValidationException ssm put-parameter --name /mwaa/untyped --value x
q ssm delete-parameter --name /mwaa/bucket >/dev/null
expect_error "a deleted parameter" ParameterNotFound ssm get-parameter --name /mwaa/bucket

finish
