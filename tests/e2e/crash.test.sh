#!/usr/bin/env bash
# Crash safety: kill -9 under an 8-writer load, round after round, loses no acknowledged write and
# the server starts again each time; kill -9 while an MWAA environment is being created, and the
# restarted server finishes it; a damaged state database (garbage in the middle of its write-ahead
# log, an empty file, a file that is not a database) is refused with a clear message and left
# untouched, and `--recover` sets a copy aside and goes on with what can be read.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DATA=$WORKDIR/data
start_server --data-dir "$DATA" --time-scale 0.002
P=$PORT

# --- kill -9 under load ----------------------------------------------------------------------------
# Eight threads create security groups (one name each) as fast as they can and write each name to
# stdout once its answer arrived; after a random 0.4–1.2 s the script kills the server. A write in
# flight at the kill may or may not be there; every acknowledged one must be.
cat >"$WORKDIR/load.py" <<'EOF'
import os, random, signal, sys, threading, time
import botocore.session
from botocore.config import Config
endpoint, pid, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
acked, lock = [], threading.Lock()
session = botocore.session.Session()
clients = [session.create_client(
    "ec2", region_name="us-west-2", endpoint_url=endpoint, aws_access_key_id="test",
    aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=5))
    for _ in range(8)]
def writer(w):
    for n in range(100000):
        name = "%s-w%d-%05d" % (prefix, w, n)
        try:
            clients[w].create_security_group(GroupName=name, Description="load")
        except Exception:
            return
        with lock:
            acked.append(name)
threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
for t in threads:
    t.start()
time.sleep(random.uniform(0.4, 1.2))
os.kill(pid, signal.SIGKILL)
for t in threads:
    t.join()
sys.stdout.write("".join(name + "\n" for name in acked))
EOF
for round in 1 2 3 4; do
    "$PYTHON" "$WORKDIR/load.py" "http://127.0.0.1:$P/" "$SERVER_PID" "r$round" >"$WORKDIR/acked.$round"
    stop_server "$SERVER_PID" KILL
    check_eq "round $round: the server died of SIGKILL under load" "137" "$STOP_RC"
    ACKED=$(wc -l <"$WORKDIR/acked.$round" | tr -d ' ')
    check "round $round: the writers had answers before the kill ($ACKED)" test "$ACKED" -gt 8
    start_server --port "$P" --data-dir "$DATA" --time-scale 0.002
    q ec2 describe-security-groups --filters "Name=group-name,Values=r$round-*" --query 'SecurityGroups[].GroupName' |
        sort >"$WORKDIR/present.$round"
    MISSING=$(sort "$WORKDIR/acked.$round" | comm -23 - "$WORKDIR/present.$round" | head -n 5)
    check_eq "round $round: every acknowledged write is there after restart" "" "$MISSING"
done
check_eq "the earlier rounds' groups are all still there" "0" "$(cat "$WORKDIR"/acked.{1,2,3} | sort | comm -23 - <(
    q ec2 describe-security-groups --filters 'Name=group-name,Values=r1-*,r2-*,r3-*' --query 'SecurityGroups[].GroupName' | sort
) | wc -l | tr -d ' ')"

# --- kill -9 during an MWAA environment's creation ---------------------------------------------------
mwaa_network
check_eq "create-environment answers while the environment is CREATING" "CREATING" "$(
    q mwaa create-environment --name crashy --execution-role-arn arn:aws:iam::000000000000:role/mwaa-exec \
        --source-bucket-arn arn:aws:s3:::my-airflow-bucket --dag-s3-path dags \
        --network-configuration "SubnetIds=$A,$B,SecurityGroupIds=$SG" >/dev/null
    q mwaa get-environment --name crashy --query Environment.Status)"
stop_server "$SERVER_PID" KILL
start_server --port "$P" --data-dir "$DATA" --time-scale 0.002
available() { [[ $(q mwaa get-environment --name crashy --query Environment.Status) == AVAILABLE ]]; }
poll_until "after kill -9 during creation, the restarted server makes the environment AVAILABLE" 150 0.2 available
check_eq "... with its two VPC endpoints in the environment's subnets" "2" "$(
    q ec2 describe-vpc-endpoints --filters "Name=vpc-id,Values=$VPC" --query 'length(VpcEndpoints)')"
stop_server "$SERVER_PID" TERM

