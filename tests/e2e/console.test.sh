#!/usr/bin/env bash
# The web console in a real browser: Debian's headless Chromium driven through chromedriver
# (WebDriver, tests/e2e/console/wd.py) against `airlock serve`. The page's procedure (open the
# Endpoints page, choose the region, see the MWAA endpoints and their addresses) with
# environments in us-west-2 and eu-west-1; the access paths of a private webserver: an ALB
# target group with matcher 200 marked broken with the health checker's reason, then working
# after the matcher is fixed, and a bastion whose group the environment's group does not admit,
# marked broken with the missing rule, then working; both changes appear without a reload; and
# "Open Airflow UI" of a public environment, the console's one action (CSRF-protected).
# Screenshots go to $CONSOLE_SHOTS (default: the work directory).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

for tool in chromium chromedriver; do
    if ! command -v "$tool" >/dev/null; then
        not_ok "$tool is installed (tools/test-all installs Debian's chromium and chromium-driver)"
        finish
    fi
done
SHOTS=${CONSOLE_SHOTS:-$WORKDIR}
mkdir -p "$SHOTS"

start_server --time-scale 0.002
C="http://127.0.0.1:$PORT/_airlock/console"

# Two environments: us-west-2 (the page's), and eu-west-1 with its own network and bucket.
environment() { # NAME
    q mwaa create-environment --name "$1" --execution-role-arn arn:aws:iam::000000000000:role/mwaa-exec \
        --source-bucket-arn "arn:aws:s3:::${MWAA_BUCKET:-my-airflow-bucket}" --dag-s3-path dags \
        --network-configuration "SubnetIds=$A,$B,SecurityGroupIds=$SG" >/dev/null
}
AWS_DEFAULT_REGION=eu-west-1 AWS_REGION=eu-west-1
export AWS_DEFAULT_REGION AWS_REGION
MWAA_BUCKET=eu-airflow-bucket mwaa_network
MWAA_BUCKET=eu-airflow-bucket environment EuEnvironment
export AWS_DEFAULT_REGION=us-west-2 AWS_REGION=us-west-2
mwaa_network
environment MyAirflowEnvironment
q mwaa create-environment --name PublicEnvironment --execution-role-arn arn:aws:iam::000000000000:role/mwaa-exec \
    --source-bucket-arn arn:aws:s3:::my-airflow-bucket --dag-s3-path dags --webserver-access-mode PUBLIC_ONLY \
    --network-configuration "SubnetIds=$A,$B,SecurityGroupIds=$SG" >/dev/null
available() { [[ $(q mwaa get-environment --name "$1" --region "$2" --query Environment.Status) == AVAILABLE ]]; }
poll_until "the us-west-2 environment becomes AVAILABLE" 150 0.2 available MyAirflowEnvironment us-west-2
poll_until "the eu-west-1 environment becomes AVAILABLE" 150 0.2 available EuEnvironment eu-west-1
poll_until "the public environment becomes AVAILABLE" 150 0.2 available PublicEnvironment us-west-2
PUBLIC_HOST=$(q mwaa get-environment --name PublicEnvironment --query Environment.WebserverUrl)
PUBLIC_IP=$(dig @127.0.0.1 -p "$DNS_PORT" +short "$PUBLIC_HOST" | grep -E '^[0-9.]+$' | head -n 1)
check_match "the public webserver's name resolves to a public address" '^127\.255\.' "$PUBLIC_IP"
endpoint_of() { # NAME REGION -> the webserver endpoint's id
    local service
    service=$(q mwaa get-environment --name "$1" --region "$2" --query Environment.WebserverVpcEndpointService)
    q ec2 describe-vpc-endpoints --region "$2" --filters "Name=service-name,Values=$service" --query 'VpcEndpoints[0].VpcEndpointId'
}
ips_of() { # ENDPOINT REGION -> its interfaces' addresses, one per line
    local enis
    enis=$(q ec2 describe-vpc-endpoints --region "$2" --vpc-endpoint-ids "$1" --query 'VpcEndpoints[0].NetworkInterfaceIds')
    # shellcheck disable=SC2086
    q ec2 describe-network-interfaces --region "$2" --network-interface-ids $enis --query 'NetworkInterfaces[].PrivateIpAddress'
}
US_EP=$(endpoint_of MyAirflowEnvironment us-west-2)
EU_EP=$(endpoint_of EuEnvironment eu-west-1)
read -r -a US_IPS <<<"$(echo $(ips_of "$US_EP" us-west-2))"
check_eq "the us-west-2 webserver endpoint has two addresses" 2 "${#US_IPS[@]}"

