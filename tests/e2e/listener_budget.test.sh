#!/usr/bin/env bash
# The data plane's listener budget: under a low open-file limit (ulimit -n 1200: 176 API
# connections, and the floor of 64 listening sockets beside the 1,024 kept for the rest), 17 interface endpoints
# with an interface in each of four zones want 68 listeners; 64 start, the other four are said
# (one warning) and not started, the API keeps answering, and once an endpoint is deleted the
# four waiting ones start.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# The hard limit too (the server raises its soft limit to the hard one); any limit up to 1,200
# leaves the data plane its floor of 64 listeners.
LIMIT=$(ulimit -H -n)
[[ $LIMIT == unlimited || $LIMIT -gt 1200 ]] && LIMIT=1200
ulimit -S -n "$LIMIT"
ulimit -H -n "$LIMIT"
start_server --time-scale 0.002
check_contains "the API connections are lowered to fit the limit" "--max-connections 8192 lowered to" "$(cat "$SERVER_LOG")"

VPC=$(q ec2 create-vpc --cidr-block 10.30.0.0/16 --query Vpc.VpcId)
SUBNETS=()
for z in a b c d; do
    i=${#SUBNETS[@]}
    SUBNETS+=("$(q ec2 create-subnet --vpc-id "$VPC" --cidr-block "10.30.$i.0/24" --availability-zone "us-west-2$z" --query Subnet.SubnetId)")
done
ENDPOINTS=()
for _ in $(seq 17); do
    ENDPOINTS+=("$(q ec2 create-vpc-endpoint --vpc-id "$VPC" --vpc-endpoint-type Interface \
        --service-name com.amazonaws.us-west-2.sts --subnet-ids "${SUBNETS[@]}" --no-private-dns-enabled \
        --query VpcEndpoint.VpcEndpointId)")
done
check_eq "17 endpoints, four interfaces each" 68 \
    "$(q ec2 describe-network-interfaces --filters "Name=vpc-id,Values=$VPC" --query 'length(NetworkInterfaces)')"

started() { grep 'listener started' "$SERVER_LOG" | grep -o 'addr=127\.[0-9.]*:[0-9]*' | sort -u | wc -l; }
warned() { grep -q 'skipped=4 budget=64' "$SERVER_LOG"; }
poll_until "the data plane says four listeners wait for room" 100 0.1 warned
sixty_four() { [[ $(started) -eq 64 ]]; }
poll_until "64 listeners start" 50 0.1 sixty_four
sleep 1 # five rounds of the reconciler (every 200 ms): what did not start by then never will
check_eq "and no more (the budget holds)" 64 "$(started)"
check_eq "the API keeps answering" 17 "$(q ec2 describe-vpc-endpoints --filters "Name=vpc-id,Values=$VPC" --query 'length(VpcEndpoints)')"

q ec2 delete-vpc-endpoints --vpc-endpoint-ids "${ENDPOINTS[0]}" >/dev/null
all=$(( 64 + 4 ))
sixty_eight() { [[ $(started) -eq $all ]]; }
poll_until "once an endpoint is deleted, the four waiting listeners start" 100 0.1 sixty_eight
check_eq "the warning was said once" 1 "$(grep -c 'listeners not started' "$SERVER_LOG")"
finish
