"""HTTPS to a server in a VPC through a Client VPN tunnel (Debian's stock OpenVPN client with the
exported configuration) against the same through an `ssh -L` tunnel to a bastion, in one run,
alternating: requests per second (wrk, 8 keep-alive connections) and MB/s of one download (curl).

The server is nginx with TLS on a network interface's address in a private subnet (its fabric
loopback address), so both paths carry the same end-to-end HTTPS and only the tunnels differ:
OpenVPN → Airlock's data channel and userspace TCP/IP → the fabric, against OpenSSH → Airlock's
SSH server → the fabric.

OpenVPN routes the VPC's private addresses into its tun device, so everything here runs in a
network and mount namespace of its own (`unshare --net --mount`: loopback and the tun device
only; the script re-executes itself there), with Airlock (its DNS on 127.0.0.1:53, which the
namespace's resolv.conf names), nginx and both clients inside it. It needs root (or
CAP_SYS_ADMIN) for that, and fails when it cannot have it. `bench.py` runs it as one of its rows
and reads the JSON it prints last; alone:

    sudo env AIRLOCK_BIN=target/release/airlock python3 bench/vpn.py [--smoke]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import Server, airlock, aws_client, certificate, free_port, median, nginx, wait_tcp, wrk_url  # noqa: E402

SSH_OPTS = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
            "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o", "ExitOnForwardFailure=yes"]


def until(what, ready, timeout=60):
    deadline = time.perf_counter() + timeout
    while not ready():
        if time.perf_counter() > deadline:
            raise RuntimeError(f"timed out waiting until {what}")
        time.sleep(0.1)


def vpn_certificates(d):
    """The tutorial's certificates, made with openssl as easy-rsa makes them: a CA, a server
    certificate and a client certificate it issued. Returns {name: (cert, key)} file contents."""
    def openssl(*a):
        subprocess.run(["openssl", *a], check=True, capture_output=True, cwd=d)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
            "-days", "30", "-subj", "/CN=Easy-RSA CA")
    for name, usage in (("server", "serverAuth"), ("client1.domain.tld", "clientAuth")):
        with open(os.path.join(d, f"{name}.ext"), "w") as f:
            f.write("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                    f"extendedKeyUsage={usage}\nsubjectAltName=DNS:{name}\n")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN={name}")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", "30", "-extfile", f"{name}.ext", "-out", f"{name}.crt")

    def read(n):
        with open(os.path.join(d, n), "rb") as f:
            return f.read()
    return {n: (read(f"{n}.crt"), read(f"{n}.key")) for n in ("ca", "server", "client1.domain.tld")}


def download(url, size):
    """MB/s of one HTTPS download of `size` bytes with curl (a fresh connection)."""
    out = subprocess.run(["curl", "-sSfk", "-o", "/dev/null", "-w", "%{size_download} %{speed_download}", url],
                         capture_output=True, text=True, timeout=300, check=True).stdout.split()
    if int(out[0]) != size:
        raise RuntimeError(f"{url}: {out[0]} bytes, not {size}")
    return float(out[1]) / 1e6


def measure(args):
    tmp = tempfile.mkdtemp(prefix="airlock-bench-vpn-")
    os.chmod(tmp, 0o755)  # nginx's workers (not root) serve files from it
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    resolv = os.path.join(tmp, "resolv.conf")
    with open(resolv, "w") as f:
        f.write("nameserver 127.0.0.1\n")
    subprocess.run(["mount", "--bind", resolv, "/etc/resolv.conf"], check=True)
    log = os.path.join(tmp, "airlock.log")
    a = airlock(free_port(), time_scale="0.002", dns_port=53, log=log)
    a.start()
    ec2, acm = aws_client("ec2", a.port), aws_client("acm", a.port)

    # The network: a VPC with a public subnet (the bastion's) and two private ones (the Client
    # VPN endpoint's target networks); the server's interface in the first private one, its group
    # admitting 443 from the endpoint's group and the bastion's.
    vpc = ec2.create_vpc(CidrBlock="10.60.0.0/16")["Vpc"]["VpcId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=rt, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)

    def subnet(cidr, zone):
        return ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=zone)["Subnet"]["SubnetId"]
    public = subnet("10.60.0.0/24", "us-west-2a")
    ec2.associate_route_table(RouteTableId=rt, SubnetId=public)
    private = [subnet("10.60.1.0/24", "us-west-2a"), subnet("10.60.2.0/24", "us-west-2b")]

    def group(name, *rules):
        gid = ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]
        if rules:
            ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=list(rules))
        return gid
    vpn_sg = group("client-vpn")
    bastion_sg = group("bastion", {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                                   "IpRanges": [{"CidrIp": "0.0.0.0/0"}]})
    web_sg = group("web", {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                           "UserIdGroupPairs": [{"GroupId": vpn_sg}, {"GroupId": bastion_sg}]})
    web_ip = ec2.create_network_interface(SubnetId=private[0], Groups=[web_sg])["NetworkInterface"]["PrivateIpAddress"]

    # The bastion: a key pair, an instance with a public address in the public subnet.
    key = os.path.join(tmp, "bastion.pem")
    with open(key, "w") as f:
        f.write(ec2.create_key_pair(KeyName="bastion")["KeyMaterial"])
    os.chmod(key, 0o600)
    instance = ec2.run_instances(ImageId="ami-0123456789abcdef0", InstanceType="t3.micro", KeyName="bastion",
                                 MinCount=1, MaxCount=1,
                                 NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": public, "Groups": [bastion_sg],
                                                     "AssociatePublicIpAddress": True}])["Instances"][0]["InstanceId"]

    def bastion():
        return ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    until("the bastion is running", lambda: bastion()["State"]["Name"] == "running")
    bastion_ip = bastion()["PublicIpAddress"]

    # The Client VPN endpoint with mutual authentication on both private subnets, as the tutorial
    # makes it, and the exported configuration with the client's certificate and key appended.
    certs = os.path.join(tmp, "vpn")
    os.mkdir(certs)
    pki = vpn_certificates(certs)
    ca = pki["ca"][0]
    server_arn = acm.import_certificate(Certificate=pki["server"][0], PrivateKey=pki["server"][1],
                                        CertificateChain=ca)["CertificateArn"]
    client_arn = acm.import_certificate(Certificate=pki["client1.domain.tld"][0],
                                        PrivateKey=pki["client1.domain.tld"][1], CertificateChain=ca)["CertificateArn"]
    cvpn = ec2.create_client_vpn_endpoint(
        ClientCidrBlock="10.100.0.0/22", ServerCertificateArn=server_arn,
        AuthenticationOptions=[{"Type": "certificate-authentication",
                                "MutualAuthentication": {"ClientRootCertificateChainArn": client_arn}}],
        ConnectionLogOptions={"Enabled": False}, SplitTunnel=True, VpcId=vpc,
        SecurityGroupIds=[vpn_sg])["ClientVpnEndpointId"]
    for s in private:
        ec2.associate_client_vpn_target_network(ClientVpnEndpointId=cvpn, SubnetId=s)
    ec2.authorize_client_vpn_ingress(ClientVpnEndpointId=cvpn, TargetNetworkCidr="10.60.0.0/16",
                                     AuthorizeAllGroups=True)
    until("the endpoint is available", lambda: ec2.describe_client_vpn_endpoints(
        ClientVpnEndpointIds=[cvpn])["ClientVpnEndpoints"][0]["Status"]["Code"] == "available")
    until("the authorization rule is active", lambda: ec2.describe_client_vpn_authorization_rules(
        ClientVpnEndpointId=cvpn)["AuthorizationRules"][0]["Status"]["Code"] == "active")
    config = os.path.join(tmp, "client.ovpn")
    with open(config, "w") as f:
        f.write(ec2.export_client_vpn_client_configuration(ClientVpnEndpointId=cvpn)["ClientConfiguration"])
        cert, key_pem = pki["client1.domain.tld"]
        f.write(f"<cert>\n{cert.decode()}</cert>\n<key>\n{key_pem.decode()}</key>\n")

    # The server: nginx with TLS on the interface's fabric address (the VPC's slot, read from
    # the log line of a listener Airlock started in it), a small page and a large file.
    def slot():
        for line in open(log):
            if "listener started" in line:
                addr = json.loads(line)["fields"]["addr"]
                if not addr.startswith("127.255."):
                    return addr.split(".")[1]
    until("Airlock reports a listener in the VPC", lambda: slot() is not None)
    o = web_ip.split(".")
    listen = f"127.{slot()}.{o[2]}.{o[3]}:443"
    www = os.path.join(tmp, "www")
    os.mkdir(www)
    with open(os.path.join(www, "index.html"), "w") as f:
        f.write("<html><body>" + "x" * 600 + "</body></html>\n")
    size = (4 << 20) if args.smoke else (64 << 20)
    with open(os.path.join(www, "big.bin"), "wb") as f:
        for _ in range(size >> 20):
            f.write(os.urandom(1 << 20))
    leaf, chain, leaf_key = certificate(tmp)
    nginx(tmp, 443, leaf, chain, leaf_key, f"""
    server {{
        listen {listen} ssl;
        root {www};
    }}
