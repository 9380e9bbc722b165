"""Instructions per request under callgrind, for the rows whose answers are cached.

    python3 bench/callgrind.py path/to/airlock [requests] [function]

Starts the binary under `valgrind --tool=callgrind`, builds the bench fixtures (100 VPC
endpoints, one AVAILABLE MWAA environment), warms each request up, then for each row zeroes the
counters, sends `requests` requests over one keep-alive connection and dumps: instructions per
request are the dump's total (every thread: the server's background tasks are counted too) over
the count. With a function name (`airlock_server::gateway::run`: decoding, the operation and
the encoding, without HTTP, SigV4 or the log line) only instructions inside it are counted,
which leaves out the background tasks (reconciler, ticker) whose share otherwise grows with the
time valgrind takes. Instruction counts do not depend on what else the machine runs, so two builds can be
compared while other work goes on. Loopback only.
"""

import http.client
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402


def keepalive(port, reqs, n):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        for i in range(n):
            method, path, headers, body = reqs[i % len(reqs)]
            c.request(method, path, body=body.encode() if body else None, headers=headers)
            r = c.getresponse()
            r.read()
            if r.status != 200:
                raise RuntimeError(f"{path}: {r.status}")
    finally:
        c.close()


def measure(pid, out_dir, label, port, reqs, n):
    keepalive(port, reqs, 20)
    subprocess.run(["callgrind_control", "--zero", str(pid)], check=True, capture_output=True)
    keepalive(port, reqs, n)
    subprocess.run(["callgrind_control", f"--dump={label}", str(pid)], check=True,
                   capture_output=True)
    time.sleep(1)
    # Each dump is a file of its own (`cg.<pid>.<n>`); the one at exit has no number.
    total = 0
    for f in os.listdir(out_dir):
        if not re.fullmatch(r"cg\.\d+\.\d+", f):
            continue
        path = os.path.join(out_dir, f)
        with open(path, errors="replace") as fh:
            text = fh.read()
        m = re.search(r"^totals:\s+(\d+)", text, re.M) or re.search(r"^summary:\s+(\d+)", text, re.M)
        if m:
            total += int(m.group(1))
        os.unlink(path)
    return total / n


def main():
    binary = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 400
    toggle = [f"--toggle-collect={sys.argv[3]}"] if len(sys.argv) > 3 else []
    out_dir = tempfile.mkdtemp(prefix="airlock-callgrind-")
    port = bench.free_port()
    argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_dir}/cg.%p", *toggle,
            binary, "serve", "--listen", f"127.0.0.1:{port}", "--dns-listen", "off",
            "--time-scale", "0.01", "--log-format", "json", "--ephemeral"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        probe = bench.ec2(port, {"Action": "DescribeAvailabilityZones"})
        deadline = time.time() + 120
        while True:
            try:
                if bench.send(port, probe, timeout=30)[0] == 200:
                    break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        vpc, subnet = bench.vpc_with_subnet(port, "10.1.0.0/16")
        bench.endpoints(port, vpc, subnet, 100, workers=2)
        bench.mwaa_environment(port)
        user = bench.iam_user_with_policies(port)
        rows = [
            ("DescribeAvailabilityZones", [probe]),
            ("DescribeAvailabilityZones as an IAM user with 10 attached policies",
             [bench.ec2(port, {"Action": "DescribeAvailabilityZones"}, creds=user)]),
            ("DescribeVpcEndpoints over 100 endpoints",
             [bench.ec2(port, {"Action": "DescribeVpcEndpoints", "Filter.1.Name": "vpc-endpoint-type",
                               "Filter.1.Value.1": "Interface"})]),
            ("GetEnvironment / ListEnvironments pair",
             [bench.sign(port, "airflow", "GET", "/environments/bench"),
              bench.sign(port, "airflow", "GET", "/environments")]),
        ]
        for i, (what, reqs) in enumerate(rows):
            per = measure(proc.pid, out_dir, f"row{i}", port, reqs, n)
            print(f"{what}: {per:,.0f} instructions per request ({n} requests)", flush=True)
    finally:
        proc.terminate()
        proc.wait(60)


if __name__ == "__main__":
    main()
