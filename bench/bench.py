"""Airlock's benchmark: every comparison in one run, side by side, alternating between servers.

Run through `bench/run` (which builds the binaries and installs the peers). Everything connects
to loopback only (the Client VPN rows, `vpn.py`, in a network namespace of their own, also to VPC
addresses that the OpenVPN client routes into its tun device there); every request loop is
bounded in count or time. Figures are medians of
`--runs` runs. `--smoke` runs each row once with tiny counts and writes nothing.
"""

import argparse
import base64
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
from urllib.parse import quote_plus

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


def sign(port, service, method, path, body=b"", content_type=None, amz_target=None, creds=CREDS):
    """A SigV4-signed request for 127.0.0.1:port: (method, path, headers, body)."""
    url = f"http://127.0.0.1:{port}{path}"
    headers = {}
    if content_type:
        headers["Content-Type"] = content_type
    if amz_target:
        headers["X-Amz-Target"] = amz_target
    req = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(creds, service, REGION).add_auth(req)
    out = {k: v for k, v in req.headers.items() if k.lower() != "content-length"}
    out["Host"] = f"127.0.0.1:{port}"
    return (method, path, out, body.decode() if isinstance(body, bytes) else body)


FORM = "application/x-www-form-urlencoded; charset=utf-8"


def ec2(port, params, creds=CREDS):
    body = "&".join(f"{k}={v}" for k, v in {**params, "Version": "2016-11-15"}.items())
    return sign(port, "ec2", "POST", "/", body.encode(), FORM, creds=creds)


def iam_user_with_policies(port, n=10):
    """An IAM user with `n` customer managed policies attached, each with a condition; only the
    last allows ec2:Describe*, so an allowed request reads them all. Its credentials."""

    def iam(params):
        body = "&".join(f"{k}={quote_plus(v)}" for k, v in {**params, "Version": "2010-05-08"}.items())
        status, data = send(port, sign(port, "iam", "POST", "/", body.encode(), FORM))
        if status != 200:
            raise RuntimeError(f"{params['Action']}: {status} {data[:300]!r}")
        return data.decode()

    iam({"Action": "CreateUser", "UserName": "bench"})
    for i in range(n):
        action = "ec2:Describe*" if i == n - 1 else f"s3:Get{i}*"
        doc = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": [action, f"airflow:Get{i}*"], "Resource": "*",
             "Condition": {"StringEquals": {"aws:RequestedRegion": REGION}}}]})
        arn = tag(iam({"Action": "CreatePolicy", "PolicyName": f"bench-{i}", "PolicyDocument": doc}), "Arn")
        iam({"Action": "AttachUserPolicy", "UserName": "bench", "PolicyArn": arn})
    out = iam({"Action": "CreateAccessKey", "UserName": "bench"})
    return Credentials(tag(out, "AccessKeyId"), tag(out, "SecretAccessKey"))


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

    def __init__(self, name, argv, port, env=None, log=None):
        self.name, self.argv, self.port, self.env, self.log = name, argv, port, env, log
        self.proc = None
        Server.started.append(self)

    def spawn(self):
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL
        self.proc = subprocess.Popen(self.argv, stdout=out, stderr=out,
                                     env={**os.environ, **(self.env or {})})

    def start(self):
        """Starts the server; returns seconds from launch to the first answered request."""
        probe = ec2(self.port, {"Action": "DescribeAvailabilityZones"})
        t0 = time.perf_counter()
        self.spawn()
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


def airlock(port, data_dir=None, time_scale="0.01", dns_port=None, log=None, extra=()):
    """Airlock as users run it (default logging: one line per request)."""
    argv = [os.environ["AIRLOCK_BIN"], "serve", "--listen", f"127.0.0.1:{port}",
            "--dns-listen", f"127.0.0.1:{dns_port}" if dns_port else "off",
            "--time-scale", time_scale, "--log-format", "json", *extra]
    argv += ["--data-dir", data_dir] if data_dir else ["--ephemeral"]
    return Server("airlock", argv, port, log=log)


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
    # The source bucket as MWAA requires it.
    s3 = aws_client("s3", port)
    s3.create_bucket(Bucket="bench-bucket", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket="bench-bucket", VersioningConfiguration={"Status": "Enabled"})
    s3.put_public_access_block(Bucket="bench-bucket", PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True})
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
# DNS: Airlock's server against Knot serving the same names from a zone file