""").spawn()

    # The two tunnels.
    ovpn_log = os.path.join(tmp, "openvpn.log")
    openvpn = shutil.which("openvpn") or "/usr/sbin/openvpn"
    vpn = Server("openvpn", [openvpn, "--config", config, "--log", ovpn_log], 0)
    vpn.spawn()
    until("the OpenVPN client connects", lambda: os.path.exists(ovpn_log) and
          "Initialization Sequence Completed" in open(ovpn_log).read())
    fwd = free_port()
    Server("ssh", ["ssh", *SSH_OPTS, "-i", key, "-N", "-L", f"127.0.0.1:{fwd}:{web_ip}:443",
                   f"ec2-user@{bastion_ip}"], 0).spawn()
    wait_tcp(fwd)

    runs = 1 if args.smoke else args.runs
    secs = 1 if args.smoke else args.seconds
    figures = {"rps": {"vpn": [], "ssh": []}, "mbps": {"vpn": [], "ssh": []}}
    for _ in range(runs):
        for path, base in (("vpn", f"https://{web_ip}"), ("ssh", f"https://127.0.0.1:{fwd}")):
            figures["rps"][path].append(wrk_url(f"{base}/", secs))
            figures["mbps"][path].append(download(f"{base}/big.bin", size))
    shutil.rmtree(tmp, ignore_errors=True)
    return {"size_mb": size >> 20, **{k: {p: median(xs) for p, xs in v.items()} for k, v in figures.items()}}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--seconds", type=int, default=5)
    args = p.parse_args()
    if not os.environ.get("AIRLOCK_BENCH_NETNS"):
        # Into a network and mount namespace of its own, or not at all.
        if subprocess.run(["unshare", "--net", "--mount", "true"], capture_output=True).returncode != 0:
            sys.exit("bench/vpn.py needs its own network namespace: unshare --net --mount (root or CAP_SYS_ADMIN)")
        os.execvp("unshare", ["unshare", "--net", "--mount", "env", "AIRLOCK_BENCH_NETNS=1", sys.executable,
                              os.path.abspath(__file__), *sys.argv[1:]])
    try:
        figures = measure(args)
    finally:
        for s in reversed(Server.started):
            s.stop()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
