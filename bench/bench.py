"""Airlock's benchmark: every comparison in one run, side by side, alternating between servers.

Run through `bench/run` (which builds the binaries and installs the peers). Everything connects
to 127.0.0.1 only; every request loop is bounded in count or time. Figures are medians of
`--runs` runs. `--smoke` runs each row once with tiny counts and writes nothing.
"""

import argparse
import datetime
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

REGION = "us-west-2"
CREDS = Credentials("test", "test")
HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------------------------------------
# Signed requests


def sign(port, service, method, path, body=b"", content_type=None, amz_target=None):
    """A SigV4-signed request for 127.0.0.1:port: (method, path, headers, body)."""
    url = f"http://127.0.0.1:{port}{path}"
    headers = {}
    if content_type:
        headers["Content-Type"] = content_type
    if amz_target:
        headers["X-Amz-Target"] = amz_target
    req = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(CREDS, service, REGION).add_auth(req)
    out = {k: v for k, v in req.headers.items() if k.lower() != "content-length"}
    out["Host"] = f"127.0.0.1:{port}"
    return (method, path, out, body.decode() if isinstance(body, bytes) else body)


FORM = "application/x-www-form-urlencoded; charset=utf-8"


def ec2(port, params):
    body = "&".join(f"{k}={v}" for k, v in {**params, "Version": "2016-11-15"}.items())
    return sign(port, "ec2", "POST", "/", body.encode(), FORM)


def send(port, req, timeout=30):
    method, path, headers, body = req
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=body.encode() if body else None, headers=headers)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def call(port, params):
    status, data = send(port, ec2(port, params))
    if status != 200:
        raise RuntimeError(f"{params.get('Action')}: {status} {data[:300]!r}")
    return data.decode()


def tag(text, name):
    m = re.search(f"<{name}>([^<]*)</{name}>", text)
    return m.group(1) if m else None


# ------------------------------------------------------------------------------------------------
# Servers


class Server:
    # Every server started, so that a failing run still stops them all.
    started = []

    def __init__(self, name, argv, port, env=None):
        self.name, self.argv, self.port, self.env = name, argv, port, env
        self.proc = None
        Server.started.append(self)

    def start(self):
        """Starts the server; returns seconds from launch to the first answered request."""
        probe = ec2(self.port, {"Action": "DescribeAvailabilityZones"})
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            self.argv,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, **(self.env or {})},
        )
        deadline = t0 + 60
        while time.perf_counter() < deadline:
            try:
                status, _ = send(self.port, probe, timeout=5)
                if status == 200:
                    return time.perf_counter() - t0
            except OSError:
                time.sleep(0.001)
        raise RuntimeError(f"{self.name} did not answer within 60 s")

    def rss_mb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self, kill=False):
        if self.proc and self.proc.poll() is None:
            if kill:
                self.proc.kill()
            else:
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def airlock(port, data_dir=None, time_scale="0.01"):
    argv = [os.environ["AIRLOCK_BIN"], "serve", "--listen", f"127.0.0.1:{port}", "--dns-listen", "off",
            "--time-scale", time_scale, "--log-format", "json"]
    argv += ["--data-dir", data_dir] if data_dir else ["--ephemeral"]
    return Server("airlock", argv, port, {"RUST_LOG": "warn"})


def moto(port):
    return Server("moto", [os.environ["MOTO_BIN"], "-H", "127.0.0.1", "-p", str(port)], port)


def fixed(port, body_file):
    return Server("fixed", [os.environ["FIXED_BIN"], f"127.0.0.1:{port}", body_file], port)


# ------------------------------------------------------------------------------------------------
# wrk


