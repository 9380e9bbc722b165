#!/usr/bin/env bash
# "Using a Load Balancer (advanced)" of the AWS page, with real clients only: a certificate made
# with openssl and imported with `aws acm import-certificate ... fileb://`, an internet-facing
# ALB, an ip target group on HTTPS:443 holding both webserver endpoint addresses, an HTTPS
# listener with the certificate; the traps (the environment's group, matcher 200 against the
# webserver's 302) are real, and curl reaches the webserver through the load balancer's address.
# Last, a China region's load balancer: its name under amazonaws.com.cn, and dig answers it there.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

start_server --time-scale 0.002
mwaa_network
q mwaa create-environment --name MyAirflowEnvironment --execution-role-arn arn:aws:iam::000000000000:role/mwaa-exec \
    --source-bucket-arn arn:aws:s3:::my-airflow-bucket --dag-s3-path dags --network-configuration "SubnetIds=$A,$B,SecurityGroupIds=$SG" >/dev/null
available() { [[ $(q mwaa get-environment --name MyAirflowEnvironment --query Environment.Status) == AVAILABLE ]]; }
poll_until "the environment becomes AVAILABLE" 100 0.2 available
WEB_SERVICE=$(q mwaa get-environment --name MyAirflowEnvironment --query Environment.WebserverVpcEndpointService)
ENIS=$(q ec2 describe-vpc-endpoints --filters "Name=service-name,Values=$WEB_SERVICE" --query 'VpcEndpoints[0].NetworkInterfaceIds')
read -r -a ENI_IDS <<<"$(echo $ENIS)"
IPS=$(q ec2 describe-network-interfaces --network-interface-ids "${ENI_IDS[@]}" --query 'NetworkInterfaces[].PrivateIpAddress')
read -r -a WEB_IPS <<<"$(echo $IPS)"
check_eq "the webserver endpoint has two addresses" 2 "${#WEB_IPS[@]}"

# Certificates with openssl: a root, and a leaf for airflow.example.com signed by it.
cd "$WORKDIR"
openssl req -x509 -newkey rsa:2048 -nodes -keyout root.key -out CertificateChain.pem -days 30 \
    -subj "/O=Example Corp/CN=Example Root" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout PrivateKey.pem -out leaf.csr \
    -subj "/O=Example Corp/CN=airflow.example.com" 2>/dev/null
printf 'subjectAltName=DNS:airflow.example.com\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' >leaf.ext
openssl x509 -req -in leaf.csr -CA CertificateChain.pem -CAkey root.key -CAcreateserial -days 30 \
    -extfile leaf.ext -out Certificate.pem 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out OtherKey.pem 2>/dev/null

expect_error "importing the certificate with a key that is not its own is refused" ValidationException \
    acm import-certificate --certificate fileb://Certificate.pem --certificate-chain fileb://CertificateChain.pem \
    --private-key fileb://OtherKey.pem --region us-west-2