def dns_ready(port, name, timeout=20):
    """Waits until a DNS server on 127.0.0.1:port answers a query for `name` over UDP."""
    qname = b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split(".")) + b"\0"
    packet = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + qname + b"\x00\x01\x00\x01"
    deadline = time.perf_counter() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        while time.perf_counter() < deadline:
            try:
                s.sendto(packet, ("127.0.0.1", port))
                data, _ = s.recvfrom(4096)
                if data[:2] == b"\x12\x34" and data[3] & 0x0F == 0 and data[7] > 0:
                    return
            except OSError:
                time.sleep(0.05)
    raise RuntimeError(f"no DNS answer for {name} on port {port}")


def dnsperf(port, name, seconds):
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write(f"{name} A\n")
        queries = f.name
    try:
        out = subprocess.run(["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", queries,
                              "-l", str(seconds), "-c", "8", "-T", "2", "-q", "200"],
                             capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    finally:
        os.unlink(queries)
    qps = float(re.search(r"Queries per second:\s+([\d.]+)", out).group(1))
    completed = re.search(r"Queries completed:\s+(\d+)", out)
    noerror = re.search(r"NOERROR (\d+)", out)
    if not completed or not noerror or noerror.group(1) != completed.group(1):
        raise RuntimeError(f"dnsperf saw errors:\n{out}")
    return qps


def knot(port, tmp, records):
    """Knot serving `records` (dig answer lines) in one zone, amazonaws.com."""
    zone = os.path.join(tmp, "amazonaws.com.zone")
    with open(zone, "w") as f:
        f.write("$ORIGIN amazonaws.com.\n$TTL 60\n")
        f.write("@ SOA ns.airlock.test. hostmaster.airlock.test. 1 3600 600 86400 60\n@ NS ns.airlock.test.\n")
        for line in records:
            f.write(line + "\n")
    conf = os.path.join(tmp, "knot.conf")
    with open(conf, "w") as f:
        f.write(f"server:\n    listen: 127.0.0.1@{port}\n    rundir: {tmp}\n"
                f"database:\n    storage: {tmp}\n"
                f"zone:\n  - domain: amazonaws.com\n    file: {zone}\n    storage: {tmp}\n")
    return Server("knot", ["knotd", "-c", conf], port)


def dns_rows(args, tmp, runs, secs, row):
    api, dns = free_port(), free_port()
    a = airlock(api, dns_port=dns)
    a.start()
    mwaa_environment(a.port)
    status, data = send(a.port, sign(a.port, "airflow", "GET", "/environments/bench"))
    host = json.loads(data)["Environment"]["WebserverUrl"]
    answer = subprocess.run(["dig", "@127.0.0.1", "-p", str(dns), "+noall", "+answer", host, "A"],
                            capture_output=True, text=True, check=True).stdout.strip().splitlines()
    if len(answer) < 2 or "CNAME" not in answer[0]:
        raise RuntimeError(f"unexpected answer for {host}: {answer}")
    k = knot(free_port(), tmp, answer)
    k.spawn()
    dns_ready(k.port, host)
    dns_ready(dns, host)
    qps = {"airlock": [], "knot": []}
    for _ in range(runs):
        qps["airlock"].append(dnsperf(dns, host, secs))
        qps["knot"].append(dnsperf(k.port, host, secs))
    k.stop()
    a.stop()
    row(f"DNS queries/s, the webserver CNAME chain ({len(answer)} records; dnsperf)",
        median(qps["airlock"]), "Knot (zone file)", median(qps["knot"]),
        "≥ 50% of the reference, ≥ 50k qps", "qps", "share")


# ------------------------------------------------------------------------------------------------
# HTTPS through an ALB listener against nginx, to the same backend with the same certificate


def certificate(tmp):
    """A root and a leaf for bench.example.com, made with openssl: (leaf, chain, key) paths."""
    def run_openssl(*a):
        subprocess.run(["openssl", *a], check=True, capture_output=True)
    root_key, root = os.path.join(tmp, "root.key"), os.path.join(tmp, "root.pem")
    key, csr, leaf = (os.path.join(tmp, n) for n in ("leaf.key", "leaf.csr", "leaf.pem"))
    ext = os.path.join(tmp, "leaf.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:bench.example.com\nbasicConstraints=CA:FALSE\n")
    run_openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", root_key, "-out", root,
                "-days", "30", "-subj", "/CN=Bench Root")
    run_openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
                "-subj", "/CN=bench.example.com")
    run_openssl("x509", "-req", "-in", csr, "-CA", root, "-CAkey", root_key, "-CAcreateserial",
                "-days", "30", "-extfile", ext, "-out", leaf)
    return leaf, root, key


