#!/usr/bin/env bash
# CloudFormation for both ways to the private webserver, with real clients only: the MWAA
# quick-start stack (cloudformation/mwaa-quickstart.yaml), then a second stack
# (cloudformation/mwaa-access.yaml) that imports its exports and adds a bastion (a generated key
# pair whose private key is read back from Parameter Store, an instance from SSM's latest Amazon
# Linux parameter) and an internet-facing ALB (an imported openssl certificate, an ip target group
# of the webserver endpoint's two addresses), each admitted by a rule in the environment's group;
# `ssh -N -D` + `curl --socks5-hostname` through the bastion and curl through the ALB, then
# deleting the second stack takes all of it (and the rules) away, and the first one deletes.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# Time scale 0, as the other CloudFormation scripts: stacks finish within the requests that start
# them, so `aws cloudformation deploy` and the delete waiter never sleep their 30 s between polls.
start_server --time-scale 0
T=$E2E_DIR/cloudformation
QS=$T/mwaa-quickstart.yaml
ACCESS=$T/mwaa-access.yaml
SSH_OPTS=(-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes -o ConnectTimeout=5 -o ExitOnForwardFailure=yes)
wait_port() { for _ in $(seq 50); do (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
out() { q cloudformation describe-stacks --stack-name "$1" --query "Stacks[0].Outputs[?OutputKey=='$2'].OutputValue | [0]"; }
sorted() { echo $(printf '%s\n' "$@" | LC_ALL=C sort); }

# The quick start, as the MWAA tutorials deploy it.
run "$AWS" cloudformation deploy --template-file "$QS" --stack-name mwaa --capabilities CAPABILITY_IAM
check_eq "deploy of the quick-start stack succeeds" 0 "$RC"
[[ $RC -eq 0 ]] || diag "$ERR"
HOST=$(out mwaa WebserverUrl)
VPC=$(out mwaa VPC)
SG=$(out mwaa SecurityGroup)
IFS=, read -r PUB1 PUB2 <<<"$(out mwaa PublicSubnets)"
check_eq "the environment is AVAILABLE" AVAILABLE "$(q mwaa get-environment --name MwaaEnvironment --query Environment.Status)"
check_eq "the quick start exports its public subnets" "$PUB1 $PUB2" \
    "$(q cloudformation list-exports --query "join(' ', Exports[?starts_with(Name, 'mwaa-PublicSubnet')].Value)")"

# The webserver endpoint's two addresses, as "Using a Load Balancer" finds them.
WEB_SERVICE=$(q mwaa get-environment --name MwaaEnvironment --query Environment.WebserverVpcEndpointService)
ENIS=$(q ec2 describe-vpc-endpoints --filters "Name=service-name,Values=$WEB_SERVICE" --query 'VpcEndpoints[0].NetworkInterfaceIds')
read -r -a ENI_IDS <<<"$(echo $ENIS)"
IPS=$(q ec2 describe-network-interfaces --network-interface-ids "${ENI_IDS[@]}" --query 'NetworkInterfaces[].PrivateIpAddress')
read -r -a WEB_IPS <<<"$(echo $IPS)"
check_eq "the webserver endpoint has two addresses" 2 "${#WEB_IPS[@]}"
check_eq "the ones dig answers for the WebserverUrl" "$(sorted "${WEB_IPS[@]}")" \
    "$(sorted $(dig @127.0.0.1 -p "$DNS_PORT" +short "$HOST" | grep -E '^[0-9.]+$'))"

# Certificates with openssl: a root, and a leaf for airflow.example.com signed by it, imported.
cd "$WORKDIR"
openssl req -x509 -newkey rsa:2048 -nodes -keyout root.key -out CertificateChain.pem -days 30 \
    -subj "/O=Example Corp/CN=Example Root" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout PrivateKey.pem -out leaf.csr \
    -subj "/O=Example Corp/CN=airflow.example.com" 2>/dev/null
printf 'subjectAltName=DNS:airflow.example.com\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' >leaf.ext
openssl x509 -req -in leaf.csr -CA CertificateChain.pem -CAkey root.key -CAcreateserial -days 30 \
    -extfile leaf.ext -out Certificate.pem 2>/dev/null
CERT=$(q acm import-certificate --certificate fileb://Certificate.pem --certificate-chain fileb://CertificateChain.pem \
    --private-key fileb://PrivateKey.pem --region us-west-2 --query CertificateArn)
cd - >/dev/null
check_match "import-certificate returns an ARN in us-west-2" '^arn:aws:acm:us-west-2:000000000000:certificate/[0-9a-f-]{36}$' "$CERT"

# The access template: its parameters, and what it needs given.
check_eq "validate-template lists the access template's parameters" \
    "CertificateArn HealthCheckPath InstanceType LatestAmiId QuickStackName SshCidr WebserverIps" \
    "$(q cloudformation validate-template --template-body "file://$ACCESS" --query "join(' ', sort(Parameters[].ParameterKey))")"
expect_error "a stack without the webserver addresses and the certificate" ValidationError \
    cloudformation create-stack --stack-name nope --template-body "file://$ACCESS"
check_contains "names them" "WebserverIps" "$ERR"

run "$AWS" cloudformation deploy --template-file "$ACCESS" --stack-name access \
    --parameter-overrides "WebserverIps=${WEB_IPS[0]},${WEB_IPS[1]}" "CertificateArn=$CERT"
check_eq "deploy of the access stack succeeds" 0 "$RC"
[[ $RC -eq 0 ]] || diag "$ERR"
check_contains "and says so" "Successfully created/updated stack - access" "$OUT"
check_eq "the stack is CREATE_COMPLETE with its 9 resources" "CREATE_COMPLETE 9" \
    "$(q cloudformation describe-stacks --stack-name access --query 'Stacks[0].StackStatus') $(q cloudformation list-stack-resources --stack-name access --query 'length(StackResourceSummaries)')"
RES=$(qj cloudformation list-stack-resources --stack-name access)
phys() { J "$RES" "[r['PhysicalResourceId'] for r in d['StackResourceSummaries'] if r['LogicalResourceId'] == '$1'][0]"; }
INSTANCE=$(phys Bastion)
KEY_NAME=$(phys BastionKeyPair)
BASTION_SG=$(phys BastionSecurityGroup)
ALB_SG=$(phys LoadBalancerSecurityGroup)
LB=$(phys LoadBalancer)
TG=$(out access TargetGroupArn)
check_eq "the TargetGroupArn output is the stack's target group" "$(phys TargetGroup)" "$TG"
check_eq "list-imports names the access stack" access "$(q cloudformation list-imports --export-name mwaa-PublicSubnet1 --query 'Imports[0]')"
expect_error "the quick-start stack cannot go while its exports are imported" ValidationError cloudformation delete-stack --stack-name mwaa
check_contains "says who uses them" "in use by access" "$ERR"

# The bastion: the image SSM names, the first public subnet, the stack's key and group.
AMI=$(q ssm get-parameter --name /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64 --query Parameter.Value)
check_eq "the stack resolved LatestAmiId from SSM" "$AMI" \
    "$(q cloudformation describe-stacks --stack-name access --query "Stacks[0].Parameters[?ParameterKey=='LatestAmiId'].ResolvedValue | [0]")"
BASTION_IP=$(out access BastionPublicIp)
check_match "the BastionPublicIp output is a public address (Airlock's public loopback range)" '^127\.255\.' "$BASTION_IP"
I=$(qj ec2 describe-instances --instance-ids "$INSTANCE" --query 'Reservations[0].Instances[0]')
check_eq "the bastion runs that image in the first public subnet with the stack's key, group and address" \
    "running $AMI $PUB1 $KEY_NAME $BASTION_SG $BASTION_IP" \
    "$(J "$I" '" ".join([d["State"]["Name"], d["ImageId"], d["SubnetId"], d["KeyName"], d["SecurityGroups"][0]["GroupId"], d.get("PublicIpAddress", "")])')"
check_eq "the bastion's group admits SSH from SshCidr" "tcp 22 22 0.0.0.0/0" \
    "$(q ec2 describe-security-groups --group-ids "$BASTION_SG" --query "join(' ', [SecurityGroups[0].IpPermissions[0].IpProtocol, to_string(SecurityGroups[0].IpPermissions[0].FromPort), to_string(SecurityGroups[0].IpPermissions[0].ToPort), SecurityGroups[0].IpPermissions[0].IpRanges[0].CidrIp])")"
rules443() { q ec2 describe-security-groups --group-ids "$SG" --query "join(' ', sort(SecurityGroups[0].IpPermissions[?FromPort==\`443\`].UserIdGroupPairs[].GroupId))"; }
check_eq "the environment's group admits the bastion's and the load balancer's groups on 443" \
    "$(sorted "$ALB_SG" "$BASTION_SG")" "$(rules443)"

# The key pair's private half, from Parameter Store as CloudFormation keeps it.
KEY_ID=$(out access KeyPairId)
check_match "the KeyPairId output is a key pair id" '^key-[0-9a-f]{17}$' "$KEY_ID"
check_eq "its parameter is a SecureString" SecureString "$(q ssm get-parameter --name "/ec2/keypair/$KEY_ID" --query Parameter.Type)"
KEY=$WORKDIR/bastion.pem
"$AWS" ssm get-parameter --name "/ec2/keypair/$KEY_ID" --with-decryption --query Parameter.Value --output text >"$KEY"
chmod 600 "$KEY"
public_half() { ssh-keygen -y -f "$1" 2>/dev/null | cut -d' ' -f2; }
check_ne "ssh-keygen reads it as a private key" "" "$(public_half "$KEY")"
check_eq "it is the key pair's private key" \
    "$(q ec2 describe-key-pairs --key-pair-ids "$KEY_ID" --include-public-key --query 'KeyPairs[0].PublicKey' | cut -d' ' -f2)" \
    "$(public_half "$KEY")"

# ssh -D through the bastion: a SOCKS proxy into the VPC.
CA=$WORKDIR/ca.pem
"$AIRLOCK_BIN" ca --listen "127.0.0.1:$PORT" >"$CA"
ssh_listens() {
    SSH_PORT=$(grep 'listener started' "$SERVER_LOG" | grep -o "addr=$BASTION_IP:[0-9]*" | head -n 1 | cut -d: -f2 || true)
    [[ -n $SSH_PORT ]]
}
poll_until "the bastion's SSH server listens on its public address (22, or 10022 without privileges)" 50 0.1 ssh_listens
SOCKS=$(free_port)
ssh "${SSH_OPTS[@]}" -i "$KEY" -p "${SSH_PORT:-22}" -N -D "127.0.0.1:$SOCKS" "ec2-user@$BASTION_IP" &
SSH_D=$!
check "ssh -N -D with the key from Parameter Store starts" wait_port "$SOCKS"
run curl -s -o /dev/null -w '%{http_code}' -m 10 --socks5-hostname "127.0.0.1:$SOCKS" --cacert "$CA" "https://$HOST/"
check_eq "curl --socks5-hostname https://<WebserverUrl>/ answers 302" 302 "$OUT"
run curl -s -o /dev/null -w '%{http_code}' -m 10 --socks5-hostname "127.0.0.1:$SOCKS" --cacert "$CA" "https://$HOST/health"
check_eq "and /health answers 200" 200 "$OUT"
kill "$SSH_D" 2>/dev/null || true
wait "$SSH_D" 2>/dev/null || true

# The load balancer, its target group and listener, as the stack made them.
L=$(qj elbv2 describe-load-balancers --load-balancer-arns "$LB" --query 'LoadBalancers[0]')
check_eq "the load balancer: internet-facing, application, active, in both public subnets, with its own group" \
    "internet-facing application active $(sorted "$PUB1" "$PUB2") $ALB_SG" \
    "$(J "$L" '" ".join([d["Scheme"], d["Type"], d["State"]["Code"]] + sorted(z["SubnetId"] for z in d["AvailabilityZones"]) + d["SecurityGroups"])')"
LB_DNS=$(out access LoadBalancerDNS)
check_eq "the LoadBalancerDNS output is its DNS name" "$(J "$L" 'd["DNSName"]')" "$LB_DNS"
check_match "in AWS's format" '^access-alb-[0-9]+\.us-west-2\.elb\.amazonaws\.com$' "$LB_DNS"
G=$(qj elbv2 describe-target-groups --target-group-arns "$TG" --query 'TargetGroups[0]')
check_eq "the target group: ip targets on HTTPS:443 in the VPC, HTTPS checks of HealthCheckPath with matcher 200,302, used by the load balancer" \
    "ip HTTPS 443 $VPC HTTPS /aws_mwaa/aws-console-sso 200,302 $LB" \
    "$(J "$G" '" ".join([d["TargetType"], d["Protocol"], str(d["Port"]), d["VpcId"], d["HealthCheckProtocol"], d["HealthCheckPath"], d["Matcher"]["HttpCode"]] + d["LoadBalancerArns"])')"
check_eq "its targets are the webserver endpoint's two addresses (Fn::Select over WebserverIps)" "$(sorted "${WEB_IPS[@]}")" \
    "$(sorted $(q elbv2 describe-target-health --target-group-arn "$TG" --query 'TargetHealthDescriptions[].Target.Id'))"
LS=$(qj elbv2 describe-listeners --load-balancer-arn "$LB" --query 'Listeners')
check_eq "one HTTPS:443 listener with the policy and the imported certificate, forwarding to the group" \
    "1 HTTPS 443 ELBSecurityPolicy-TLS13-1-2-2021-06 $CERT forward $TG" \
    "$(J "$LS" '" ".join([str(len(d)), d[0]["Protocol"], str(d[0]["Port"]), d[0]["SslPolicy"], d[0]["Certificates"][0]["CertificateArn"], d[0]["DefaultActions"][0]["Type"], d[0]["DefaultActions"][0]["TargetGroupArn"]])')"
check_eq "DescribeCertificate lists the load balancer in InUseBy" "$LB" \
    "$(q acm describe-certificate --certificate-arn "$CERT" --query 'Certificate.InUseBy[0]')"

# The environment's group admits the load balancer (the stack's rule), and the matcher takes the
# webserver's answer, so both targets become healthy.
health() { q elbv2 describe-target-health --target-group-arn "$TG" --query 'TargetHealthDescriptions[].join(`:`, [TargetHealth.State, TargetHealth.Reason || `-`])' | sort -u | tr '\n' ' '; }
all_are() {
    LAST_HEALTH=$(health)
    [[ $LAST_HEALTH == "$1 " ]]
}
LAST_HEALTH=
poll_until "both targets become healthy" 300 0.1 all_are healthy:-
[[ $LAST_HEALTH == "healthy:- " ]] || diag "last DescribeTargetHealth: $LAST_HEALTH"

# Through the load balancer's public address, with the imported certificate.
LB_IP=$(dig @127.0.0.1 -p "$DNS_PORT" +short "$LB_DNS" | head -n 1)
check_match "dig <LoadBalancerDNS> answers a public address" '^127\.255\.[0-9]+\.[0-9]+$' "$LB_IP"
lb_listens() {
    LB_PORT=$(grep 'listener started' "$SERVER_LOG" | grep -o "addr=$LB_IP:[0-9]*" | head -n 1 | cut -d: -f2 || true)
    [[ -n $LB_PORT ]]
}
poll_until "the HTTPS listener listens there (443, or 10443 without privileges)" 50 0.1 lb_listens
run curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -m 10 --cacert "$WORKDIR/CertificateChain.pem" \
    --resolve "airflow.example.com:$LB_PORT:$LB_IP" "https://airflow.example.com:$LB_PORT/"
check_match "curl through the load balancer: / answers 302 to the login page" '^302 https://' "$OUT"
run curl -s -w ' %{http_code}' -m 10 --cacert "$WORKDIR/CertificateChain.pem" \
    --resolve "airflow.example.com:$LB_PORT:$LB_IP" "https://airflow.example.com:$LB_PORT/health"
check_match "and /health answers 200 with Airflow's health JSON" '"metadatabase".* 200$' "$OUT"
run curl -s -o /dev/null -w '%{http_code}' -m 10 --cacert "$WORKDIR/CertificateChain.pem" \
    --resolve "airflow.example.com:$LB_PORT:$LB_IP" "https://airflow.example.com:$LB_PORT/aws_mwaa/aws-console-sso"
check_eq "and the health check's path answers 200" 200 "$OUT"

# Deleting the access stack takes all of it away, the rules in the environment's group too.
q cloudformation delete-stack --stack-name access >/dev/null
run "$AWS" cloudformation wait stack-delete-complete --stack-name access
check_eq "delete-stack access completes" 0 "$RC"
run "$AWS" --output text ec2 describe-instances --instance-ids "$INSTANCE" --query 'Reservations[0].Instances[0].State.Name'
# At --time-scale 0 a terminated instance's hour of visibility is over at once.
check_match "the bastion is terminated (or already out of sight)" '^terminated$|InvalidInstanceID\.NotFound' "$OUT$ERR"
expect_error "the load balancer is gone" LoadBalancerNotFound elbv2 describe-load-balancers --load-balancer-arns "$LB"
expect_error "the target group is gone" TargetGroupNotFound elbv2 describe-target-groups --target-group-arns "$TG"
gone() { ! curl -s -o /dev/null -m 2 --cacert "$WORKDIR/CertificateChain.pem" --resolve "airflow.example.com:$LB_PORT:$LB_IP" "https://airflow.example.com:$LB_PORT/health"; }
poll_until "nothing listens at the load balancer's address any more" 50 0.1 gone
check_eq "the environment's group no longer has the two rules on 443" "" "$(rules443)"
check_eq "its self-referencing rule stays" "$SG" \
    "$(q ec2 describe-security-groups --group-ids "$SG" --query "join(' ', SecurityGroups[0].IpPermissions[?IpProtocol=='-1'].UserIdGroupPairs[].GroupId)")"
expect_error "the bastion's group is gone" InvalidGroup.NotFound ec2 describe-security-groups --group-ids "$BASTION_SG"
expect_error "the load balancer's group is gone" InvalidGroup.NotFound ec2 describe-security-groups --group-ids "$ALB_SG"
expect_error "the key pair is gone" InvalidKeyPair.NotFound ec2 describe-key-pairs --key-pair-ids "$KEY_ID"
expect_error "and its private key's parameter" ParameterNotFound ssm get-parameter --name "/ec2/keypair/$KEY_ID"
expect_ok "the certificate, no longer in use, can be deleted" acm delete-certificate --certificate-arn "$CERT"

# Then the quick start deletes.
q cloudformation delete-stack --stack-name mwaa >/dev/null
run "$AWS" cloudformation wait stack-delete-complete --stack-name mwaa
check_eq "delete-stack mwaa completes" 0 "$RC"
check_eq "no VPC but the default is left" "172.31.0.0/16" "$(q ec2 describe-vpcs --query "join(' ', Vpcs[].CidrBlock)")"
check_eq "no environment is left" 0 "$(q mwaa list-environments --query 'length(Environments)')"
check_eq "no export is left" 0 "$(q cloudformation list-exports --query 'length(Exports)')"

finish