def wrk(port, requests, seconds, connections=8, threads=2):
    """Requests per second for `requests` (cycled), over `seconds` seconds; non-2xx counted."""
    lua = ["local reqs = {"]
    for method, path, headers, body in requests:
        h = ", ".join(f"[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items())
        lua.append(f"  {{{json.dumps(method)}, {json.dumps(path)}, {{{h}}}, {json.dumps(body or '')}}},")
    lua.append("}")
    lua.append("local i = 0")
    lua.append("request = function()")
    lua.append("  i = i + 1")
    lua.append("  local r = reqs[(i % #reqs) + 1]")
    lua.append("  if r[4] == '' then return wrk.format(r[1], r[2], r[3]) end")
    lua.append("  return wrk.format(r[1], r[2], r[3], r[4])")
    lua.append("end")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write("\n".join(lua))
        script = f.name
    try:
        out = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", script,
             f"http://127.0.0.1:{port}/"],
            capture_output=True, text=True, timeout=seconds + 60, check=True,
        ).stdout
    finally:
        os.unlink(script)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    if bad and int(bad.group(1)) > 0:
        raise RuntimeError(f"wrk saw {bad.group(1)} of {total} non-2xx answers")
    return rps, total, errors.group(0) if errors else ""


# ------------------------------------------------------------------------------------------------
# Fixtures


def vpc_with_subnet(port, cidr="10.0.0.0/16"):
    vpc = tag(call(port, {"Action": "CreateVpc", "CidrBlock": cidr}), "vpcId")
    subnet = tag(call(port, {"Action": "CreateSubnet", "VpcId": vpc, "CidrBlock": cidr,
                             "AvailabilityZone": "us-west-2a"}), "subnetId")
    return vpc, subnet


def endpoints(port, vpc, subnet, n, workers=8):
    def one(i):
        call(port, {"Action": "CreateVpcEndpoint", "VpcId": vpc, "VpcEndpointType": "Interface",
                    "ServiceName": "com.amazonaws.us-west-2.airflow.api", "SubnetId.1": subnet,
                    "PrivateDnsEnabled": "false"})

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, range(n)))


def mwaa_environment(port):
    """One MWAA environment in Airlock (network, role), for the MWAA rows."""
    vpc = tag(call(port, {"Action": "CreateVpc", "CidrBlock": "10.192.0.0/16"}), "vpcId")
    subnets = []
    for cidr, az in (("10.192.20.0/24", "us-west-2a"), ("10.192.21.0/24", "us-west-2b")):
        subnets.append(tag(call(port, {"Action": "CreateSubnet", "VpcId": vpc, "CidrBlock": cidr,
                                       "AvailabilityZone": az}), "subnetId"))
    # Private subnets that reach the internet through a NAT gateway, as MWAA requires.
    igw = tag(call(port, {"Action": "CreateInternetGateway"}), "internetGatewayId")
    call(port, {"Action": "AttachInternetGateway", "InternetGatewayId": igw, "VpcId": vpc})
    public = tag(call(port, {"Action": "CreateSubnet", "VpcId": vpc, "CidrBlock": "10.192.10.0/24",
                             "AvailabilityZone": "us-west-2a"}), "subnetId")
    eip = tag(call(port, {"Action": "AllocateAddress", "Domain": "vpc"}), "allocationId")
    nat = tag(call(port, {"Action": "CreateNatGateway", "SubnetId": public, "AllocationId": eip}),
              "natGatewayId")
    rt = tag(call(port, {"Action": "CreateRouteTable", "VpcId": vpc}), "routeTableId")
    call(port, {"Action": "CreateRoute", "RouteTableId": rt, "DestinationCidrBlock": "0.0.0.0/0",
                "NatGatewayId": nat})
    for subnet in subnets:
        call(port, {"Action": "AssociateRouteTable", "RouteTableId": rt, "SubnetId": subnet})
    sg = tag(call(port, {"Action": "CreateSecurityGroup", "GroupName": "mwaa", "GroupDescription": "mwaa",
                         "VpcId": vpc}), "groupId")
    call(port, {"Action": "AuthorizeSecurityGroupIngress", "GroupId": sg, "IpPermissions.1.IpProtocol": "-1",
                "IpPermissions.1.Groups.1.GroupId": sg})
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
        "Service": ["airflow.amazonaws.com", "airflow-env.amazonaws.com"]}, "Action": "sts:AssumeRole"}]})
    from urllib.parse import quote
    body = f"Action=CreateRole&Version=2010-05-08&RoleName=mwaa-exec&AssumeRolePolicyDocument={quote(trust)}"
    status, data = send(port, sign(port, "iam", "POST", "/", body.encode(), FORM))
    assert status == 200, data
    create = json.dumps({
        "ExecutionRoleArn": "arn:aws:iam::000000000000:role/mwaa-exec",
        "SourceBucketArn": "arn:aws:s3:::bench-bucket", "DagS3Path": "dags",
        "NetworkConfiguration": {"SubnetIds": subnets, "SecurityGroupIds": [sg]},
    })
    t0 = time.perf_counter()
    status, data = send(port, sign(port, "airflow", "PUT", "/environments/bench", create.encode(),
                                   "application/json"))
    assert status == 200, data
    state = None
    while time.perf_counter() - t0 < 120:
        status, data = send(port, sign(port, "airflow", "GET", "/environments/bench"))
        state = json.loads(data)["Environment"]["Status"]
        if state == "AVAILABLE":
            return time.perf_counter() - t0
        if state != "CREATING":
            break
        time.sleep(0.02)
    raise RuntimeError(f"the environment ended {state}, not AVAILABLE")


