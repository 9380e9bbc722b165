#!/usr/bin/env python3
"""Writes fuzz/seeds/ssh_preauth/openssh-kexinit: what the local OpenSSH client sends a server
before the key exchange (identification line and KEXINIT), captured on a loopback socket.
Run: `python3 fuzz/seeds/capture_ssh.py fuzz/seeds/ssh_preauth/openssh-kexinit`."""
import socket, subprocess, struct, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
port = s.getsockname()[1]
p = subprocess.Popen(["ssh", "-p", str(port), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                      "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "ec2-user@127.0.0.1"],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
c, _ = s.accept()
c.sendall(b"SSH-2.0-Airlock_bastion\r\n")
buf = b""
while b"\r\n" not in buf:
    buf += c.recv(4096)
line, rest = buf.split(b"\r\n", 1)
buf = rest
while len(buf) < 4 or len(buf) < 4 + struct.unpack(">I", buf[:4])[0]:
    buf += c.recv(4096)
n = struct.unpack(">I", buf[:4])[0]
open(sys.argv[1], "wb").write(line + b"\r\n" + buf[:4 + n])
c.close(); p.kill()