# The browser.
DRIVER_PORT=$(free_port)
chromedriver --port="$DRIVER_PORT" --allowed-ips=127.0.0.1 >"$WORKDIR/chromedriver.log" 2>&1 &
SERVER_PIDS+=("$!")
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$DRIVER_PORT/status" >/dev/null 2>&1 && break; sleep 0.1; done
WD=("$PYTHON" "$E2E_DIR/console/wd.py" "$WORKDIR/wd.json")
# However the script ends, the browser ends with it (killing chromedriver alone would leave
# Chromium running).
trap '"${WD[@]}" quit >/dev/null 2>&1 || true; pkill -f "$WORKDIR/chromium-profile" || true; _cleanup' EXIT
# The browser resolves the public webserver's name as Airlock's DNS does; it is told to accept
# the webserver's certificate (issued by Airlock's CA, which this throwaway profile does not
# trust; curl checks it against `airlock ca` in the other scripts).
check "a headless Chromium session starts" "${WD[@]}" start "$DRIVER_PORT" "$WORKDIR/chromium-profile" \
    --insecure "--host-resolver-rules=MAP $PUBLIC_HOST $PUBLIC_IP"
wd_text() { "${WD[@]}" text "$1" 2>"$WORKDIR/wd.err" || cat "$WORKDIR/wd.err"; }

# --- The page's procedure: Endpoints, choose the region, the MWAA endpoints ---------------------
"${WD[@]}" go "$C/"
check_contains "the console opens on the Endpoints page" "Endpoints" "$(wd_text h1)"
check_contains "... of eu-west-1, the first region with state" "eu-west-1" "$(wd_text h1)"
check_contains "... listing the eu-west-1 webserver endpoint" "$EU_EP" "$(wd_text main)"
"${WD[@]}" select '#region' us-west-2
check "choosing us-west-2 in the region selector shows its endpoints" "${WD[@]}" wait main "$US_EP"
PAGE=$(wd_text main)
check_contains "... the page is us-west-2's" "us-west-2" "$(wd_text h1)"
check_contains "... with the first webserver address" "${US_IPS[0]}" "$PAGE"
check_contains "... and the second" "${US_IPS[1]}" "$PAGE"
check_match "... marked MWAA-managed" $'\tYes$' \
    "$("${WD[@]}" eval "return [...document.querySelectorAll('tbody tr')].map(r => r.innerText).find(t => t.includes('$US_EP')) || ''")"
check_eq "... and not eu-west-1's endpoint" "" "$(echo "$PAGE" | grep "$EU_EP" || true)"
check_contains "the region is kept in the URL" "region=us-west-2" "$("${WD[@]}" eval 'return location.search')"
"${WD[@]}" shot "$SHOTS/endpoints.png"
check "a screenshot of the Endpoints page" test -s "$SHOTS/endpoints.png"
"${WD[@]}" go "$C/vpc/endpoints?region=us-west-2&q=${US_IPS[1]}"
check_contains "the filter finds an endpoint by its address" "1 of " "$(wd_text .count)"
"${WD[@]}" go "$C/vpc/endpoints/$US_EP?region=us-west-2"
PAGE=$(wd_text main)
check_contains "the endpoint's page lists both addresses" "${US_IPS[0]}" "$PAGE"
check_contains "... and its policy" '"Effect": "Allow"' "$PAGE"

# --- Access paths of the private webserver ------------------------------------------------------
cd "$WORKDIR"
openssl req -x509 -newkey rsa:2048 -nodes -keyout root.key -out chain.pem -days 30 -subj "/CN=Example Root" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout key.pem -out leaf.csr -subj "/CN=airflow.example.com" 2>/dev/null
printf 'subjectAltName=DNS:airflow.example.com\nextendedKeyUsage=serverAuth\n' >leaf.ext
openssl x509 -req -in leaf.csr -CA chain.pem -CAkey root.key -CAcreateserial -days 30 -extfile leaf.ext -out cert.pem 2>/dev/null
cd - >/dev/null
CERT=$(q acm import-certificate --certificate "fileb://$WORKDIR/cert.pem" --certificate-chain "fileb://$WORKDIR/chain.pem" \
    --private-key "fileb://$WORKDIR/key.pem" --query CertificateArn)
PUB2=$(q ec2 create-subnet --vpc-id "$VPC" --cidr-block 10.192.11.0/24 --availability-zone us-west-2b --query Subnet.SubnetId)
q ec2 associate-route-table --route-table-id "$PRT" --subnet-id "$PUB2" >/dev/null
ALB_SG=$(q ec2 create-security-group --group-name alb --description ALB --vpc-id "$VPC" --query GroupId)
q ec2 authorize-security-group-ingress --group-id "$ALB_SG" --protocol tcp --port 443 --cidr 0.0.0.0/0 >/dev/null
q ec2 authorize-security-group-ingress --group-id "$SG" --ip-permissions "IpProtocol=tcp,FromPort=443,ToPort=443,UserIdGroupPairs=[{GroupId=$ALB_SG}]" >/dev/null
LB=$(q elbv2 create-load-balancer --name mwaa-alb --subnets "$PUB" "$PUB2" --security-groups "$ALB_SG" --query 'LoadBalancers[0].LoadBalancerArn')
TG=$(q elbv2 create-target-group --name mwaa-webserver --protocol HTTPS --port 443 --vpc-id "$VPC" --target-type ip \
    --matcher HttpCode=200 --query 'TargetGroups[0].TargetGroupArn')
