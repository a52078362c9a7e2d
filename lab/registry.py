"""The image registry: Debian's docker-registry (distribution 2.8), started by hand on 10.213.0.1:5000 (plain HTTP).

It plays Docker Hub, lscr.io and ghcr.io for the guests, which can reach nothing else: `up` pushes the lab's
images (images.py) into it with the registry HTTP API v2, and the guests' dockerd pulls them (it lists the
registry under insecure-registries). Its storage (REGISTRY_STORAGE) is a cache kept across `down`, so a second
`up` pushes nothing; config, pid file and log live in REGISTRY_DIR. Deleting is disabled.
"""

import json
import os
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from . import images, topology
from .shell import (
    LabError,
    find_processes,
    say,
    spawn_daemon,
    stop_daemon,
    tcp_open,
    wait_until,
    write_file,
)

STEP = "registry"
BINARY = "/usr/bin/docker-registry"
CONFIG = os.path.join(topology.REGISTRY_DIR, "config.yml")
PID_FILE = os.path.join(topology.REGISTRY_DIR, "registry.pid")
LOG_FILE = os.path.join(topology.REGISTRY_DIR, "registry.log")
MANIFEST_TYPES = ", ".join([images.MANIFEST_TYPE, "application/vnd.oci.image.manifest.v1+json"])

# Lab addresses are never to go through a proxy from the environment (http_proxy and friends).
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def address():
    host, port = topology.REGISTRY.rsplit(":", 1)
    return host, int(port)


def config_text():
    """docker-registry's configuration (YAML; the strings are JSON-quoted, which YAML reads the same)."""
    return "\n".join([
        "# docker-registry for the lab (python -m lab up); generated, do not edit.",
        "version: 0.1",
        "log:",
        "  level: warn",
        "  accesslog:",
        "    disabled: true",
        "storage:",
        "  filesystem:",
        "    rootdirectory: " + json.dumps(topology.REGISTRY_STORAGE),
        "  delete:",
        "    enabled: false",
        "  cache:",
        "    blobdescriptor: inmemory",
        "http:",
        "  addr: " + json.dumps(topology.REGISTRY),
        # Signs the upload state between the POST and the PUT of a blob. A fixed one keeps the registry from
        # warning that it made up its own; the registry is plain HTTP without auth anyway.
        '  secret: "mediabox-lab-registry"',
        "",
    ])


def is_ours(argv):
    """True for a docker-registry started by this lab (its config is the lab's)."""
    return bool(argv) and os.path.basename(argv[0]) == "docker-registry" and CONFIG in argv


def running_pids():
    """PIDs of the lab's docker-registry processes."""
    return find_processes(is_ours)


# ----------------------------------------------------------------------------- the HTTP API v2

def request(method, path, data=None, headers=None, timeout=30):
    """(status, headers, body) of a request to the registry; HTTP errors are returned, not raised."""
    url = path if path.startswith("http") else topology.REGISTRY_URL + path
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, err.headers, err.read()
    except (urllib.error.URLError, OSError) as exc:
        raise LabError(STEP, f"{method} {url}: {getattr(exc, 'reason', exc)}") from None


def answers():
    """True when the registry answers GET /v2/ with 200."""
    try:
        return request("GET", "/v2/", timeout=2)[0] == 200
    except LabError:
        return False


def manifest_digest(repository, tag):
    """The digest of repository:tag in the registry, or None when it is not there."""
    status, headers, _ = request("HEAD", f"/v2/{repository}/manifests/{tag}", headers={"Accept": MANIFEST_TYPES})
    if status == 200:
        return headers.get("Docker-Content-Digest") or "?"
    if status == 404:
        return None
    raise LabError(STEP, f"HEAD /v2/{repository}/manifests/{tag}: HTTP {status}")


def _check(status, expected, what, body):
    if status != expected:
        raise LabError(STEP, f"{what}: HTTP {status} (expected {expected}): {body[:300].decode(errors='replace')}")