# ------------------------------------------------------------------------------------------------
# Rows


def latency_ms(port, req, n):
    """Median latency of `n` sequential requests on one keep-alive connection."""
    method, path, headers, body = req
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    times = []
    try:
        for _ in range(n):
            t0 = time.perf_counter()
            c.request(method, path, body=body.encode() if body else None, headers=headers)
            r = c.getresponse()
            r.read()
            times.append((time.perf_counter() - t0) * 1000)
            if r.status != 200:
                raise RuntimeError(f"{r.status} from {path}")
    finally:
        c.close()
    return statistics.median(times)


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def run(args):
    runs = 1 if args.smoke else args.runs
    secs = 1 if args.smoke else args.seconds
    n_endpoints = 20 if args.smoke else 10_000
    with_moto = "MOTO_BIN" in os.environ
    rows = []
    tmp = tempfile.mkdtemp(prefix="airlock-bench-")

    def row(what, a, peer_name, p, target, unit, ratio_kind):
        rows.append((what, a, peer_name, p, target, unit, ratio_kind))
        print(f"  {what}: airlock {fmt(a)} {unit}; {peer_name} {fmt(p)}", flush=True)

    # Launch to first answer, idle memory (alternating Airlock and moto).
    starts = {"airlock": [], "moto": []}
    idle = {"airlock": [], "moto": []}
    for _ in range(runs):
        servers = [airlock(free_port())] + ([moto(free_port())] if with_moto else [])
        for s in servers:
            starts[s.name].append(s.start())
            time.sleep(0.5)
            idle[s.name].append(s.rss_mb())
            s.stop()
    row("launch to first answered request", median(starts["airlock"]) * 1000, "moto_server",
        median(starts["moto"]) * 1000, "≤ 20 ms, ≥ 50× faster", "ms", "faster")
    row("idle resident memory", median(idle["airlock"]), "moto_server", median(idle["moto"]),
        "≤ 15 MB", "MB", "smaller")

    # DescribeAvailabilityZones: Airlock, moto, the fixed-body hyper server, alternating.
    a = airlock(free_port())
    a.start()
    m = moto(free_port()) if with_moto else None
    if m:
        m.start()
    body = call(a.port, {"Action": "DescribeAvailabilityZones"})
    body_file = os.path.join(tmp, "azs.xml")
    with open(body_file, "w") as f:
        f.write(body)
    fx = fixed(free_port(), body_file)
    fx.start()
    az = {"airlock": [], "moto": [], "fixed": []}
    for _ in range(runs):
        for s in [a, m, fx]:
            if s:
                req = ec2(s.port, {"Action": "DescribeAvailabilityZones"})
                az[s.name].append(wrk(s.port, [req], secs)[0])
    row("DescribeAvailabilityZones req/s (wrk, 8 connections, signed, --auth on)", median(az["airlock"]),
        "moto_server", median(az["moto"]), "≥ 100× moto", "req/s", "faster-rate")
    row("  the same against the fixed-body hyper server (the machine's limit)", median(az["airlock"]),
        "hyper fixed body", median(az["fixed"]), "≥ 50% of the limit", "req/s", "share")

    # DescribeVpcEndpoints over 100 endpoints.
    dve = {"airlock": [], "moto": []}
    for s in [a, m]:
        if s:
            vpc, subnet = vpc_with_subnet(s.port, "10.1.0.0/16")
            endpoints(s.port, vpc, subnet, 20 if args.smoke else 100)
    for _ in range(runs):
        for s in [a, m]:
            if s:
                req = ec2(s.port, {"Action": "DescribeVpcEndpoints", "Filter.1.Name": "vpc-endpoint-type",
                                   "Filter.1.Value.1": "Interface"})
                dve[s.name].append(wrk(s.port, [req], secs)[0])
    row("DescribeVpcEndpoints over 100 endpoints req/s", median(dve["airlock"]), "moto_server",
        median(dve["moto"]), "≥ 300× moto", "req/s", "faster-rate")
    if m:
        m.stop()

    # MWAA: creation time, then GetEnvironment / ListEnvironments against the fixed body.
    available = mwaa_environment(a.port)
    get_env = sign(a.port, "airflow", "GET", "/environments/bench")
    list_env = sign(a.port, "airflow", "GET", "/environments")
    env_body = os.path.join(tmp, "env.json")
    with open(env_body, "wb") as f:
        f.write(send(a.port, get_env)[1])
    fx.stop()
    fx = fixed(free_port(), env_body)
    fx.start()
    mw = {"airlock": [], "fixed": []}
    for _ in range(runs):
        mw["airlock"].append(wrk(a.port, [get_env, list_env], secs)[0])
        mw["fixed"].append(wrk(fx.port, [sign(fx.port, "airflow", "GET", "/environments/bench")], secs)[0])
    row("GetEnvironment / ListEnvironments req/s", median(mw["airlock"]), "hyper fixed body",
        median(mw["fixed"]), "≥ 50% of the limit", "req/s", "share")
    row("MWAA CreateEnvironment → AVAILABLE (--time-scale 0.01)", available, "real AWS", 20 * 60,
        "seconds", "s", "faster")
    a.stop()
    fx.stop()

    # Resident memory after 10,000 VPC endpoints.
    a = airlock(free_port())
    a.start()
    vpc, subnet = vpc_with_subnet(a.port, "10.2.0.0/16")
    endpoints(a.port, vpc, subnet, n_endpoints)
    row(f"resident memory after {n_endpoints} VPC endpoints", a.rss_mb(), "—", float("nan"),
        "≤ 150 MB", "MB", "none")
    a.stop()

    # How cost grows: one VPC's 100 endpoints, filtered by vpc-id, with 1k, 10k and 100k
    # endpoints in the region (the rest spread over other VPCs, 5k per VPC at most).
    a = airlock(free_port())
    a.start()
    target_vpc, target_subnet = vpc_with_subnet(a.port, "10.9.0.0/16")
    endpoints(a.port, target_vpc, target_subnet, 5 if args.smoke else 100)
    sizes = [10, 20, 40] if args.smoke else [1_000, 10_000, 100_000]
    per_vpc = 10 if args.smoke else 5_000
    have, fillers, latency = 100, [], {}
    query = ec2(a.port, {"Action": "DescribeVpcEndpoints", "Filter.1.Name": "vpc-id",
                         "Filter.1.Value.1": target_vpc})
    for size in sizes:
        while have < size:
            if not fillers or fillers[-1][2] >= per_vpc:
                n = len(fillers)
                fillers.append([*vpc_with_subnet(a.port, f"10.{100 + n}.0.0/16"), 0])
            vpc, subnet, used = fillers[-1]
            k = min(size - have, per_vpc - used)
            endpoints(a.port, vpc, subnet, k)
            fillers[-1][2] += k
            have += k
        latency[size] = latency_ms(a.port, query, 20 if args.smoke else 300)
    a.stop()
    lo, hi = sizes[0], sizes[-1]
    for size in sizes:
        row(f"DescribeVpcEndpoints (one VPC's endpoints) latency, {size:,} in the region",
            latency[size], "at " + f"{lo:,}", latency[lo], "at 100k ≤ 2× at 1k", "ms", "growth")

    # Durable writes: CreateTags that change a tag's value each time (throughput with wrk), then
    # 8 writers that each remember the last value acknowledged for their own key; kill -9,
    # restart, and every key must hold its last acknowledged value.
    data_dir = os.path.join(tmp, "durable")
    a = airlock(free_port(), data_dir=data_dir)
    a.start()
    vpc, _ = vpc_with_subnet(a.port, "10.3.0.0/16")
    n_values = 50 if args.smoke else 2000
    reqs = [ec2(a.port, {"Action": "CreateTags", "ResourceId.1": vpc, "Tag.1.Key": "bench",
                         "Tag.1.Value": f"v{i}"}) for i in range(n_values)]
    writes = [wrk(a.port, reqs, secs)[0] for _ in range(runs)]
    last = {}
    acked = [0]
    lock = threading.Lock()
    stop_at = time.perf_counter() + (0.5 if args.smoke else 2)

    def writer(w):
        i = 0
        while time.perf_counter() < stop_at:
            status, data = send(a.port, ec2(a.port, {"Action": "CreateTags", "ResourceId.1": vpc,
                                                     "Tag.1.Key": f"w{w}", "Tag.1.Value": str(i)}))
            if status != 200:
                raise RuntimeError(f"CreateTags: {status} {data[:200]!r}")
            with lock:
                last[f"w{w}"] = str(i)
                acked[0] += 1
            i += 1

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    a.stop(kill=True)
    a = airlock(a.port, data_dir=data_dir)
    a.start()
    text = call(a.port, {"Action": "DescribeTags", "Filter.1.Name": "resource-id", "Filter.1.Value.1": vpc})
    found = {tag(item, "key"): tag(item, "value") for item in re.findall(r"<item>(.*?)</item>", text)}
    lost = [k for k, v in last.items() if found.get(k) != v]
    a.stop()
    row(f"durable writes (CreateTags) per second; then {acked[0]} acknowledged by 8 writers, "
        f"{len(lost)} of their last values lost after kill -9", median(writes), "—", float("nan"),
        "≥ 2,000/s, none lost", "writes/s", "none")
    if len(last) < 8 or lost:
        raise RuntimeError(f"durability: {len(last)} writers acknowledged, lost {lost}")
    shutil.rmtree(tmp, ignore_errors=True)
    return rows