q elbv2 register-targets --target-group-arn "$TG" --targets "Id=${US_IPS[0]}" "Id=${US_IPS[1]}" >/dev/null
q elbv2 create-listener --load-balancer-arn "$LB" --protocol HTTPS --port 443 --certificates "CertificateArn=$CERT" \
    --default-actions "Type=forward,TargetGroupArn=$TG" >/dev/null
# A bastion in the public subnet, reachable on 22, whose group the environment's does not admit.
"$AWS" ec2 create-key-pair --key-name bastion --query KeyMaterial --output text >"$WORKDIR/bastion.pem"
BSG=$(q ec2 create-security-group --group-name bastion --description bastion --vpc-id "$VPC" --query GroupId)
q ec2 authorize-security-group-ingress --group-id "$BSG" --protocol tcp --port 22 --cidr 0.0.0.0/0 >/dev/null
INSTANCE=$(q ec2 run-instances --image-id ami-0123456789abcdef0 --instance-type t3.micro --key-name bastion \
    --subnet-id "$PUB" --security-group-ids "$BSG" --associate-public-ip-address --query 'Instances[0].InstanceId')

"${WD[@]}" go "$C/mwaa/environments/MyAirflowEnvironment?region=us-west-2"
"${WD[@]}" eval 'window.__notReloaded = true; return true' >/dev/null
check "the environment's page lists the endpoints' addresses" "${WD[@]}" wait main "${US_IPS[1]}"
check_contains "... with the dig command that verifies the webserver's name" "dig @127.0.0.1 -p $DNS_PORT +short" "$(wd_text main)"
# path NAME: the text of the access path whose text contains NAME ("" if none).
path() { "${WD[@]}" eval "return [...document.querySelectorAll('.path')].map(p => p.innerText).find(t => t.includes('$1')) || ''"; }
check "the load balancer path shows the health checker's reason" \
    "${WD[@]}" wait main "Health checks failed with these codes: [302]" 30
LB_PATH=$(path mwaa-alb)
check_contains "... on the path of the load balancer and its target group" "mwaa-alb → mwaa-webserver" "$LB_PATH"
check_contains "... marked broken" "BROKEN" "$LB_PATH"
check_contains "... the target unhealthy with AWS's reason" "is unhealthy (Target.ResponseCodeMismatch: Health checks failed with these codes: [302])" "$LB_PATH"
check "the bastion's path is listed" "${WD[@]}" wait main "$INSTANCE" 20
BASTION=$(path "$INSTANCE")
check_contains "... marked broken" "BROKEN" "$BASTION"
check_contains "... naming the missing rule: the environment's group admits nothing from the bastion's" \
    "no inbound rule of $SG admits TCP 443 from $BSG" "$BASTION"
scroll_to_paths() { "${WD[@]}" eval "document.querySelector('.paths').scrollIntoView(); return window.scrollY" >/dev/null; }
scroll_to_paths
"${WD[@]}" shot "$SHOTS/access-paths-broken.png"

q elbv2 modify-target-group --target-group-arn "$TG" --matcher 'HttpCode="200,302"' >/dev/null
q ec2 authorize-security-group-ingress --group-id "$SG" --ip-permissions "IpProtocol=tcp,FromPort=443,ToPort=443,UserIdGroupPairs=[{GroupId=$BSG}]" >/dev/null
works() {
    [[ $("${WD[@]}" eval "return document.querySelectorAll('.path.works').length" 2>/dev/null) == 2 &&
        $("${WD[@]}" eval "return document.querySelectorAll('.path').length" 2>/dev/null) == 2 ]]
}
poll_until "with matcher 200,302 and the rule added, both paths turn to works without a reload" 120 0.25 works
check_eq "... the page was not reloaded (the live update swapped its content)" true \
    "$("${WD[@]}" eval 'return window.__notReloaded === true')"
check_contains "... the load balancer's targets are healthy" "${US_IPS[0]}:443 healthy" "$(path mwaa-alb)"
scroll_to_paths
"${WD[@]}" shot "$SHOTS/access-paths.png"

