# Shared helpers for the end-to-end tests: the real AWS CLI against a running `airlock serve`.
#
# Source it from a *.test.sh script (which has `set -euo pipefail`):
#
#   . "$(dirname "$0")/lib.sh"
#   start_server                      # ephemeral server on a free port, env exported
#   VPC=$(q ec2 create-vpc --cidr-block 10.0.0.0/16 --query Vpc.VpcId)
#   check_eq "vpc id looks right" "vpc-" "${VPC:0:4}"
#   expect_error "bad thing" InvalidVpcID.NotFound ec2 describe-vpcs --vpc-ids vpc-12345678
#   finish
#
# Results are counted in files (so checks made inside `$(...)` subshells count too); every
# check prints `ok - ...` or `not ok - ...`; `finish` prints `N passed, M failed` and sets the
# exit status. Servers started here are killed when the script exits.
#
# Environment: AIRLOCK_BIN (default <repo>/target/debug/airlock), AWS (default `aws` on PATH),
# PYTHON (default: the interpreter of the aws script if it is a Python script, else python3).

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$E2E_DIR/../.." && pwd)
AIRLOCK_BIN=${AIRLOCK_BIN:-$REPO_ROOT/target/debug/airlock}
case $AIRLOCK_BIN in /*) ;; *) AIRLOCK_BIN=$REPO_ROOT/$AIRLOCK_BIN ;; esac
AWS=${AWS:-aws}

if [[ ! -x $AIRLOCK_BIN ]]; then
    echo "not ok - airlock binary not found at $AIRLOCK_BIN (build it: cargo build -p airlock)"
    echo "0 passed, 1 failed"
    exit 1
fi
if ! command -v "$AWS" >/dev/null 2>&1; then
    echo "not ok - aws CLI not found ($AWS)"
    echo "0 passed, 1 failed"
    exit 1
fi

# A Python that has botocore (for the hand-signed requests): the aws script's own interpreter.
if [[ -z ${PYTHON:-} ]]; then
    _aws_path=$(command -v "$AWS")
    _shebang=$(head -c 200 "$_aws_path" 2>/dev/null | head -n 1 || true)
    if [[ $_shebang == '#!'*python* && -x ${_shebang#\#!} ]]; then
        PYTHON=${_shebang#\#!}
    else
        PYTHON=python3
    fi
fi

# Nothing from the machine's AWS configuration leaks in.
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_CA_BUNDLE \
    AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE AWS_STS_REGIONAL_ENDPOINTS AWS_MAX_ATTEMPTS \
    AWS_RETRY_MODE AWS_PAGER AWS_CLI_AUTO_PROMPT
for _v in $(compgen -v AWS_ENDPOINT_URL_ || true) AWS_IGNORE_CONFIGURED_ENDPOINT_URLS; do unset "$_v"; done
export AWS_EC2_METADATA_DISABLED=true
# Nor the caller's Airlock settings (AIRLOCK_EPHEMERAL, AIRLOCK_DATA_DIR, ... would change what the
# servers started here do); AIRLOCK_BIN and AIRLOCK_LOG are ours.
for _v in $(compgen -v AIRLOCK_ || true); do
    [[ $_v == AIRLOCK_BIN || $_v == AIRLOCK_LOG ]] || unset "$_v"
done
# No proxy for loopback.
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/airlock-e2e.XXXXXX")
: >"$WORKDIR/passed"
: >"$WORKDIR/failed"
: >"$WORKDIR/skipped"
# fd 3: the script's real stdout, so checks inside $(...) still print.
exec 3>&1

SERVER_PIDS=()
SERVER_PID=
PORT=
SERVER_LOG=

_cleanup() {
    local pid
    for pid in "${SERVER_PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -9 "$pid" 2>/dev/null || true
        fi
    done
    wait 2>/dev/null || true
    if [[ -n ${KEEP_WORKDIR:-} ]]; then
        echo "# work dir kept: $WORKDIR" >&3
    else
        rm -rf "$WORKDIR"
    fi
}
trap _cleanup EXIT

# ---------------------------------------------------------------------------------------------
# Results

ok() {
    _SKIPPED=
    echo "ok - $*" >&3
    echo x >>"$WORKDIR/passed"
}

not_ok() {
    _SKIPPED=
    if [[ -n ${KNOWN_BUG:-} ]]; then
        if [[ -n ${E2E_SKIP_KNOWN_BUGS:-} ]]; then
            _SKIPPED=1
            echo "ok - $* # SKIP known Airlock bug: $KNOWN_BUG" >&3
            echo x >>"$WORKDIR/skipped"
            return 0
        fi
        echo "not ok - $* [AIRLOCK BUG: $KNOWN_BUG]" >&3
    else
        echo "not ok - $*" >&3
    fi
    echo x >>"$WORKDIR/failed"
}

# bug ID CHECK...: runs a check that currently fails because of a known Airlock bug (ID is a short
# name, see README.md). The failure says so; with E2E_SKIP_KNOWN_BUGS=1 it is reported as a skip
# instead. Once the bug is fixed the check simply passes.
bug() {
    KNOWN_BUG=$1
    shift
    "$@"
    KNOWN_BUG=
}

# diag TEXT: indented detail under a failed check.
diag() {
    [[ -z ${_SKIPPED:-} ]] || return 0
    sed 's/^/#   /' <<<"$*" | head -n 40 >&3
}

passed_count() { wc -l <"$WORKDIR/passed" | tr -d ' '; }
failed_count() { wc -l <"$WORKDIR/failed" | tr -d ' '; }

finish() {
    local p f k
    p=$(passed_count)
    f=$(failed_count)
    k=$(wc -l <"$WORKDIR/skipped" | tr -d ' ')
    [[ $k -eq 0 ]] || echo "# $k known-bug checks skipped (E2E_SKIP_KNOWN_BUGS)" >&3
    echo "$p passed, $f failed" >&3
    [[ $f -eq 0 ]]
}

# check DESC CMD...: ok if CMD succeeds.
check() {
    local desc=$1
    shift
    if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# check_eq DESC EXPECTED ACTUAL
check_eq() {
    if [[ $2 == "$3" ]]; then
        ok "$1"
    else
        not_ok "$1"
        diag "expected: $2
actual:   $3"
    fi
}

# check_ne DESC UNEXPECTED ACTUAL
check_ne() {
    if [[ $2 != "$3" ]]; then
        ok "$1"
    else
        not_ok "$1"
        diag "expected anything but: $2"
    fi
}

# check_match DESC EXTENDED-REGEX ACTUAL
check_match() {
    if [[ $3 =~ $2 ]]; then
        ok "$1"
    else
        not_ok "$1"
        diag "expected to match: $2
actual: $3"
    fi
}

# check_contains DESC NEEDLE HAYSTACK
check_contains() {
    if [[ $3 == *"$2"* ]]; then
        ok "$1"
    else
        not_ok "$1"
        diag "expected to contain: $2
actual: $3"
    fi
}

# ---------------------------------------------------------------------------------------------
# Servers

# free_port: a port free on 127.0.0.1 for both TCP and UDP (the DNS server uses both).
free_port() {
    python3 -c '
import socket
for _ in range(50):
    t = socket.socket(); t.bind(("127.0.0.1", 0)); port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", port))
    except OSError:
        t.close(); continue
    u.close(); t.close(); print(port); break
'
}

# Whether this airlock has a DNS server (`serve --dns-listen`); newer builds do.
if "$AIRLOCK_BIN" serve --help 2>/dev/null | grep -q -- '--dns-listen'; then
    HAVE_DNS=1
else
    HAVE_DNS=
fi

# dns_args: `--dns-listen 127.0.0.1:<free port>` if the binary has DNS (so tests never collide with
# another Airlock on the default 1053), else nothing. Sets DNS_PORT.
dns_args() {
    DNS_PORT=
    if [[ -n $HAVE_DNS ]]; then
        DNS_PORT=$(free_port)
        DNS_ARGS=(--dns-listen "127.0.0.1:$DNS_PORT")
    else
        DNS_ARGS=()
    fi
}

# wait_healthy PORT PID: waits (bounded) until /_airlock/health answers; fails if PID died.
wait_healthy() {
    local port=$1 pid=$2 i
    for ((i = 0; i < 100; i++)); do
        if curl -sf -m 2 "http://127.0.0.1:$port/_airlock/health" >/dev/null 2>&1; then
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            return 1
        fi
        sleep 0.1
    done
    return 1
}

# spawn_server LOG ARGS...: starts `airlock serve ARGS...` in the background with output in LOG;
# sets SPAWNED_PID to the server's pid. The server runs under a wrapper subshell that records its
# exit status (so bash prints no "Killed" job notices); stop_server reads it.
declare -A SERVER_WRAPPER=()
spawn_server() {
    local log=$1
    shift
    local n=${#SERVER_PIDS[@]}
    local pidfile=$WORKDIR/spawn.$n.pid
    (
        AIRLOCK_LOG=${AIRLOCK_LOG:-info} "$AIRLOCK_BIN" serve "$@" >"$log" 2>&1 &
        echo $! >"$pidfile"
        rc=0
        wait $! 2>/dev/null || rc=$?
        echo "$rc" >"$WORKDIR/exit.$(cat "$pidfile")"
    ) &
    local wrapper=$! i
    for ((i = 0; i < 100; i++)); do
        [[ -s $pidfile ]] && break
        sleep 0.05
    done
    SPAWNED_PID=$(cat "$pidfile")
    SERVER_PIDS+=("$SPAWNED_PID")
    SERVER_WRAPPER[$SPAWNED_PID]=$wrapper
}

# start_server [--port P] [SERVE-ARGS...]: starts `airlock serve` on 127.0.0.1 (a free port unless
# given), ephemeral unless SERVE-ARGS has --data-dir, with its DNS server (if any) on a free port
# unless SERVE-ARGS has --dns-listen, waits until it answers, and exports the `airlock env`
# variables. Sets PORT, DNS_PORT, SERVER_PID, SERVER_LOG. Exits the script if it cannot start.
start_server() {
    local given_port=
    if [[ ${1:-} == --port ]]; then
        given_port=$2
        shift 2
    fi
    local base=("$@") persistent=
    local a
    for a in "${base[@]}"; do
        [[ $a == --data-dir || $a == --data-dir=* ]] && persistent=1
    done
    [[ -n $persistent ]] || base=(--ephemeral "${base[@]}")
    local has_dns=
    for a in "${base[@]}"; do
        [[ $a == --dns-listen || $a == --dns-listen=* ]] && has_dns=1
    done
    # A port free_port found free can be taken by another process before the server binds it;
    # the server then exits with "Address already in use", and a port chosen here is chosen
    # again (at most three times).
    local port args attempt
    for attempt in 1 2 3; do
        port=${given_port:-$(free_port)}
        args=("${base[@]}")
        if [[ -z $has_dns ]]; then
            dns_args
            args+=("${DNS_ARGS[@]}")
        fi
        SERVER_LOG="$WORKDIR/server-${#SERVER_PIDS[@]}.log"
        spawn_server "$SERVER_LOG" --listen "127.0.0.1:$port" "${args[@]}"
        SERVER_PID=$SPAWNED_PID
        PORT=$port
        if wait_healthy "$port" "$SERVER_PID"; then
            use_server "$port"
            return 0
        fi
        if [[ $attempt == 3 ]] || ! grep -q "Address already in use" "$SERVER_LOG" \
            || [[ -n $given_port && -n $has_dns ]]; then
            break
        fi
        diag "a chosen port was taken before airlock serve bound it; choosing again"
        stop_server "$SERVER_PID"
    done
    not_ok "airlock serve ${args[*]} starts on 127.0.0.1:$port"
    diag "$(tail -n 20 "$SERVER_LOG")"
    finish || true
    exit 1
}

# use_server PORT: points the CLI at that server with the default credentials.
use_server() {
    eval "$("$AIRLOCK_BIN" env --listen "127.0.0.1:$1")"
    unset AWS_SESSION_TOKEN
}

# stop_server [PID] [SIGNAL]: signals the server (default: the current one, SIGTERM) and waits
# (at most 10 s, then SIGKILL); sets STOP_RC to its exit status (137 after SIGKILL).
stop_server() {
    local pid=${1:-$SERVER_PID} sig=${2:-TERM} i
    STOP_RC=
    kill -s "$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -9 "$pid" 2>/dev/null || true
    fi
    wait_exited "$pid"
}

# wait_exited PID: waits for a spawned server that has exited or is exiting; sets STOP_RC.
wait_exited() {
    local pid=$1
    local wrapper=${SERVER_WRAPPER[$pid]:-}
    if [[ -n $wrapper ]]; then
        wait "$wrapper" 2>/dev/null || true
    fi
    STOP_RC=$(cat "$WORKDIR/exit.$pid" 2>/dev/null || echo unknown)
}

# ---------------------------------------------------------------------------------------------
# The AWS CLI

# run CMD...: runs CMD, capturing OUT, ERR and RC; never trips `set -e`.
run() {
    local rc=0 f=$WORKDIR/run.$BASHPID
    "$@" >"$f.out" 2>"$f.err" || rc=$?
    OUT=$(cat "$f.out")
    ERR=$(cat "$f.err")
    RC=$rc
}

# awsrun ARGS...: `run $AWS --output json ARGS...`.
awsrun() {
    run "$AWS" --output json "$@"
}

# q ARGS...: runs `$AWS --output json ARGS...` and prints the result with JSON strings unquoted
# (a list prints one element per line; objects print as compact JSON). On failure it records a
# `not ok` line and prints nothing (and returns 0, so `X=$(q ...)` does not end the script).
q() {
    local out rc=0 errf=$WORKDIR/q.err.$BASHPID
    out=$("$AWS" --output json "$@" 2>"$errf") || rc=$?
    if [[ $rc -ne 0 ]]; then
        not_ok "aws $* (exit $rc)"
        diag "$(cat "$errf")"
        return 0
    fi
    jv <<<"$out"
}

# qj ARGS...: like q, but prints the CLI's JSON as it is (compact), for `| jv EXPR`.
qj() {
    local out rc=0 errf=$WORKDIR/q.err.$BASHPID
    out=$("$AWS" --output json "$@" 2>"$errf") || rc=$?
    if [[ $rc -ne 0 ]]; then
        not_ok "aws $* (exit $rc)"
        diag "$(cat "$errf")"
        echo null
        return 0
    fi
    printf '%s\n' "$out"
}

# par NAME CMD...: runs CMD (usually q or qj) in the background with its stdout in a file;
# par_wait waits for all of them; par_out NAME prints that output. For independent CLI calls:
# each costs ~0.7 s of CPU, so two at a time halve the wall time on two cores.
PAR_PIDS=()
par() {
    local name=$1
    shift
    "$@" >"$WORKDIR/par.$name" &
    PAR_PIDS+=($!)
}
par_wait() {
    local pid
    for pid in "${PAR_PIDS[@]}"; do
        wait "$pid" || true
    done
    PAR_PIDS=()
}
par_out() {
    cat "$WORKDIR/par.$1"
}

# jv [EXPR]: reads JSON on stdin and prints it unquoted (see q). With EXPR (a Python expression
# over `d`), prints that instead, e.g. jv 'd["Vpc"]["VpcId"]'.
jv() {
    python3 -c '
import json, sys
raw = sys.stdin.read()
if not raw.strip():
    sys.exit(0)
try:
    d = json.loads(raw)
    if len(sys.argv) > 1:
        d = eval(sys.argv[1])
except Exception as e:
    # Print nothing: the check that uses the value fails and shows it empty.
    print("jv: %s: %r" % (type(e).__name__, e), file=sys.stderr)
    sys.exit(0)
def show(v):
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    return json.dumps(v, sort_keys=True, separators=(",", ":"))
if isinstance(d, list):
    for v in d:
        print(show(v))
else:
    print(show(d))
' "$@"
}

# J JSON EXPR: jv EXPR on the JSON text (e.g. J "$OUT" 'd["Vpc"]["VpcId"]').
J() {
    jv "$2" <<<"$1"
}

# expect_error DESC CODE AWS-ARGS...: the CLI must exit 255 with
# `An error occurred (CODE)` on stderr.
expect_error() {
    local desc=$1 code=$2
    shift 2
    awsrun "$@"
    if [[ $RC -eq 255 && $ERR == *"An error occurred ($code)"* ]]; then
        ok "$desc -> $code"
    else
        not_ok "$desc -> $code"
        diag "exit $RC
stderr: $ERR
stdout: $OUT"
    fi
}

# expect_ok DESC AWS-ARGS...: the CLI must succeed; OUT holds its JSON.
expect_ok() {
    local desc=$1
    shift
    awsrun "$@"
    if [[ $RC -eq 0 ]]; then
        ok "$desc"
    else
        not_ok "$desc"
        diag "exit $RC
stderr: $ERR"
    fi
}

# poll_until DESC TRIES SLEEP CMD...: runs CMD until it succeeds (at most TRIES times).
poll_until() {
    local desc=$1 tries=$2 pause=$3 i
    shift 3
    for ((i = 0; i < tries; i++)); do
        if "$@"; then
            ok "$desc"
            return 0
        fi
        sleep "$pause"
    done
    not_ok "$desc (gave up after $tries tries)"
    return 0
}

# ip_in_cidr IP CIDR: true if IP is a usable host address of the /N (not the first four, not the
# last).
ip_usable_in_cidr() {
    python3 -c '
import ipaddress, sys
ip = ipaddress.ip_address(sys.argv[1]); net = ipaddress.ip_network(sys.argv[2])
hosts = list(net)
sys.exit(0 if ip in net and ip not in hosts[:4] and ip != hosts[-1] else 1)
' "$1" "$2" 2>/dev/null
}

# http CURL-ARGS...: runs curl, sets HTTP_STATUS (000 if no answer) and HTTP_BODY.
http() {
    local code
    code=$(curl -s -m 30 -o "$WORKDIR/http.body" -w '%{http_code}' "$@" 2>"$WORKDIR/http.err") || true
    HTTP_STATUS=${code:-000}
    HTTP_BODY=$(cat "$WORKDIR/http.body" 2>/dev/null || true)
}

# ---------------------------------------------------------------------------------------------
# mwaa_network: the network of the MWAA user guide (VPC 10.192.0.0/16 with DNS hostnames, a public
# subnet PUB with an internet gateway and a NAT gateway, private subnets A and B routed through it,
# a security group SG that admits itself) and the execution role mwaa-exec. Sets VPC PUB A B IGW
# EIP NAT RT PRT SG. In the region of AWS_DEFAULT_REGION (default us-west-2), with the source
# bucket MWAA_BUCKET (default my-airflow-bucket).
mwaa_network() {
    local r=${AWS_DEFAULT_REGION:-us-west-2}
    VPC=$(q ec2 create-vpc --cidr-block 10.192.0.0/16 --query Vpc.VpcId)
    q ec2 modify-vpc-attribute --vpc-id "$VPC" --enable-dns-hostnames '{"Value":true}' >/dev/null
    PUB=$(q ec2 create-subnet --vpc-id "$VPC" --cidr-block 10.192.10.0/24 --availability-zone ${r}a --query Subnet.SubnetId)
    A=$(q ec2 create-subnet --vpc-id "$VPC" --cidr-block 10.192.20.0/24 --availability-zone ${r}a --query Subnet.SubnetId)
    B=$(q ec2 create-subnet --vpc-id "$VPC" --cidr-block 10.192.21.0/24 --availability-zone ${r}b --query Subnet.SubnetId)
    IGW=$(q ec2 create-internet-gateway --query InternetGateway.InternetGatewayId)
    q ec2 attach-internet-gateway --internet-gateway-id "$IGW" --vpc-id "$VPC" >/dev/null
    PRT=$(q ec2 create-route-table --vpc-id "$VPC" --query RouteTable.RouteTableId)
    q ec2 create-route --route-table-id "$PRT" --destination-cidr-block 0.0.0.0/0 --gateway-id "$IGW" >/dev/null
    q ec2 associate-route-table --route-table-id "$PRT" --subnet-id "$PUB" >/dev/null
    EIP=$(q ec2 allocate-address --domain vpc --query AllocationId)
    NAT=$(q ec2 create-nat-gateway --subnet-id "$PUB" --allocation-id "$EIP" --query NatGateway.NatGatewayId)
    RT=$(q ec2 create-route-table --vpc-id "$VPC" --query RouteTable.RouteTableId)
    q ec2 create-route --route-table-id "$RT" --destination-cidr-block 0.0.0.0/0 --nat-gateway-id "$NAT" >/dev/null
    q ec2 associate-route-table --route-table-id "$RT" --subnet-id "$A" >/dev/null
    q ec2 associate-route-table --route-table-id "$RT" --subnet-id "$B" >/dev/null
    SG=$(q ec2 create-security-group --group-name mwaa --description "MWAA environment" --vpc-id "$VPC" --query GroupId)
    q ec2 authorize-security-group-ingress --group-id "$SG" --ip-permissions "IpProtocol=-1,UserIdGroupPairs=[{GroupId=$SG}]" >/dev/null
    "$AWS" iam get-role --role-name mwaa-exec >/dev/null 2>&1 ||
        q iam create-role --role-name mwaa-exec --assume-role-policy-document \
            '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["airflow.amazonaws.com","airflow-env.amazonaws.com"]},"Action":"sts:AssumeRole"}]}' >/dev/null
    mwaa_bucket "${MWAA_BUCKET:-my-airflow-bucket}"
}

# mwaa_bucket [NAME]: the source bucket as MWAA requires it (default my-airflow-bucket, in
# AWS_DEFAULT_REGION (default us-west-2), versioned, every public access blocked) with three DAG files under dags/:
# example_bash_operator, example_python_operator and tutorial.
mwaa_bucket() {
    local b=${1:-my-airflow-bucket} d=$WORKDIR/dags.$RANDOM id
    q s3api create-bucket --bucket "$b" --create-bucket-configuration "LocationConstraint=${AWS_DEFAULT_REGION:-us-west-2}" >/dev/null
    q s3api put-bucket-versioning --bucket "$b" --versioning-configuration Status=Enabled >/dev/null
    q s3api put-public-access-block --bucket "$b" --public-access-block-configuration \
        BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true >/dev/null
    mkdir -p "$d"
    for id in example_bash_operator example_python_operator tutorial; do
        printf 'from airflow import DAG\n\nwith DAG(dag_id="%s", schedule="@daily") as dag:\n    pass\n' "$id" >"$d/$id.py"
    done
    "$AWS" s3 sync --only-show-errors "$d" "s3://$b/dags/"
}