def nginx(tmp, port, leaf, chain, key, servers):
    """nginx (not yet spawned) with its files under `tmp` and the `servers` blocks in its `http`
    block, whose TLS certificate is `leaf` with `chain` and `key`."""
    with open(leaf + ".full", "w") as f:
        f.write(open(leaf).read() + open(chain).read())
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""worker_processes auto;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx.error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/nginx-body;
    proxy_temp_path {tmp}/nginx-proxy;
    fastcgi_temp_path {tmp}/nginx-fastcgi;
    uwsgi_temp_path {tmp}/nginx-uwsgi;
    scgi_temp_path {tmp}/nginx-scgi;
    ssl_certificate {leaf}.full;
    ssl_certificate_key {key};{servers}}}
""")
    return Server("nginx", ["nginx", "-c", conf, "-g", "daemon off;"], port)


def json_call(port, target, body):
    status, data = send(port, sign(port, "acm", "POST", "/", json.dumps(body).encode(),
                                   "application/x-amz-json-1.1", amz_target=target))
    if status != 200:
        raise RuntimeError(f"{target}: {status} {data[:300]!r}")
    return json.loads(data)


def elb(port, params):
    body = "&".join(f"{k}={quote_plus(str(v))}" for k, v in {**params, "Version": "2015-12-01"}.items())
    status, data = send(port, sign(port, "elasticloadbalancing", "POST", "/", body.encode(), FORM))
    if status != 200:
        raise RuntimeError(f"{params.get('Action')}: {status} {data[:300]!r}")
    return data.decode()


def cfn(port, params):
    body = "&".join(f"{k}={quote_plus(str(v))}" for k, v in {**params, "Version": "2010-05-15"}.items())
    status, data = send(port, sign(port, "cloudformation", "POST", "/", body.encode(), FORM))
    if status != 200:
        raise RuntimeError(f"{params.get('Action')}: {status} {data[:300]!r}")
    return data.decode()


def cfn_rows(runs, row):
    """The MWAA quick-start-shaped template (27 resources) deployed with CreateStack at
    --time-scale 0: seconds to CREATE_COMPLETE, and resident memory after it."""
    with open(os.path.join(HERE, "..", "tests", "e2e", "cloudformation", "mwaa-quickstart.yaml")) as f:
        template = f.read()
    took, rss = [], []
    for _ in range(runs):
        a = airlock(free_port(), time_scale="0")
        a.start()
        t0 = time.perf_counter()
        cfn(a.port, {"Action": "CreateStack", "StackName": "mwaa", "TemplateBody": template,
                     "Capabilities.member.1": "CAPABILITY_IAM"})
        while True:
            status = tag(cfn(a.port, {"Action": "DescribeStacks", "StackName": "mwaa"}), "StackStatus")
            if status != "CREATE_IN_PROGRESS":
                break
            time.sleep(0.01)
        took.append(time.perf_counter() - t0)
        if status != "CREATE_COMPLETE":
            raise RuntimeError(f"the quick-start stack ended {status}")
        rss.append(a.rss_mb())
        a.stop()
    row("CloudFormation: MWAA quick-start stack (27 resources) to CREATE_COMPLETE, --time-scale 0",
        median(took), "—", float("nan"), "seconds", "s", "none")
    row("resident memory after the quick-start stack", median(rss), "—", float("nan"),
        "—", "MB", "none")


def console_rows(args, row):
    """The console's Endpoints page (every endpoint of the region with its two addresses, as the
    page's procedure reads it) with 1,000 interface endpoints: median time to the whole page
    over loopback, and its size."""
    n = 20 if args.smoke else 1000
    a = airlock(free_port())
    a.start()
    p = a.port
    vpc = tag(call(p, {"Action": "CreateVpc", "CidrBlock": "10.60.0.0/16"}), "vpcId")
    subnets = [tag(call(p, {"Action": "CreateSubnet", "VpcId": vpc, "CidrBlock": cidr, "AvailabilityZone": az}),
                   "subnetId")
               for cidr, az in (("10.60.0.0/20", "us-west-2a"), ("10.60.16.0/20", "us-west-2b"))]

    # CloudWatch Logs, which a private environment's network needs and Airlock does not serve
    # (an endpoint to a service it runs would also start 2 TLS listeners, each making its key).
    def one(i):
        call(p, {"Action": "CreateVpcEndpoint", "VpcId": vpc, "VpcEndpointType": "Interface",
                 "ServiceName": "com.amazonaws.us-west-2.logs", "SubnetId.1": subnets[0],
                 "SubnetId.2": subnets[1], "PrivateDnsEnabled": "false"})

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(n)))
    path = "/_airlock/console/vpc/endpoints?region=us-west-2"
    page_ms = latency_ms(p, ("GET", path, {}, None), 5 if args.smoke else 50)
    c = http.client.HTTPConnection("127.0.0.1", p, timeout=30)
    c.request("GET", path)
    body = c.getresponse().read()
    c.close()
    rows_shown = body.count(b"<tr>") - 1
    if rows_shown != n:
        raise RuntimeError(f"the Endpoints page shows {rows_shown} rows, not {n}")
    a.stop()
    row(f"console: Endpoints page with {n:,} endpoints (2 addresses each), time to the whole page",
        page_ms, "—", float("nan"), "≤ 50 ms", "ms", "none")
    row(f"console: Endpoints page with {n:,} endpoints, size", len(body) / 1e6, "—", float("nan"),
        "—", "MB", "none")


def alb_rows(args, tmp, runs, secs, row):
    log = os.path.join(tmp, "alb.log")
    a = airlock(free_port(), log=log)
    a.start()
    p = a.port
    vpc = tag(call(p, {"Action": "CreateVpc", "CidrBlock": "10.50.0.0/16"}), "vpcId")
    igw = tag(call(p, {"Action": "CreateInternetGateway"}), "internetGatewayId")
    call(p, {"Action": "AttachInternetGateway", "InternetGatewayId": igw, "VpcId": vpc})
    rt = tag(call(p, {"Action": "CreateRouteTable", "VpcId": vpc}), "routeTableId")
    call(p, {"Action": "CreateRoute", "RouteTableId": rt, "DestinationCidrBlock": "0.0.0.0/0", "GatewayId": igw})
    subnets = []
    for cidr, az in (("10.50.1.0/24", "us-west-2a"), ("10.50.2.0/24", "us-west-2b")):
        sn = tag(call(p, {"Action": "CreateSubnet", "VpcId": vpc, "CidrBlock": cidr, "AvailabilityZone": az}),
                 "subnetId")
        call(p, {"Action": "AssociateRouteTable", "RouteTableId": rt, "SubnetId": sn})
        subnets.append(sn)
    lb_sg = tag(call(p, {"Action": "CreateSecurityGroup", "GroupName": "alb", "GroupDescription": "alb",
                         "VpcId": vpc}), "groupId")
    call(p, {"Action": "AuthorizeSecurityGroupIngress", "GroupId": lb_sg, "IpPermissions.1.IpProtocol": "tcp",
             "IpPermissions.1.FromPort": "443", "IpPermissions.1.ToPort": "443",
             "IpPermissions.1.IpRanges.1.CidrIp": "0.0.0.0/0"})
    target_sg = tag(call(p, {"Action": "CreateSecurityGroup", "GroupName": "backend", "GroupDescription": "b",
                             "VpcId": vpc}), "groupId")
    call(p, {"Action": "AuthorizeSecurityGroupIngress", "GroupId": target_sg, "IpPermissions.1.IpProtocol": "tcp",
             "IpPermissions.1.FromPort": "8080", "IpPermissions.1.ToPort": "8080",
             "IpPermissions.1.Groups.1.GroupId": lb_sg})
    eni = call(p, {"Action": "CreateNetworkInterface", "SubnetId": subnets[0], "SecurityGroupId.1": target_sg})
    target_ip = tag(eni, "privateIpAddress")
    leaf, chain, key = certificate(tmp)
    cert = json_call(p, "CertificateManager.ImportCertificate", {
        "Certificate": base64.b64encode(open(leaf, "rb").read()).decode(),
        "CertificateChain": base64.b64encode(open(chain, "rb").read()).decode(),
        "PrivateKey": base64.b64encode(open(key, "rb").read()).decode()})["CertificateArn"]
    lb = elb(p, {"Action": "CreateLoadBalancer", "Name": "bench-alb", "Subnets.member.1": subnets[0],
                 "Subnets.member.2": subnets[1], "SecurityGroups.member.1": lb_sg})
    lb_arn = tag(lb, "LoadBalancerArn")
    tg = tag(elb(p, {"Action": "CreateTargetGroup", "Name": "bench-backend", "Protocol": "HTTP", "Port": "8080",
                     "VpcId": vpc, "TargetType": "ip"}), "TargetGroupArn")
    elb(p, {"Action": "RegisterTargets", "TargetGroupArn": tg, "Targets.member.1.Id": target_ip})
    while "<Code>active</Code>" not in elb(p, {"Action": "DescribeLoadBalancers",
                                               "LoadBalancerArns.member.1": lb_arn}):
        time.sleep(0.05)
    elb(p, {"Action": "CreateListener", "LoadBalancerArn": lb_arn, "Protocol": "HTTPS", "Port": "443",
            "Certificates.member.1.CertificateArn": cert, "DefaultActions.member.1.Type": "forward",
            "DefaultActions.member.1.TargetGroupArn": tg})
    # Where the listener and the backend are on the fabric: the load balancer's public address,
    # and the target's loopback address in the VPC's slot (read from the listener log lines).
    listen, slot = None, None
    deadline = time.perf_counter() + 20
    while (listen is None or slot is None) and time.perf_counter() < deadline:
        time.sleep(0.1)
        for line in open(log):
            if "listener started" in line and "Lb {" in line:
                addr = json.loads(line)["fields"]["addr"]
                if addr.startswith("127.255."):
                    listen = addr
                else:
                    slot = addr.split(".")[1]
    if listen is None or slot is None:
        raise RuntimeError("the ALB listener did not start")
    o = target_ip.split(".")
    backend = f"127.{slot}.{o[2]}.{o[3]}:8080"
    body = os.path.join(tmp, "backend.html")
    with open(body, "w") as f:
        f.write("<html><body>" + "x" * 600 + "</body></html>\n")
    be = Server("backend", [os.environ["FIXED_BIN"], backend, body], 0)
    be.spawn()
    healthy = f"<State>healthy</State>"
    deadline = time.perf_counter() + 60
    while healthy not in elb(p, {"Action": "DescribeTargetHealth", "TargetGroupArn": tg}):
        if time.perf_counter() > deadline:
            raise RuntimeError("the backend never became healthy")
        time.sleep(0.1)
    ng_port = free_port()
    ng = nginx(tmp, ng_port, leaf, chain, key, f"""
    upstream backend {{
        server {backend};
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{ng_port} ssl;
        location / {{
            # Keep-alive to the backend, as the load balancer does.
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto https;
        }}
    }}