def push_blob(repository, digest, size, path=None, data=None):
    """Upload one blob (monolithic: POST an upload, then PUT it whole with ?digest=), unless it is there.

    Returns True when it was uploaded.
    """
    if request("HEAD", f"/v2/{repository}/blobs/{digest}")[0] == 200:
        return False
    status, headers, body = request("POST", f"/v2/{repository}/blobs/uploads/", data=b"")
    _check(status, 202, f"starting the upload of {digest} to {repository}", body)
    location = headers["Location"]
    location += ("&" if "?" in location else "?") + "digest=" + digest
    upload_headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
    if path is not None:
        with open(path, "rb") as src:
            status, _, body = request("PUT", location, data=src, headers=upload_headers, timeout=600)
    else:
        status, _, body = request("PUT", location, data=data, headers=upload_headers)
    _check(status, 201, f"uploading {digest} to {repository}", body)
    return True


def push(repository, tag, built):
    """Push a built image (images.Built): its layer, its config, then the manifest under tag."""
    push_blob(repository, built.layer_digest, built.layer_size, path=built.layer)
    push_blob(repository, built.config_digest, len(built.config), data=built.config)
    status, _, body = request("PUT", f"/v2/{repository}/manifests/{tag}", data=built.manifest,
                              headers={"Content-Type": images.MANIFEST_TYPE})
    _check(status, 201, f"putting the manifest {repository}:{tag}", body)


def catalog():
    """The repositories the registry holds."""
    status, _, body = request("GET", "/v2/_catalog")
    _check(status, 200, "GET /v2/_catalog", body)
    return json.loads(body).get("repositories") or []


# ----------------------------------------------------------------------------- managing it from `up` / `down`

def ensure():
    """Start docker-registry unless the lab's instance already runs and answers. Returns its PID."""
    host, port = address()
    for path in (topology.REGISTRY_DIR, topology.REGISTRY_STORAGE):
        os.makedirs(path, exist_ok=True)
    changed = write_file(CONFIG, config_text())
    pids = running_pids()
    if pids and changed:
        stop()
        pids = []
    if pids and answers():
        write_file(PID_FILE, f"{pids[0]}\n")
        say(STEP, f"ok (already running: pid {pids[0]}, {topology.REGISTRY_URL}, storage {topology.REGISTRY_STORAGE})")
        return pids[0]
    if pids:
        stop()
    if tcp_open(host, port):
        raise LabError(STEP, f"{topology.REGISTRY} is taken by something that is not the lab's docker-registry")
    pid = spawn_daemon([BINARY, "serve", CONFIG], LOG_FILE, PID_FILE)
    try:
        wait_until(STEP, f"docker-registry to answer on {topology.REGISTRY_URL}/v2/", answers, timeout=15)
    except LabError:
        stop()
        raise LabError(STEP, f"docker-registry did not come up; see {LOG_FILE}") from None
    say(STEP, f"started docker-registry (pid {pid}) on {topology.REGISTRY_URL}, storage {topology.REGISTRY_STORAGE}")
    return pid


def stop():
    """Stop the lab's docker-registry (pid file first, then any other instance using the lab's config)."""
    stop_daemon(STEP, "docker-registry", PID_FILE, is_ours)


def ensure_images():
    """Every lab image in the registry under its recipe's tag; one line per image. Returns {name: ref}.

    An image already in the registry is left alone (HEAD of its manifest). Otherwise its cached build is pushed,
    or it is built first (missing builds run side by side: most of mmdebstrap's time is waiting).
    """
    refs = images.refs()
    missing = [name for name in refs if not manifest_digest(images.repository(name), images.tag(name))]
    for name in refs:
        if name not in missing:
            say(images.STEP, f"ok ({refs[name]} is in the registry)")

    def build_and_push(name):
        built, what = images.ensure_built(name)
        started = time.monotonic()
        push(images.repository(name), images.tag(name), built)
        say(images.STEP, f"{refs[name]}: {what} ({built.layer_size / 1024 ** 2:.0f} MB layer), "
                         f"pushed in {time.monotonic() - started:.1f} s")

    if missing:
        with ThreadPoolExecutor(max_workers=len(missing)) as pool:
            for future in [pool.submit(build_and_push, name) for name in missing]:
                future.result()
    return refs