def fmt(x):
    if x != x:  # NaN
        return "—"
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:.2f}" if x < 10 else f"{x:.1f}"


def ratio(a, p, kind):
    if a != a or p != p or kind == "none":
        return "—"
    if kind == "faster":
        return f"{p / a:,.0f}× faster" if a > 0 else "—"
    if kind == "smaller":
        return f"{p / a:.1f}× smaller" if a > 0 else "—"
    if kind == "faster-rate":
        return f"{a / p:,.0f}×" if p > 0 else "—"
    if kind == "growth":
        return f"{a / p:.2f}× the first" if p > 0 else "—"
    if kind == "share":
        return f"{100 * a / p:.0f}% of it" if p > 0 else "—"
    return "—"


def table(rows):
    out = ["| what | Airlock | against | their figure | ratio | target |", "|---|---|---|---|---|---|"]
    for what, a, peer, p, target, unit, kind in rows:
        out.append(f"| {what} | {fmt(a)} {unit} | {peer} | {fmt(p)} | {ratio(a, p, kind)} | {target} |")
    return "\n".join(out)


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    wrk_v = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    wrk_v = (wrk_v.stdout + wrk_v.stderr).split("\n")[0]
    moto_v = "not run"
    if "MOTO_BIN" in os.environ:
        try:
            import moto  # noqa: F401
            moto_v = moto.__version__
        except ImportError:
            pass
    return (f"{os.cpu_count()} CPUs ({cpu}), {mem:.0f} GB, {platform.system()} {platform.release()}; "
            f"Airlock {rev} (release build); moto_server {moto_v}; {wrk_v}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--seconds", type=int, default=5)
    args = p.parse_args()
    print("Running the benchmark" + (" (smoke)" if args.smoke else ""), flush=True)
    try:
        rows = run(args)
    finally:
        for s in Server.started:
            s.stop(kill=True)
    text = table(rows)
    print()
    print(text)
    if not args.smoke:
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        with open(os.path.join(HERE, "RESULTS.md"), "a") as f:
            f.write(f"\n## {stamp}\n\n{machine()}. Medians of {args.runs} runs of {args.seconds} s "
                    f"(wrk: 2 threads, 8 connections); signatures verified (`--auth on`).\n\n{text}\n")


if __name__ == "__main__":
    sys.exit(main())
