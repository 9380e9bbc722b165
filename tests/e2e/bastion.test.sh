#!/usr/bin/env bash
# The bastion path of the AWS page with real clients only: an MWAA environment with a private
# webserver, a bastion instance launched with a key from `aws ec2 create-key-pair`, then
# `ssh -N -D` + `curl --socks5-hostname`, `ssh -N -L` + `curl`, the CLI token through the tunnel,
# and the security group that decides.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

start_server --time-scale 0.002
SSH_OPTS=(-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes -o ConnectTimeout=5 -o ExitOnForwardFailure=yes)

mwaa_network
q mwaa create-environment --name MyAirflowEnvironment --execution-role-arn arn:aws:iam::000000000000:role/mwaa-exec \
    --source-bucket-arn arn:aws:s3:::my-airflow-bucket --dag-s3-path dags --network-configuration "SubnetIds=$A,$B,SecurityGroupIds=$SG" >/dev/null
available() { [[ $(q mwaa get-environment --name MyAirflowEnvironment --query Environment.Status) == AVAILABLE ]]; }
poll_until "the environment becomes AVAILABLE" 100 0.2 available
HOST=$(q mwaa get-environment --name MyAirflowEnvironment --query Environment.WebserverUrl)

# The bastion, as in the AWS tutorial: a key pair, a group that admits SSH, and a rule in the
# environment's group that admits the bastion's group on 443.
KEY=$WORKDIR/key.pem
"$AWS" ec2 create-key-pair --key-name bastion --query KeyMaterial --output text >"$KEY"
chmod 600 "$KEY"
check "create-key-pair's key is an RSA private key OpenSSH reads" ssh-keygen -y -f "$KEY"
BSG=$(q ec2 create-security-group --group-name bastion --description "Bastion" --vpc-id "$VPC" --query GroupId)
q ec2 authorize-security-group-ingress --group-id "$BSG" --protocol tcp --port 22 --cidr 0.0.0.0/0 >/dev/null
q ec2 authorize-security-group-ingress --group-id "$SG" --ip-permissions "IpProtocol=tcp,FromPort=443,ToPort=443,UserIdGroupPairs=[{GroupId=$BSG}]" >/dev/null
INSTANCE=$(q ec2 run-instances --image-id ami-0123456789abcdef0 --instance-type t3.micro --key-name bastion \
    --subnet-id "$PUB" --security-group-ids "$BSG" --associate-public-ip-address --query 'Instances[0].InstanceId')
running() { [[ $(q ec2 describe-instances --instance-ids "$INSTANCE" --query 'Reservations[0].Instances[0].State.Name') == running ]]; }
poll_until "the bastion is running" 100 0.2 running
IP=$(q ec2 describe-instances --instance-ids "$INSTANCE" --query 'Reservations[0].Instances[0].PublicIpAddress')
check_match "the bastion has a public address (Airlock's public loopback range)" '^127\.255\.' "$IP"
PUBDNS=$(q ec2 describe-instances --instance-ids "$INSTANCE" --query 'Reservations[0].Instances[0].PublicDnsName')
check_eq "its public DNS name resolves to it" "$IP" "$(dig @127.0.0.1 -p "$DNS_PORT" +short "$PUBDNS")"
CA=$WORKDIR/ca.pem
"$AIRLOCK_BIN" ca --listen "127.0.0.1:$PORT" >"$CA"
check_contains "airlock ca prints the CA certificate" "BEGIN CERTIFICATE" "$(cat "$CA")"

# From the host, the private webserver is out of reach: its name resolves to private addresses,
# and its loopback fabric address refuses host processes.
FABRIC=$(grep 'listener started' "$SERVER_LOG" | grep -o 'addr=127\.[0-9]*\.[0-9]*\.[0-9]*:443' | grep -v '=127\.255\.' | head -n1 | cut -d= -f2 || true)
check_match "the webserver listens on its interface's fabric address" '^127\.[0-9]+\.[0-9]+\.[0-9]+:' "$FABRIC"
check "a host process connecting to it is refused" bash -c "! curl -s -m 5 --cacert '$CA' --resolve '$HOST:${FABRIC##*:}:${FABRIC%:*}' 'https://$HOST:${FABRIC##*:}/health'"

