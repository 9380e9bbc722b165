"""The cost of IAM authorization alone: DescribeAvailabilityZones signed by an IAM user with 10
attached policies (and by the root, which is not evaluated) against a server with --iam enforce
and one with --iam off, alternating; medians of 3 runs of 5 s with wrk. Loopback only.

    AIRLOCK_BIN=target/release/airlock python3 bench/authz.py

`bench.py` runs the same comparison as one of its rows; this runs it alone.
"""

import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import airlock, ec2, free_port, iam_user_with_policies, wrk  # noqa: E402


def main():
    enforce = airlock(free_port())
    off = airlock(free_port(), extra=("--iam", "off"))
    servers = [enforce, off]
    for s in servers:
        s.start()
    users = {s.port: iam_user_with_policies(s.port) for s in servers}
    rps = {(s.port, who): [] for s in servers for who in ("user", "root")}
    try:
        for _ in range(3):
            for s in servers:
                user = ec2(s.port, {"Action": "DescribeAvailabilityZones"}, creds=users[s.port])
                root = ec2(s.port, {"Action": "DescribeAvailabilityZones"})
                rps[(s.port, "user")].append(wrk(s.port, [user], 5)[0])
                rps[(s.port, "root")].append(wrk(s.port, [root], 5)[0])
    finally:
        for s in servers:
            s.stop()
    for who in ("user", "root"):
        for name, s in (("--iam enforce", enforce), ("--iam off", off)):
            runs = rps[(s.port, who)]
            print(f"{who}, {name}: {statistics.median(runs):,.0f} req/s (runs {[round(x) for x in runs]})")


if __name__ == "__main__":
    main()