""")
    ng.spawn()
    wait_tcp(ng_port)
    https = {"airlock": [], "nginx": []}
    host, port = listen.rsplit(":", 1)
    for _ in range(runs):
        https["airlock"].append(wrk_url(f"https://{host}:{port}/", secs))
        https["nginx"].append(wrk_url(f"https://127.0.0.1:{ng_port}/", secs))
    ng.stop()
    be.stop()
    a.stop()
    row("HTTPS req/s through an ALB listener to one target (wrk, 8 keep-alive connections)",
        median(https["airlock"]), "nginx (upstream keep-alive)", median(https["nginx"]), "≥ 70% of nginx",
        "req/s", "share")


def vpn_rows(args, runs, secs, row):
    """HTTPS through a Client VPN tunnel against an `ssh -L` bastion tunnel: bench/vpn.py, which
    runs in a network namespace of its own, prints its medians as JSON on its last line."""
    argv = [sys.executable, os.path.join(HERE, "vpn.py"), "--runs", str(runs), "--seconds", str(secs)]
    out = subprocess.run(argv + (["--smoke"] if args.smoke else []), capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise RuntimeError(f"bench/vpn.py failed:\n{out.stdout[-2000:]}{out.stderr[-4000:]}")
    f = json.loads(out.stdout.strip().splitlines()[-1])
    via = "the same through ssh -L to a bastion"
    row("HTTPS req/s to a server in a private subnet through a Client VPN tunnel (stock openvpn, UDP; "
        "wrk, 8 keep-alive connections)", f["rps"]["vpn"], via, f["rps"]["ssh"], "≥ 50% of ssh -L", "req/s", "share")
    row(f"MB/s of one {f['size_mb']} MB HTTPS download (curl) from it through the Client VPN tunnel",
        f["mbps"]["vpn"], via, f["mbps"]["ssh"], "≥ 50% of ssh -L", "MB/s", "share")


def aws_client(service, port):
    import boto3
    from botocore.config import Config
    return boto3.client(service, endpoint_url=f"http://127.0.0.1:{port}", region_name=REGION,
                        aws_access_key_id="test", aws_secret_access_key="test",
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))


def s3_figures(port, n_small, n_big, big):
    """One boto3 client, sequential: PutObject and GetObject of 4 KB (req/s) and of `big` bytes
    (MB/s)."""
    c = aws_client("s3", port)
    c.create_bucket(Bucket="bench", CreateBucketConfiguration={"LocationConstraint": REGION})
    out = {}
    for name, size, n in (("small", 4096, n_small), ("big", big, n_big)):
        body = os.urandom(size)
        t0 = time.perf_counter()
        for i in range(n):
            c.put_object(Bucket="bench", Key=f"{name}/{i}", Body=body)
        put = time.perf_counter() - t0
        t0 = time.perf_counter()
        for i in range(n):
            if len(c.get_object(Bucket="bench", Key=f"{name}/{i}")["Body"].read()) != size:
                raise RuntimeError("GetObject returned another size")
        get = time.perf_counter() - t0
        out[name] = (n / put, n / get) if name == "small" else (n * size / 1e6 / put, n * size / 1e6 / get)
    return out


def s3_rows(args, tmp, runs, row, with_moto):
    """S3 against moto_server's, alternating; then Airlock's memory while a large object goes up."""
    n_small, n_big = (20, 2) if args.smoke else (500, 10)
    big = (1 << 20) if args.smoke else (16 << 20)
    figures = {"airlock": [], "moto": []}
    for r in range(runs):
        servers = [airlock(free_port(), data_dir=os.path.join(tmp, f"s3-{r}"))]
        servers += [moto(free_port())] if with_moto else []
        for s in servers:
            s.start()
            figures[s.name].append(s3_figures(s.port, n_small, n_big, big))
            s.stop()

    def med(name, size, i):
        xs = [f[size][i] for f in figures[name]]
        return median(xs) if xs else float("nan")
    mb = big >> 20
    for label, size, i, unit in (("PutObject 4 KB", "small", 0, "req/s"),
                                 ("GetObject 4 KB", "small", 1, "req/s"),
                                 (f"PutObject {mb} MB", "big", 0, "MB/s"),
                                 (f"GetObject {mb} MB", "big", 1, "MB/s")):
        row(f"S3 {label} (one boto3 client, sequential; Airlock with a data directory)",
            med("airlock", size, i), "moto_server", med("moto", size, i), "≥ moto", unit, "faster-rate")

    # Peak memory while one large object is uploaded from a file (spooled to disk, not held).
    size = (20 << 20) if args.smoke else (1 << 30)
    path = os.path.join(tmp, "large.bin")
    with open(path, "wb") as f:
        for _ in range(size >> 20):
            f.write(os.urandom(1 << 20))
    a = airlock(free_port(), data_dir=os.path.join(tmp, "s3-large"))
    a.start()
    c = aws_client("s3", a.port)
    c.create_bucket(Bucket="large", CreateBucketConfiguration={"LocationConstraint": REGION})
    peak = [a.rss_mb()]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], a.rss_mb())
            time.sleep(0.02)
    sampler = threading.Thread(target=sample)
    sampler.start()
    with open(path, "rb") as f:
        c.put_object(Bucket="large", Key="large.bin", Body=f)
    done.set()
    sampler.join()
    a.stop()
    os.remove(path)
    row(f"peak resident memory while a {size >> 20:,} MB object is uploaded (one PutObject)",
        peak[0], "—", float("nan"), "≤ 64 MB", "MB", "none")


def wait_tcp(port, timeout=20):
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def wrk_url(url, seconds):
    out = subprocess.run(["wrk", "-t2", "-c8", f"-d{seconds}s", "-H", "Host: bench.example.com", url],
                         capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if bad:
        raise RuntimeError(f"{url}: {bad.group(1)} non-2xx answers\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


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
    if subprocess.run(["unshare", "--net", "--mount", "true"], capture_output=True).returncode != 0:
        # Known before ten minutes of other rows: the Client VPN rows need a namespace (vpn.py).
        raise RuntimeError("the benchmark needs a network namespace of its own for the Client VPN rows: "
                           "unshare --net --mount (root or CAP_SYS_ADMIN)")
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

    # The cost of authorization: the same request signed by an IAM user with 10 attached
    # policies, on a server with --iam enforce (a) and one with --iam off, alternating.
    off = airlock(free_port(), extra=("--iam", "off"))
    off.start()
    users = {a.port: iam_user_with_policies(a.port), off.port: iam_user_with_policies(off.port)}
    authz = {a.port: [], off.port: []}
    for _ in range(runs):
        for s in [a, off]:
            req = ec2(s.port, {"Action": "DescribeAvailabilityZones"}, creds=users[s.port])
            authz[s.port].append(wrk(s.port, [req], secs)[0])
    off.stop()
    row("DescribeAvailabilityZones req/s as an IAM user with 10 attached policies, --iam enforce",
        median(authz[a.port]), "the same, --iam off", median(authz[off.port]), "within noise",
        "req/s", "share")

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

    # A connection flood: connections from 20 loopback addresses that each send one request and
    # hold on, past the API port's total cap (8,192); how fast a newcomer is answered meanwhile,
    # and the memory held during the flood and after it closes.
    a = airlock(free_port())
    a.start()
    before = a.rss_mb()
    n_flood = 400 if args.smoke else 10_000
    flood = []
    for i in range(n_flood):
        s = socket.socket()
        s.setsockopt(socket.SOL_IP, 24, 1)  # IP_BIND_ADDRESS_NO_PORT: no port search per bind
        s.bind((f"127.0.{1 + i * 20 // n_flood}.1", 0))
        s.connect(("127.0.0.1", a.port))
        s.sendall(b"GET /_airlock/health HTTP/1.1\r\nHost: x\r\n\r\n")
        flood.append(s)
    time.sleep(1)
    held = a.rss_mb()
    newcomer = latency_ms(a.port, ("GET", "/_airlock/health", {}, ""), 20)
    for s in flood:
        s.close()
    time.sleep(2)
    after = a.rss_mb()
    a.stop()
    row(f"a newcomer's /_airlock/health during a flood of {n_flood:,} connections (cap 8,192)",
        newcomer, "—", float("nan"), "answered, ≤ 5 ms", "ms", "none")
    row("resident memory held by that flood / after it closes", held, "after", after,
        f"bounded (idle: {before:.0f} MB)", "MB", "none")

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

    s3_rows(args, tmp, runs, row, with_moto)
    dns_rows(args, tmp, runs, secs, row)
    alb_rows(args, tmp, runs, secs, row)
    vpn_rows(args, runs, secs, row)
    cfn_rows(runs, row)
    console_rows(args, row)

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