# --- A damaged database is refused, never read in part silently -----------------------------------------
# 31 VPCs, all of them still in the write-ahead log when the server is killed; then 8 KB of garbage
# in the middle of the log. SQLite alone would start with the VPCs before the garbage and drop the
# rest at its next checkpoint.
cat >"$WORKDIR/vpcs.py" <<'EOF'
import os, signal, sys
import botocore.session
endpoint, pid = sys.argv[1], int(sys.argv[2])
ec2 = botocore.session.Session().create_client(
    "ec2", region_name="us-west-2", endpoint_url=endpoint, aws_access_key_id="test", aws_secret_access_key="test")
for i in range(31):
    ec2.create_vpc(CidrBlock="10.%d.0.0/16" % (100 + i))
os.kill(pid, signal.SIGKILL)
print(31)
EOF
WAL_DIR=$WORKDIR/wal
start_server --port "$P" --data-dir "$WAL_DIR"
check_eq "31 create-vpc calls, then kill -9" "31" "$("$PYTHON" "$WORKDIR/vpcs.py" "http://127.0.0.1:$P/" "$SERVER_PID")"
stop_server "$SERVER_PID" KILL
"$PYTHON" - "$WAL_DIR/airlock.db-wal" <<'EOF'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(0, 2)
    middle = f.tell() // 2
    f.seek(middle)
    f.write(b"\xde\xad" * 4096)
EOF
SUM=$(md5sum <"$WAL_DIR/airlock.db-wal")
dns_args
run timeout 20 "$AIRLOCK_BIN" serve --listen "127.0.0.1:$P" --data-dir "$WAL_DIR" "${DNS_ARGS[@]}"
check "garbage in the middle of the write-ahead log: the server exits non-zero" test "$RC" -ne 0 -a "$RC" -ne 124
check_contains "... naming the database" "$WAL_DIR/airlock.db" "$ERR"
check_match "... saying where the log is damaged" 'write-ahead log is damaged at byte [0-9]+: [0-9]+ frames before it can be read, [0-9]+ committed transactions after it cannot' "$ERR"
check_contains "... and how to go on" "--recover" "$ERR"
check "... with no panic trace" test "$(grep -c 'panicked' <<<"$ERR")" -eq 0
check_eq "... and the log untouched" "$SUM" "$(md5sum <"$WAL_DIR/airlock.db-wal")"

start_server --port "$P" --data-dir "$WAL_DIR" --recover
check_match "--recover: the server starts and says loudly what it did" \
    'ERROR.*was damaged: its write-ahead log is damaged at byte.*copied to .*damaged-[0-9]+' "$(cat "$SERVER_LOG")"
COPY=$(ls -d "$WAL_DIR"/damaged-* | head -n 1)
check_eq "... the damaged log is kept as it was" "$SUM" "$(md5sum <"$COPY/airlock.db-wal")"
KEPT=$(q ec2 describe-vpcs --filters 'Name=cidr,Values=10.1*' --query 'length(Vpcs)')
check "... and goes on with the VPCs before the damage ($KEPT of 31)" test "$KEPT" -gt 0 -a "$KEPT" -lt 31
stop_server "$SERVER_PID" TERM
start_server --port "$P" --data-dir "$WAL_DIR"
check_eq "after --recover the database starts without it, whole" "$KEPT" \
    "$(q ec2 describe-vpcs --filters 'Name=cidr,Values=10.1*' --query 'length(Vpcs)')"
stop_server "$SERVER_PID" TERM

mkdir -p "$WORKDIR/empty"
: >"$WORKDIR/empty/airlock.db"
run timeout 20 "$AIRLOCK_BIN" serve --listen "127.0.0.1:$P" --data-dir "$WORKDIR/empty" "${DNS_ARGS[@]}"
check "a zero-byte database file: the server exits non-zero" test "$RC" -ne 0 -a "$RC" -ne 124
check_contains "... saying so" "airlock.db is damaged: the file is empty (0 bytes)" "$ERR"

mkdir -p "$WORKDIR/junk"
head -c 65536 /dev/urandom >"$WORKDIR/junk/airlock.db"
run timeout 20 "$AIRLOCK_BIN" serve --listen "127.0.0.1:$P" --data-dir "$WORKDIR/junk" --recover "${DNS_ARGS[@]}"
check "a file that is not a database: the server exits non-zero, even with --recover" test "$RC" -ne 0 -a "$RC" -ne 124
check_match "... saying what SQLite found" 'airlock.db is damaged: .*(not a database|malformed)' "$ERR"
check "... with no panic trace" test "$(grep -c 'panicked' <<<"$ERR")" -eq 0

finish
