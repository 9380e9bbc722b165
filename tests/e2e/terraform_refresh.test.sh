#!/usr/bin/env bash
# A Terraform refresh of a whole private MWAA network, with the real AWS CLI: every resource of
# the MWAA user guide's network plus a bastion (key pair, instance profile, t3 instance with an
# Elastic IP) and the load balancer path (certificate, ALB, target group with both webserver
# addresses, HTTPS listener), read with the calls the Terraform AWS provider's read functions
# make (v5.46, internal/service/{ec2,elbv2,acm,iam,mwaa,ssm,sts}), in its order. Every call
# answers (no InvalidAction), and a second refresh reads exactly what the first did.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

start_server --time-scale 0.002
mwaa_network
q iam put-role-policy --role-name mwaa-exec --policy-name mwaa --policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"airflow:PublishMetrics","Resource":"*"}]}' >/dev/null
POLICY=$(q iam create-policy --policy-name mwaa-logs --policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:*","Resource":"*"}]}' --query Policy.Arn)
q iam attach-role-policy --role-name mwaa-exec --policy-arn "$POLICY" >/dev/null
q mwaa create-environment --name tf-env --execution-role-arn arn:aws:iam::000000000000:role/mwaa-exec \
    --source-bucket-arn arn:aws:s3:::my-airflow-bucket --dag-s3-path dags --webserver-access-mode PRIVATE_ONLY \
    --network-configuration "SubnetIds=$A,$B,SecurityGroupIds=$SG" >/dev/null
available() { [[ $(q mwaa get-environment --name tf-env --query Environment.Status) == AVAILABLE ]]; }
poll_until "the environment becomes AVAILABLE" 150 0.2 available
WEB_SERVICE=$(q mwaa get-environment --name tf-env --query Environment.WebserverVpcEndpointService)
VPCE=$(q ec2 describe-vpc-endpoints --filters "Name=service-name,Values=$WEB_SERVICE" --query 'VpcEndpoints[0].VpcEndpointId')
ENIS=$(q ec2 describe-vpc-endpoints --vpc-endpoint-ids "$VPCE" --query 'VpcEndpoints[0].NetworkInterfaceIds')
read -r -a ENI_IDS <<<"$(echo $ENIS)"
IPS=$(q ec2 describe-network-interfaces --network-interface-ids "${ENI_IDS[@]}" --query 'NetworkInterfaces[].PrivateIpAddress')
read -r -a WEB_IPS <<<"$(echo $IPS)"
check_eq "the webserver endpoint has two addresses" 2 "${#WEB_IPS[@]}"

# The bastion: security group, key pair, role with an instance profile, a t3 instance, an EIP.
BSG=$(q ec2 create-security-group --group-name bastion --description "SSH in" --vpc-id "$VPC" --query GroupId)
q ec2 authorize-security-group-ingress --group-id "$BSG" --ip-permissions 'IpProtocol=tcp,FromPort=22,ToPort=22,IpRanges=[{CidrIp=0.0.0.0/0,Description=ssh}]' >/dev/null
q ec2 create-key-pair --key-name bastion --query KeyPairId >/dev/null
q iam create-role --role-name bastion --assume-role-policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}' >/dev/null
q iam create-instance-profile --instance-profile-name bastion >/dev/null
q iam add-role-to-instance-profile --instance-profile-name bastion --role-name bastion >/dev/null
AMI=$(q ssm get-parameter --name /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64 --query Parameter.Value)
INSTANCE=$(q ec2 run-instances --image-id "$AMI" --instance-type t3.micro --subnet-id "$PUB" --key-name bastion \
    --security-group-ids "$BSG" --iam-instance-profile Name=bastion --query 'Instances[0].InstanceId')
q ec2 wait instance-running --instance-ids "$INSTANCE"
BEIP=$(q ec2 allocate-address --domain vpc --query AllocationId)
q ec2 associate-address --allocation-id "$BEIP" --instance-id "$INSTANCE" >/dev/null

