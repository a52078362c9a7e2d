#!/usr/bin/python3
"""mediabox lab stand-in for an app image the lab cannot pull (/usr/local/bin/standin in mediabox-lab/standin).

It answers 200 with {"status": "ok", "standin": true} to GET and HEAD of any path on every port in STANDIN_PORTS
(a comma list; the image bakes in every container port of the service catalog, so set it to the one port of the
service a container plays). A port it cannot bind (taken, or below 1024 for a non-root user) is skipped with a
message; with no port bound it exits 1.

With VPN_SERVICE_PROVIDER set it plays gluetun: it makes tun0 (10.64.0.2/32, up, held open like a VPN client
does; the container needs NET_ADMIN and /dev/net/tun) and serves only port 8000, gluetun's control server, so the
apps that share its network namespace keep their own ports.

The ports it bound go to /run/standin.ports, one a line, for standin-health.
Only python3-minimal is in the image: no http.server and no json, hence the raw HTTP below.
"""

import fcntl
import os
import signal
import socket
import struct
import subprocess
import sys
import threading

BODY = b'{"status": "ok", "standin": true}\n'
PORTS_FILE = "/run/standin.ports"
VPN_PORT = 8000
TUN_NAME, TUN_ADDRESS = "tun0", "10.64.0.2/32"
TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454CA, 0x0001, 0x1000


def log(message):
    print(f"standin: {message}", file=sys.stderr, flush=True)


def ports_from_env():
    ports = set()
    for item in os.environ.get("STANDIN_PORTS", "").split(","):
        if item.strip():
            ports.add(int(item))
    return sorted(ports)


def make_tun():
    """tun0 as gluetun makes it; returns the open tun fd (keeps the link's carrier up while this runs)."""
    def ip(*args):
        subprocess.run(["ip", *args], check=True)

    if subprocess.run(["ip", "link", "show", TUN_NAME], capture_output=True).returncode != 0:
        ip("tuntap", "add", "dev", TUN_NAME, "mode", "tun")
    if TUN_ADDRESS.split("/")[0] not in subprocess.run(["ip", "-o", "addr", "show", "dev", TUN_NAME],
                                                       capture_output=True, text=True).stdout:
        ip("addr", "add", TUN_ADDRESS, "dev", TUN_NAME)
    ip("link", "set", TUN_NAME, "up")
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", TUN_NAME.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def listen(port):
    """A socket listening on every address: dual-stack IPv6 when the container has it, else IPv4."""
    try:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError:
        sock = None
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("::", port))
            sock.listen(64)
            return sock
        except OSError:
            sock.close()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("0.0.0.0", port))
        sock.listen(64)
    except OSError:
        sock.close()
        raise
    return sock


def answer(conn):
    with conn:
        try:
            conn.settimeout(10)
            request = b""
            while b"\r\n\r\n" not in request and b"\n\n" not in request and len(request) < 65536:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                request += chunk
            words = request.split(b"\n", 1)[0].split()
            method = words[0] if words else b""
            if method in (b"GET", b"HEAD"):
                status, body = b"200 OK", BODY
            else:
                status, body = b"405 Method Not Allowed", b'{"status": "method not allowed", "standin": true}\n'
            head = (b"HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                    b"Server: mediabox-lab-standin\r\nConnection: close\r\n\r\n" % (status, len(body)))
            conn.sendall(head if method == b"HEAD" else head + body)
        except OSError:
            pass


def serve(sock):
    while True:
        try:
            conn, _ = sock.accept()
        except OSError:
            continue
        threading.Thread(target=answer, args=(conn,), daemon=True).start()


def main():
    # PID 1 gets no default signal actions: without these `docker stop` waits its full timeout.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: os._exit(0))
    vpn = bool(os.environ.get("VPN_SERVICE_PROVIDER"))
    if vpn:
        try:
            make_tun()  # its fd stays open until exit (an os.open fd is never closed behind our back)
        except (OSError, subprocess.CalledProcessError) as exc:
            log(f"cannot make {TUN_NAME} (does the container have NET_ADMIN and /dev/net/tun?): {exc}")
            return 1
        log(f"playing the VPN ({os.environ['VPN_SERVICE_PROVIDER']}): {TUN_NAME} {TUN_ADDRESS} is up")
    wanted = [VPN_PORT] if vpn else ports_from_env()
    bound = []
    for port in wanted:
        try:
            sock = listen(port)
        except OSError as exc:
            log(f"skipping port {port}: {exc}")
            continue
        threading.Thread(target=serve, args=(sock,), daemon=True).start()
        bound.append(port)
    if not bound:
        log("no port to serve (STANDIN_PORTS is empty or every port is taken)")
        return 1
    try:
        with open(PORTS_FILE, "w") as out:
            out.write("".join(f"{port}\n" for port in bound))
    except OSError as exc:
        log(f"cannot write {PORTS_FILE}: {exc}")
    log("answering on port(s) {}".format(", ".join(map(str, bound))))
    while True:
        signal.pause()


if __name__ == "__main__":
    sys.exit(main())