# --- Other pages a person checks ----------------------------------------------------------------
"${WD[@]}" go "$C/ec2/target-groups?region=us-west-2"
check_contains "the target groups page shows each target's health" "${US_IPS[0]}:443 healthy" "$(wd_text main)"
"${WD[@]}" go "$C/vpc/subnets?region=us-west-2&q=$PUB"
check_contains "the subnets page marks the public subnet public" "public" "$(wd_text tbody)"
"${WD[@]}" go "$C/vpc/subnets?region=us-west-2&q=$A"
check_contains "... and the environment's subnet private" "private" "$(wd_text tbody)"
"${WD[@]}" go "$C/mwaa/environments?region=eu-west-1"
check_contains "eu-west-1's environments page lists its environment" "EuEnvironment" "$(wd_text main)"
check_eq "... and not us-west-2's" "" "$(wd_text main | grep MyAirflowEnvironment || true)"
"${WD[@]}" go "$C/s3/buckets/eu-airflow-bucket?region=eu-west-1"
check_contains "the bucket's page lists the DAG files" "dags/tutorial.py" "$(wd_text main)"
"${WD[@]}" go "$C/acm/certificates?region=us-west-2"
check_contains "the certificate is listed as in use by the load balancer" "$LB" "$(wd_text main)"

# --- Open Airflow UI: the console's one action ----------------------------------------------------
"${WD[@]}" go "$C/mwaa/environments/PublicEnvironment?region=us-west-2"
check_contains "a public environment's page offers to open the Airflow UI" "Open Airflow UI" "$(wd_text '#open-airflow')"
"${WD[@]}" click '#open-airflow'
check "choosing it signs in to the webserver with a web login token and shows Airflow" \
    "${WD[@]}" wait body "Environment PublicEnvironment" 20
check_match "... on the webserver's own name" "^https://$PUBLIC_HOST(:10443)?/" "$("${WD[@]}" eval 'return location.href')"
"${WD[@]}" shot "$SHOTS/airflow.png"
"${WD[@]}" quit || true

# --- Over plain HTTP -----------------------------------------------------------------------------
http -D "$WORKDIR/h" "$C/vpc/endpoints?region=us-west-2"
check_contains "pages forbid framing and foreign scripts" "frame-ancestors 'none'" "$(cat "$WORKDIR/h")"
http -D "$WORKDIR/bare.h" "$C"
check_eq "/_airlock/console without its slash redirects to it (308)" \
    "308 location: /_airlock/console/" "$HTTP_STATUS $(grep -i '^location:' "$WORKDIR/bare.h" | tr -d '\r')"
http -I "$C/vpc/endpoints?region=us-west-2"
check_eq "HEAD of a page: 200, its headers and no page" "200 1 0" \
    "$HTTP_STATUS $(grep -ci '^x-airlock-console-version:' <<<"$HTTP_BODY" || true) $(grep -ci '<!doctype' <<<"$HTTP_BODY" || true)"
http -X POST "$C/vpc/endpoints"
check_eq "the console takes no other writes (405)" 405 "$HTTP_STATUS"
http -X POST --data-urlencode csrf=guess "$C/mwaa/environments/PublicEnvironment/open?region=us-west-2"
check_eq "its form without the page's CSRF token is refused (403)" 403 "$HTTP_STATUS"
TOKEN=$(curl -s "$C/mwaa/environments/PublicEnvironment?region=us-west-2" | grep -o 'name="csrf" value="[0-9a-f]*"' | cut -d'"' -f4)
http -X POST -H "Origin: http://attacker.example" --data-urlencode "csrf=$TOKEN" "$C/mwaa/environments/PublicEnvironment/open?region=us-west-2"
check_eq "... and so is a post from another site, token or not (403)" 403 "$HTTP_STATUS"
http -D "$WORKDIR/open.h" -X POST --data-urlencode "csrf=$TOKEN" "$C/mwaa/environments/PublicEnvironment/open?region=us-west-2"
check_eq "with the token it answers 303" 303 "$HTTP_STATUS"
check_match "... to the webserver's sign-in page with a web login token" \
    "^location: https://$PUBLIC_HOST(:10443)?/aws_mwaa/aws-console-sso\\?login=true#.{20,}" \
    "$(grep -i '^location:' "$WORKDIR/open.h" | tr -d '\r')"
http -H "Host: attacker.example" "$C/vpc/endpoints"
check_eq "a request for another host name (DNS rebinding) is refused" 421 "$HTTP_STATUS"
http "$C/vpc/endpoints?region=mars-1"
check_eq "an unknown region is a 400" 400 "$HTTP_STATUS"
stop_server
start_server --console off
http "http://127.0.0.1:$PORT/_airlock/console/"
check_eq "--console off: no console" 404 "$HTTP_STATUS"
finish