wait_port() { for _ in $(seq 50); do (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

# ssh -D: a SOCKS proxy into the VPC.
SOCKS=$(free_port)
ssh "${SSH_OPTS[@]}" -i "$KEY" -N -D "127.0.0.1:$SOCKS" "ec2-user@$IP" &
SSH_D=$!
check "ssh -N -D starts" wait_port "$SOCKS"
run curl -s -o /dev/null -w '%{http_code}' -m 10 --socks5-hostname "127.0.0.1:$SOCKS" --cacert "$CA" "https://$HOST/"
check_eq "curl --socks5-hostname https://<webserver host>/ answers 302" 302 "$OUT"
run curl -s -o /dev/null -w '%{http_code}' -m 10 --socks5-hostname "127.0.0.1:$SOCKS" --cacert "$CA" "https://$HOST/health"
check_eq "and /health answers 200" 200 "$OUT"

# The CLI token through the tunnel.
CLI=$(q mwaa create-cli-token --name MyAirflowEnvironment --query CliToken)
run curl -s -m 10 --socks5-hostname "127.0.0.1:$SOCKS" --cacert "$CA" -X POST -H "Authorization: Bearer $CLI" \
    -H 'Content-Type: text/plain' --data-raw 'dags list' "https://$HOST/aws_mwaa/cli"
STDOUT=$(J "$OUT" 'd["stdout"]' | base64 -d 2>/dev/null || true)
check_contains "/aws_mwaa/cli runs 'dags list' (base64 stdout)" tutorial "$STDOUT"
check_eq "invoke-rest-api returns the DAG list" 3 "$(q mwaa invoke-rest-api --name MyAirflowEnvironment --path /dags --method GET --query RestApiResponse.total_entries)"

# A DAG file copied to the bucket reaches Airflow after MWAA's sync (30 s, scaled); deleting it
# takes it away.
printf 'from airflow.decorators import dag\n\n@dag(schedule="@hourly")\ndef copied_in():\n    pass\n\ncopied_in()\n' >"$WORKDIR/copied.py"
expect_ok "aws s3 cp of a DAG file to s3://my-airflow-bucket/dags/" s3 cp --only-show-errors "$WORKDIR/copied.py" s3://my-airflow-bucket/dags/copied.py
listed() { [[ $(q mwaa invoke-rest-api --name MyAirflowEnvironment --path /dags --method GET --query RestApiResponse.total_entries) == "$1" ]]; }
poll_until "invoke-rest-api --path /dags lists it after the sync" 50 0.2 listed 4
check_eq "... by the decorated function's name" copied_in \
    "$(q mwaa invoke-rest-api --name MyAirflowEnvironment --path /dags/copied_in --method GET --query RestApiResponse.dag_id)"
run curl -s -m 10 --socks5-hostname "127.0.0.1:$SOCKS" --cacert "$CA" -X POST -H "Authorization: Bearer $CLI" \
    -H 'Content-Type: text/plain' --data-raw 'dags list' "https://$HOST/aws_mwaa/cli"
check_contains "... and 'airflow dags list' through the CLI token shows it" "copied_in" "$(J "$OUT" 'd["stdout"]' | base64 -d 2>/dev/null || true)"
expect_ok "aws s3 rm of the DAG file" s3 rm --only-show-errors s3://my-airflow-bucket/dags/copied.py
check_eq "deleting it removes it" 3 "$(q mwaa invoke-rest-api --name MyAirflowEnvironment --path /dags --method GET --query RestApiResponse.total_entries)"

# Without the bastion's group in the environment's group, the same request fails.
q ec2 revoke-security-group-ingress --group-id "$SG" --ip-permissions "IpProtocol=tcp,FromPort=443,ToPort=443,UserIdGroupPairs=[{GroupId=$BSG}]" >/dev/null
run curl -s -o /dev/null -w '%{http_code}' -m 10 --socks5-hostname "127.0.0.1:$SOCKS" --cacert "$CA" "https://$HOST/health"
check "with the rule revoked, the webserver is unreachable through the bastion" test "$RC" -ne 0
q ec2 authorize-security-group-ingress --group-id "$SG" --ip-permissions "IpProtocol=tcp,FromPort=443,ToPort=443,UserIdGroupPairs=[{GroupId=$BSG}]" >/dev/null
kill "$SSH_D" 2>/dev/null || true

# ssh -L: a local port forwarded to the webserver.
LOCAL=$(free_port)
ssh "${SSH_OPTS[@]}" -i "$KEY" -N -L "127.0.0.1:$LOCAL:$HOST:443" "ec2-user@$IP" &
SSH_L=$!
check "ssh -N -L starts" wait_port "$LOCAL"
run curl -s -o /dev/null -w '%{http_code}' -m 10 --cacert "$CA" --resolve "$HOST:$LOCAL:127.0.0.1" "https://$HOST:$LOCAL/health"
check_eq "curl through ssh -L answers 200" 200 "$OUT"
kill "$SSH_L" 2>/dev/null || true

# Only the launch key, only ec2-user; a session without -N gets a message, not a hang.
ssh-keygen -q -t ed25519 -N '' -f "$WORKDIR/other" >/dev/null
run ssh "${SSH_OPTS[@]}" -i "$WORKDIR/other" "ec2-user@$IP" true
check "another key is refused" test "$RC" -ne 0
run ssh "${SSH_OPTS[@]}" -i "$KEY" "root@$IP" true
check "another user is refused" test "$RC" -ne 0
run timeout 20 ssh "${SSH_OPTS[@]}" -i "$KEY" "ec2-user@$IP"
check_contains "a shell session gets a message and ends" "forwards ports" "$OUT$ERR"

finish