check_contains "with ACM's message" "The private key does not match the public key in the certificate." "$ERR"
CERT=$(q acm import-certificate --certificate fileb://Certificate.pem --certificate-chain fileb://CertificateChain.pem \
    --private-key fileb://PrivateKey.pem --region us-west-2 --query CertificateArn)
check_match "the seed's import-certificate returns an ARN in us-west-2" '^arn:aws:acm:us-west-2:000000000000:certificate/[0-9a-f-]{36}$' "$CERT"
check_eq "the certificate is ISSUED and IMPORTED" "ISSUED IMPORTED airflow.example.com" \
    "$(echo $(q acm describe-certificate --certificate-arn "$CERT" --query '[Certificate.Status,Certificate.Type,Certificate.DomainName]'))"
OTHER_REGION=$(q acm import-certificate --certificate fileb://Certificate.pem --certificate-chain fileb://CertificateChain.pem \
    --private-key fileb://PrivateKey.pem --region us-east-1 --query CertificateArn)
cd - >/dev/null

# A second public subnet (an ALB needs two zones), the load balancer's group, the load balancer.
PUB2=$(q ec2 create-subnet --vpc-id "$VPC" --cidr-block 10.192.11.0/24 --availability-zone us-west-2b --query Subnet.SubnetId)
q ec2 associate-route-table --route-table-id "$PRT" --subnet-id "$PUB2" >/dev/null
ALB_SG=$(q ec2 create-security-group --group-name alb --description "ALB" --vpc-id "$VPC" --query GroupId)
q ec2 authorize-security-group-ingress --group-id "$ALB_SG" --protocol tcp --port 443 --cidr 0.0.0.0/0 >/dev/null
LB=$(q elbv2 create-load-balancer --name mwaa-alb --subnets "$PUB" "$PUB2" --security-groups "$ALB_SG" --query 'LoadBalancers[0].LoadBalancerArn')
LB_DNS=$(q elbv2 describe-load-balancers --load-balancer-arns "$LB" --query 'LoadBalancers[0].DNSName')
check_match "the load balancer's DNS name is in AWS's format" '^mwaa-alb-[0-9]+\.us-west-2\.elb\.amazonaws\.com$' "$LB_DNS"
active() { [[ $(q elbv2 describe-load-balancers --load-balancer-arns "$LB" --query 'LoadBalancers[0].State.Code') == active ]]; }
poll_until "the load balancer becomes active" 100 0.1 active

TG=$(q elbv2 create-target-group --name mwaa-webserver --protocol HTTPS --port 443 --vpc-id "$VPC" --target-type ip \
    --matcher HttpCode=200 --query 'TargetGroups[0].TargetGroupArn')
q elbv2 register-targets --target-group-arn "$TG" --targets "Id=${WEB_IPS[0]}" "Id=${WEB_IPS[1]}" >/dev/null
expect_error "a certificate imported in another region is not found" CertificateNotFound \
    elbv2 create-listener --load-balancer-arn "$LB" --protocol HTTPS --port 443 \
    --certificates "CertificateArn=$OTHER_REGION" --default-actions "Type=forward,TargetGroupArn=$TG"
expect_error "an HTTPS listener without a certificate is refused" ValidationError \
    elbv2 create-listener --load-balancer-arn "$LB" --protocol HTTPS --port 443 --default-actions "Type=forward,TargetGroupArn=$TG"
LISTENER=$(q elbv2 create-listener --load-balancer-arn "$LB" --protocol HTTPS --port 443 \
    --certificates "CertificateArn=$CERT" --default-actions "Type=forward,TargetGroupArn=$TG" --query 'Listeners[0].ListenerArn')
# What Terraform's aws_lb_listener reads on every refresh.
check_eq "an HTTPS listener's attributes: the server header on, AWS's request header names" \
    "true X-Amzn-Tls-Version" \
    "$(q elbv2 describe-listener-attributes --listener-arn "$LISTENER" --query "join(' ', [Attributes[?Key=='routing.http.response.server.enabled'].Value | [0], Attributes[?Key=='routing.http.request.x_amzn_tls_version.header_name'].Value | [0]])")"
q elbv2 modify-listener-attributes --listener-arn "$LISTENER" \
    --attributes Key=routing.http.response.server.enabled,Value=false >/dev/null
check_eq "a changed attribute sticks" "false" \
    "$(q elbv2 describe-listener-attributes --listener-arn "$LISTENER" --query "Attributes[?Key=='routing.http.response.server.enabled'].Value | [0]")"
expect_error "a TCP attribute on an HTTPS listener" InvalidConfigurationRequest elbv2 modify-listener-attributes \
    --listener-arn "$LISTENER" --attributes Key=tcp.idle_timeout.seconds,Value=120

health() { q elbv2 describe-target-health --target-group-arn "$TG" --query 'TargetHealthDescriptions[].join(`:`, [TargetHealth.State, TargetHealth.Reason || `-`])' | sort -u | tr '\n' ' '; }
all_are() { [[ $(health) == "$1 " ]]; }
# Trap 1: the environment's group does not admit the load balancer, so the probes time out.
poll_until "without a rule for the load balancer the targets time out" 200 0.1 all_are unhealthy:Target.Timeout
q ec2 authorize-security-group-ingress --group-id "$SG" --ip-permissions "IpProtocol=tcp,FromPort=443,ToPort=443,UserIdGroupPairs=[{GroupId=$ALB_SG}]" >/dev/null
# Trap 2: matcher 200 against the webserver's 302.
poll_until "with matcher 200 the targets are unhealthy: ResponseCodeMismatch" 200 0.1 all_are unhealthy:Target.ResponseCodeMismatch
check_eq "DescribeTargetHealth says which code failed" "Health checks failed with these codes: [302]" \
    "$(q elbv2 describe-target-health --target-group-arn "$TG" --query 'TargetHealthDescriptions[0].TargetHealth.Description')"
q elbv2 modify-target-group --target-group-arn "$TG" --matcher 'HttpCode="200,302"' >/dev/null
poll_until "with matcher 200,302 both targets become healthy" 200 0.1 all_are healthy:-

# The load balancer's name resolves to its public addresses, where the listener terminates TLS
# with the imported certificate and forwards to the webserver.
LB_IP=$(dig @127.0.0.1 -p "$DNS_PORT" +short "$LB_DNS" | head -n 1)
check_match "dig <lb dns> answers a public address" '^127\.255\.[0-9]+\.[0-9]+$' "$LB_IP"
LB_PORT=$(grep 'listener started' "$SERVER_LOG" | grep -o "addr=$LB_IP:[0-9]*" | head -n 1 | cut -d: -f2 || true)
check_match "the HTTPS listener listens there (443, or 10443 without privileges)" '^1?0?443$' "$LB_PORT"
run curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -m 10 --cacert "$WORKDIR/CertificateChain.pem" \
    --resolve "airflow.example.com:$LB_PORT:$LB_IP" "https://airflow.example.com:$LB_PORT/"
check_match "curl through the load balancer: / answers 302 to the login page" '^302 https://' "$OUT"
run curl -s -w ' %{http_code}' -m 10 --cacert "$WORKDIR/CertificateChain.pem" \
    --resolve "airflow.example.com:$LB_PORT:$LB_IP" "https://airflow.example.com:$LB_PORT/health"
check_match "and /health answers 200 with Airflow's health JSON" '"metadatabase".* 200$' "$OUT"
SUBJECT=$(openssl s_client -connect "$LB_IP:$LB_PORT" -servername airflow.example.com </dev/null 2>/dev/null |
    openssl x509 -noout -subject -fingerprint -sha256 2>/dev/null || true)
check_contains "openssl s_client sees the imported certificate" \
    "$(openssl x509 -in "$WORKDIR/Certificate.pem" -noout -fingerprint -sha256)" "$SUBJECT"
run curl -s -o /dev/null -w '%{http_code}' -m 10 --cacert "$WORKDIR/CertificateChain.pem" \
    --resolve "$LB_DNS:$LB_PORT:$LB_IP" "https://$LB_DNS:$LB_PORT/"
check_eq "the certificate does not cover the load balancer's own name (curl refuses: 000)" 000 "$OUT"

check_eq "DescribeCertificate lists the load balancer in InUseBy" "$LB" \
    "$(q acm describe-certificate --certificate-arn "$CERT" --query 'Certificate.InUseBy[0]')"
expect_error "a certificate in use cannot be deleted" ResourceInUseException acm delete-certificate --certificate-arn "$CERT"
q elbv2 delete-load-balancer --load-balancer-arn "$LB" >/dev/null
gone() { ! curl -s -o /dev/null -m 2 --cacert "$WORKDIR/CertificateChain.pem" --resolve "airflow.example.com:$LB_PORT:$LB_IP" "https://airflow.example.com:$LB_PORT/health"; }
poll_until "after delete-load-balancer nothing listens there" 50 0.1 gone
expect_ok "the certificate can then be deleted" acm delete-certificate --certificate-arn "$CERT"
# In China's regions the load balancer's name is under amazonaws.com.cn, and dig answers it there.
CN="--region cn-north-1"
CN_VPC=$(q ec2 create-vpc --cidr-block 10.9.0.0/16 $CN --query Vpc.VpcId)
CN_A=$(q ec2 create-subnet --vpc-id "$CN_VPC" --cidr-block 10.9.0.0/24 --availability-zone cn-north-1a $CN --query Subnet.SubnetId)
CN_B=$(q ec2 create-subnet --vpc-id "$CN_VPC" --cidr-block 10.9.1.0/24 --availability-zone cn-north-1b $CN --query Subnet.SubnetId)
CN_LB_DNS=$(q elbv2 create-load-balancer --name china --scheme internal --subnets "$CN_A" "$CN_B" $CN \
    --query 'LoadBalancers[0].DNSName')
check_match "a China load balancer's DNS name is under amazonaws.com.cn" \
    '^internal-china-[0-9]+\.cn-north-1\.elb\.amazonaws\.com\.cn$' "$CN_LB_DNS"
cn_active() { [[ $(q elbv2 describe-load-balancers --names china $CN --query 'LoadBalancers[0].State.Code') == active ]]; }
poll_until "the China load balancer becomes active" 100 0.1 cn_active
check_match "dig answers its private addresses" '^10\.9\.[01]\.[0-9]+ 10\.9\.[01]\.[0-9]+$' \
    "$(dig @127.0.0.1 -p "$DNS_PORT" +short "$CN_LB_DNS" | sort | paste -sd ' ')"
check_contains "the same name under amazonaws.com does not exist" "status: NXDOMAIN" \
    "$(dig @127.0.0.1 -p "$DNS_PORT" "${CN_LB_DNS%.cn}")"
finish