# The load balancer path.
cd "$WORKDIR"
openssl req -x509 -newkey rsa:2048 -nodes -keyout root.key -out chain.pem -days 30 -subj "/CN=Example Root" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout key.pem -out leaf.csr -subj "/CN=airflow.example.com" 2>/dev/null
printf 'subjectAltName=DNS:airflow.example.com\n' >leaf.ext
openssl x509 -req -in leaf.csr -CA chain.pem -CAkey root.key -CAcreateserial -days 30 -extfile leaf.ext -out cert.pem 2>/dev/null
CERT=$(q acm import-certificate --certificate fileb://cert.pem --certificate-chain fileb://chain.pem --private-key fileb://key.pem --query CertificateArn)
PUB2=$(q ec2 create-subnet --vpc-id "$VPC" --cidr-block 10.192.11.0/24 --availability-zone us-west-2b --query Subnet.SubnetId)
LBSG=$(q ec2 create-security-group --group-name alb --description "ALB" --vpc-id "$VPC" --query GroupId)
LB=$(q elbv2 create-load-balancer --name mwaa-alb --subnets "$PUB" "$PUB2" --security-groups "$LBSG" --query 'LoadBalancers[0].LoadBalancerArn')
TG=$(q elbv2 create-target-group --name mwaa-web --protocol HTTPS --port 443 --vpc-id "$VPC" --target-type ip \
    --matcher '{"HttpCode":"200,302"}' --query 'TargetGroups[0].TargetGroupArn')
q elbv2 register-targets --target-group-arn "$TG" --targets "Id=${WEB_IPS[0]}" "Id=${WEB_IPS[1]}" >/dev/null
LISTENER=$(q elbv2 create-listener --load-balancer-arn "$LB" --protocol HTTPS --port 443 --certificates "CertificateArn=$CERT" \
    --default-actions "Type=forward,TargetGroupArn=$TG" --query 'Listeners[0].ListenerArn')

# One refresh: every read call of every resource, in the provider's order; the answers as JSON.
calls=0
r() {
    calls=$((calls + 1))
    qj "$@" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin), sort_keys=True))'
}
refresh() {
    calls=0
    # data aws_caller_identity, aws_region, aws_availability_zones, aws_ami
    r sts get-caller-identity
    r ec2 describe-availability-zones --filters Name=opt-in-status,Values=opt-in-not-required
    r ec2 describe-images --owners amazon --filters 'Name=name,Values=al2023-ami-2023.*-x86_64'
    r ssm get-parameter --name /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64
    # aws_vpc
    r ec2 describe-vpcs --vpc-ids "$VPC"
    for a in enableDnsHostnames enableDnsSupport enableNetworkAddressUsageMetrics; do
        r ec2 describe-vpc-attribute --vpc-id "$VPC" --attribute "$a"
    done
    r ec2 describe-network-acls --filters Name=default,Values=true "Name=vpc-id,Values=$VPC"
    r ec2 describe-route-tables --filters Name=association.main,Values=true "Name=vpc-id,Values=$VPC"
    r ec2 describe-security-groups --filters Name=group-name,Values=default "Name=vpc-id,Values=$VPC"
    # aws_subnet ×4, aws_internet_gateway, aws_eip ×2, aws_nat_gateway
    for s in "$PUB" "$PUB2" "$A" "$B"; do r ec2 describe-subnets --subnet-ids "$s"; done
    r ec2 describe-internet-gateways --internet-gateway-ids "$IGW"
    for e in "$EIP" "$BEIP"; do
        r ec2 describe-addresses --allocation-ids "$e"
        r ec2 describe-addresses-attribute --allocation-ids "$e" --attribute domain-name
    done
    r ec2 describe-nat-gateways --nat-gateway-ids "$NAT"
    # aws_route_table ×2 (+ routes, associations)
    for t in "$PRT" "$RT"; do r ec2 describe-route-tables --route-table-ids "$t"; done
    # aws_security_group ×4, their rules (aws_vpc_security_group_ingress_rule reads by id)
    for g in "$SG" "$BSG" "$LBSG"; do
        r ec2 describe-security-groups --group-ids "$g"
        r ec2 describe-security-group-rules --filters "Name=group-id,Values=$g"
    done
    # aws_vpc_endpoint (the environment's webserver endpoint, as a data source reads it)
    r ec2 describe-vpc-endpoints --vpc-endpoint-ids "$VPCE"
    r ec2 describe-prefix-lists --filters Name=prefix-list-name,Values=com.amazonaws.us-west-2.s3
    # aws_key_pair
    r ec2 describe-key-pairs --key-names bastion
    # aws_iam_role ×2 (+ inline and attached policies), aws_iam_policy, aws_iam_instance_profile
    for role in mwaa-exec bastion; do
        r iam get-role --role-name "$role"
        r iam list-role-policies --role-name "$role"
        r iam list-attached-role-policies --role-name "$role"
    done
    r iam get-role-policy --role-name mwaa-exec --policy-name mwaa
    r iam get-policy --policy-arn "$POLICY"
    r iam get-policy-version --policy-arn "$POLICY" --version-id v1
    r iam get-instance-profile --instance-profile-name bastion
    # aws_instance
    r ec2 describe-instances --instance-ids "$INSTANCE"
    r ec2 describe-instance-types --instance-types t3.micro
    r ec2 describe-instance-credit-specifications --instance-ids "$INSTANCE"
    r ec2 describe-tags --filters "Name=resource-id,Values=$INSTANCE" Name=key,Values=aws:ec2launchtemplate:id
    r ec2 describe-vpcs --vpc-ids "$VPC"
    r ec2 describe-volumes --filters "Name=attachment.instance-id,Values=$INSTANCE"
    for a in disableApiStop disableApiTermination userData instanceInitiatedShutdownBehavior; do
        r ec2 describe-instance-attribute --instance-id "$INSTANCE" --attribute "$a"
    done
    # aws_acm_certificate
    r acm describe-certificate --certificate-arn "$CERT"
    r acm list-tags-for-certificate --certificate-arn "$CERT"
    # aws_lb, aws_lb_target_group, aws_lb_target_group_attachment ×2, aws_lb_listener
    r elbv2 describe-load-balancers --load-balancer-arns "$LB"
    r elbv2 describe-load-balancer-attributes --load-balancer-arn "$LB"
    r elbv2 describe-tags --resource-arns "$LB" "$TG" "$LISTENER"
    r elbv2 describe-target-groups --target-group-arns "$TG"
    r elbv2 describe-target-group-attributes --target-group-arn "$TG"
    for ip in "${WEB_IPS[@]}"; do
        r elbv2 describe-target-health --target-group-arn "$TG" --targets "Id=$ip" --query 'TargetHealthDescriptions[].Target'
    done
    r elbv2 describe-listeners --listener-arns "$LISTENER"
    r elbv2 describe-listener-attributes --listener-arn "$LISTENER"
    r elbv2 describe-listener-certificates --listener-arn "$LISTENER"
    # aws_mwaa_environment
    r mwaa get-environment --name tf-env
}
refresh >"$WORKDIR/refresh1"
N=$calls
refresh >"$WORKDIR/refresh2"
check_eq "every call of both refreshes answered" "0" "$(grep -c '^null$' "$WORKDIR/refresh1" "$WORKDIR/refresh2" | awk -F: '{s+=$2} END {print s}')"
check_eq "a refresh makes $N calls" "$N" "$(wc -l <"$WORKDIR/refresh1" | tr -d ' ')"
if cmp -s "$WORKDIR/refresh1" "$WORKDIR/refresh2"; then
    ok "the second refresh reads exactly what the first did ($N calls)"
else
    not_ok "the second refresh reads exactly what the first did"
    diag "$(diff "$WORKDIR/refresh1" "$WORKDIR/refresh2" | head -c 3000)"
fi
check_eq "the instance's profile, credits and groups as read" "bastion unlimited $BSG" \
    "$(q ec2 describe-instances --instance-ids "$INSTANCE" --query 'Reservations[0].Instances[0].IamInstanceProfile.Arn' | sed 's|.*/||') $(q ec2 describe-instance-credit-specifications --instance-ids "$INSTANCE" --query 'InstanceCreditSpecifications[0].CpuCredits') $(q ec2 describe-instances --instance-ids "$INSTANCE" --query 'Reservations[0].Instances[0].SecurityGroups[0].GroupId')"

finish
