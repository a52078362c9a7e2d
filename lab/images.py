"""The lab's container images, built without Docker: mmdebstrap rootfs tarballs turned into one-layer images.

The guests cannot pull from Docker Hub, lscr.io or ghcr.io, so the media stack runs these instead, pulled from
the lab's registry (registry.py):

- mediabox-lab/qbittorrent: Debian's qbittorrent-nox behind linuxserver/qbittorrent's interface (PUID, PGID, TZ,
  UMASK, WEBUI_PORT; /config/qBittorrent/qBittorrent.conf), started by imagefiles/qbittorrent-entrypoint;
- mediabox-lab/redis: Debian's redis-server, data in /data;
- mediabox-lab/appfake: the apps' stateful, spec-validating fakes (lab/fakes, run as `python3 -m fakes` with
  FAKE_APP and FAKE_PORT), with the published specs they check against and openapi-core with its dependencies,
  copied from this machine's virtualenv (the same Python 3.11 as Debian 12's);
- mediabox-lab/standin: imagefiles/standin.py, a tiny HTTP server answering on the apps' ports (or, with
  VPN_SERVICE_PROVIDER set, a gluetun stand-in with a tun0), for every app image the lab has no fake of.

An image is built by streaming `mmdebstrap --variant=minbase` (tar on stdout, through the apt proxy) into a layer:
leading "./" dropped, /dev left empty, the build machine's hostname, resolv.conf and apt proxy setting left out,
the recipe's files and folders added, gzip at level GZIP_LEVEL. The image config and the schema-2 manifest are
written here as JSON. Its tag is a hash of everything that goes into it (RECIPE_VERSION, packages, files, config),
so a changed recipe is a new tag. The build (layer.tar.gz, layer.json, config.json, manifest.json) is cached in
IMAGE_CACHE_DIR/<name>-<tag>/; a new tag whose layer would be the same (only the config changed) reuses the layer.

Standard library only (tarfile, gzip, hashlib, json); imports mediabox.catalog for the standin's ports, and
importlib.metadata and packaging for the fakes' dependencies.
"""

import functools
import gzip
import hashlib
import io
import json
import os
import platform
import shutil
import subprocess
import tarfile
import threading
import time
from dataclasses import dataclass

from . import rootfs, topology
from .shell import LabError, tail

STEP = "image"
FILES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "imagefiles")

# Bump when the build itself (not the recipes below) changes what an image holds, to force new tags.
RECIPE_VERSION = 1
# gzip level of the layers: they only travel over the lab bridge. For the standin's 106 MB tar, level 1 takes
# 1.7 s (42 MB) and level 6 5.5 s (38 MB).
GZIP_LEVEL = 1
BUILD_TIMEOUT = 1200

MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_TYPE = "application/vnd.docker.container.image.v1+json"
LAYER_TYPE = "application/vnd.docker.image.rootfs.diff.tar.gzip"

PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SECOND = 1_000_000_000  # Docker's Healthcheck durations are nanoseconds
# Leave out what rootfs.py leaves out, and info pages and lintian overrides too.
DPKG_OPTIONS = rootfs.DPKG_OPTIONS + ["path-exclude=/usr/share/info/*", "path-exclude=/usr/share/lintian/*"]
# Left out of every layer (paths without the leading "/"): Docker bind-mounts its own hostname and resolv.conf,
# and mmdebstrap copies the build machine's; 99mmdebstrap holds the build's apt proxy.
DROPPED_FILES = ("etc/hostname", "etc/resolv.conf", "etc/apt/apt.conf.d/99mmdebstrap")
# merged-/usr set up as debootstrap does (symlinks, then usr-is-merged). Without it apt satisfies
# init-system-helpers' "usrmerge | usr-is-merged" with usrmerge, which pulls in all of perl (45 MB).
MMDEBSTRAP_HOOK_DIR = "/usr/share/mmdebstrap/hooks/merged-usr"
# Ports the standin serves besides the catalog's: Elasticsearch's, and 80 (a common inner port).
STANDIN_EXTRA_PORTS = (9200, 80)


def healthcheck(test):
    """Docker's config.Healthcheck: the same timing for every lab image."""
    return {"Test": test, "Interval": 10 * SECOND, "Timeout": 5 * SECOND, "StartPeriod": 20 * SECOND, "Retries": 3}


def standin_ports():
    """Every container port of the service catalog (container_port when it has one, else port), plus extras."""
    try:
        from mediabox.catalog import SERVICES
    except ImportError as exc:
        raise LabError(STEP, f"cannot import mediabox.catalog (run the lab from the repository root): {exc}") from None
    ports = {getattr(svc, "container_port", None) or svc.port for svc in SERVICES.values()}
    return sorted((ports - {None}) | set(STANDIN_EXTRA_PORTS))


APPFAKE_DIR = "/opt/appfake"
APPFAKE_REQUIREMENT = "openapi-core"


def _python_closure(requirement):
    """The installed distributions `requirement` needs (itself included), by walking their metadata."""
    from importlib import metadata

    from packaging.requirements import Requirement
    found, todo = {}, [requirement]
    while todo:
        dist = metadata.distribution(todo.pop())
        key = dist.metadata["Name"].lower()
        if key in found:
            continue
        found[key] = dist
        for line in dist.requires or []:
            req = Requirement(line)
            if not req.marker or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return [found[key] for key in sorted(found)]


def appfake_files():
    """(image path, host path, mode) of the fakes, their specs and their Python dependencies."""
    from lab.fakes import audiobookshelf, jellyfin, seerr
    from lab.fakes.openapi import specs_dir
    from lab.fakes.servarr import PROFILES
    fakes_dir = os.path.join(os.path.dirname(FILES_DIR), "fakes")
    files = [(f"{APPFAKE_DIR}/fakes/{name}", os.path.join(fakes_dir, name), 0o644)
             for name in sorted(os.listdir(fakes_dir)) if name.endswith(".py")]
    # The specs written here for apps that publish none (each says what it was written from).
    files += [(f"{APPFAKE_DIR}/fakes/specs/{name}", os.path.join(fakes_dir, "specs", name), 0o644)
              for name in sorted(os.listdir(os.path.join(fakes_dir, "specs")))]
    files += [(f"{APPFAKE_DIR}/specs/{spec}", str(specs_dir() / spec), 0o644)
              for spec in sorted({profile.spec for profile in PROFILES.values()}
                                 | {module.SPEC for module in (audiobookshelf, jellyfin, seerr)})]
    for dist in _python_closure(APPFAKE_REQUIREMENT):
        for entry in dist.files or []:
            relative = str(entry)
            if relative.startswith("..") or "__pycache__" in relative:
                continue
            files.append((f"{APPFAKE_DIR}/lib/{relative}", str(dist.locate_file(entry)), 0o644))
    return files


def _parents(paths, below):
    """Every folder between `below` (included) and the paths, parents first."""
    folders = set()
    for path in paths:
        folder = os.path.dirname(path)
        while len(folder) >= len(below):
            folders.add(folder)
            folder = os.path.dirname(folder)
    return [(folder, 0o755) for folder in sorted(folders)]


def architecture():
    """The build machine's architecture, as Docker names it (the images hold its Debian packages)."""
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}.get(machine, machine)


@functools.lru_cache(maxsize=1)
def recipes():
    """Each image's recipe: packages, files (path, imagefiles source, mode), folders, description and config."""
    ports = standin_ports()
    return {
        "qbittorrent": dict(
            packages=["qbittorrent-nox", "curl", "ca-certificates", "tzdata"],
            files=[("/usr/local/bin/qbittorrent-entrypoint", "qbittorrent-entrypoint", 0o755)],
            dirs=[("/config", 0o755), ("/data", 0o755)],
            description="mediabox lab stand-in: Debian's qbittorrent-nox with linuxserver/qbittorrent's interface "
                        "(PUID, PGID, TZ, UMASK, WEBUI_PORT; /config/qBittorrent/qBittorrent.conf)",
            config={
                "Env": [PATH, "HOME=/config", "XDG_CONFIG_HOME=/config", "XDG_DATA_HOME=/config", "LANG=C.UTF-8",
                        "PUID=1000", "PGID=1000", "WEBUI_PORT=8080"],
                "Entrypoint": ["/usr/local/bin/qbittorrent-entrypoint"],
                "ExposedPorts": {"8080/tcp": {}, "6881/tcp": {}, "6881/udp": {}},
                "Healthcheck": healthcheck(["CMD-SHELL", "curl -fsS -o /dev/null http://localhost:${WEBUI_PORT:-8080}/"]),
                "WorkingDir": "/",
            }),
        "redis": dict(
            packages=["redis-server", "redis-tools"],
            files=[],
            dirs=[("/data", 0o755)],
            description="mediabox lab stand-in: Debian's redis-server, data in /data",
            config={
                "Env": [PATH],
                "Cmd": ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--dir", "/data",
                        "--save", "60", "1"],
                "ExposedPorts": {"6379/tcp": {}},
                "Healthcheck": healthcheck(["CMD-SHELL", "redis-cli ping | grep PONG"]),
                "WorkingDir": "/data",
            }),
        "appfake": dict(
            packages=["python3", "curl", "wget"],  # the apps' healthchecks use one or the other
            files=(fake_files := appfake_files()),
            dirs=_parents([path for path, _, _ in fake_files], APPFAKE_DIR),
            description="mediabox lab fakes of the apps the lab cannot run (FAKE_APP names one: python3 -m fakes "
                        "lists them), validated against the apps' published OpenAPI specs",
            config={
                "Env": [PATH, "LANG=C.UTF-8", "PYTHONDONTWRITEBYTECODE=1",
                        f"PYTHONPATH={APPFAKE_DIR}/lib:{APPFAKE_DIR}", f"MEDIABOX_SPECS={APPFAKE_DIR}/specs"],
                "Entrypoint": ["python3", "-m", "fakes"],
                "Healthcheck": healthcheck(["CMD-SHELL", "curl -fsS -o /dev/null http://localhost:${FAKE_PORT}/ping"]),
                "WorkingDir": "/",
            }),
        "standin": dict(
            packages=["python3-minimal", "curl", "wget", "iproute2"],
            files=[("/usr/local/bin/standin", "standin.py", 0o755),
                   ("/usr/local/bin/standin-health", "standin-health", 0o755),
                   # Written at start by whatever user the container runs as.
                   ("/run/standin.ports", None, 0o666)],
            dirs=[],
            description="mediabox lab stand-in: answers HTTP 200 on the apps' ports (STANDIN_PORTS); "
                        "with VPN_SERVICE_PROVIDER set, plays gluetun (tun0, port 8000)",
            config={
                "Env": [PATH, "STANDIN_PORTS=" + ",".join(map(str, ports))],
                "Entrypoint": ["/usr/local/bin/standin"],
                "ExposedPorts": {f"{port}/tcp": {} for port in ports},
                "Healthcheck": healthcheck(["CMD", "/usr/local/bin/standin-health"]),
                "WorkingDir": "/",
            }),
    }


def file_bytes(source):
    if source is None:
        return b""
    with open(os.path.join(FILES_DIR, source), "rb") as src:
        return src.read()


def _hash(value):
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


@functools.cache
def layer_key(name):
    """A hash of everything that goes into the image's layer (not its config)."""
    recipe = recipes()[name]
    files = [(path, mode, hashlib.sha256(file_bytes(source)).hexdigest()) for path, source, mode in recipe["files"]]
    return _hash({
        "version": RECIPE_VERSION, "suite": topology.SUITE, "arch": architecture(), "packages": recipe["packages"],
        "hooks": MMDEBSTRAP_HOOK_DIR, "dpkg": DPKG_OPTIONS, "dropped": DROPPED_FILES, "dirs": recipe["dirs"],
        "files": files,
    })


@functools.cache
def tag(name):
    """A short hash of everything that goes into the image: its layer and its config."""
    recipe = recipes()[name]
    return _hash({"name": name, "layer": layer_key(name), "description": recipe["description"],
                  "config": recipe["config"]})[:12]


def repository(name):
    return f"{topology.IMAGE_NAMESPACE}/{name}"


def refs():
    """{name: "10.213.0.1:5000/mediabox-lab/<name>:<tag>"} for every lab image (topology.LAB_IMAGES)."""
    return {name: f"{topology.REGISTRY}/{repository(name)}:{tag(name)}" for name in recipes()}


# ----------------------------------------------------------------------------- the build

@dataclass
class Built:
    """A built image in the cache: its folder, the manifest and config bytes, the layer file, digest and size.

    The folder also holds layer.json: the layer's key (layer_key), diff_id, digest and size, so that a recipe
    change that leaves the layer alone (say, a new port in the standin's STANDIN_PORTS) reuses it.
    """
    name: str
    directory: str
    manifest: bytes
    config: bytes
    layer: str
    layer_digest: str
    layer_size: int

    @property
    def config_digest(self):
        return "sha256:" + hashlib.sha256(self.config).hexdigest()


def cache_dir(name):
    return os.path.join(topology.IMAGE_CACHE_DIR, f"{name}-{tag(name)}")


def load_cached(name):
    """The cached build of the image's current recipe, or None."""
    directory = cache_dir(name)
    try:
        with open(os.path.join(directory, "manifest.json"), "rb") as src:
            manifest = src.read()
        with open(os.path.join(directory, "config.json"), "rb") as src:
            config = src.read()
    except FileNotFoundError:
        return None
    layer = json.loads(manifest)["layers"][0]
    path = os.path.join(directory, "layer.tar.gz")
    if not os.path.exists(path) or os.path.getsize(path) != layer["size"]:
        return None
    return Built(name, directory, manifest, config, path, layer["digest"], layer["size"])


class _Digest:
    """A write-only file that hashes and counts what passes through it on the way to target (if any)."""

    def __init__(self, target=None):
        self.sha256 = hashlib.sha256()
        self.size = 0
        self.target = target

    def write(self, data):
        self.sha256.update(data)
        self.size += len(data)
        if self.target is not None:
            self.target.write(data)
        return len(data)

    def flush(self):
        pass

    @property
    def digest(self):
        return "sha256:" + self.sha256.hexdigest()


def _clean(path):
    """A tar member name as Docker's layers have it: relative, no leading "./"."""
    while path.startswith("./"):
        path = path[2:]
    path = path.strip("/")
    return "" if path == "." else path


def _dropped(name):
    return name.startswith("dev/") or name in DROPPED_FILES


def _extra_members(recipe, mtime):
    """(TarInfo, data) for the recipe's folders and files."""
    for path, mode in recipe["dirs"]:
        info = tarfile.TarInfo(_clean(path))
        info.type, info.mode, info.mtime = tarfile.DIRTYPE, mode, mtime
        yield info, None
    for path, source, mode in recipe["files"]:
        data = file_bytes(source)
        info = tarfile.TarInfo(_clean(path))
        info.size, info.mode, info.mtime = len(data), mode, mtime
        yield info, data


def write_layer(stream, recipe, path):
    """Turn mmdebstrap's tar stream into the gzipped layer at path. Returns (diff_id, digest, size)."""
    mtime = int(time.time())
    with open(path, "wb") as out_file:
        compressed = _Digest(out_file)
        with gzip.GzipFile(fileobj=compressed, mode="wb", compresslevel=GZIP_LEVEL, mtime=0) as gz:
            plain = _Digest(gz)
            with tarfile.open(fileobj=stream, mode="r|", bufsize=1 << 20) as src, \
                    tarfile.open(fileobj=plain, mode="w|", format=tarfile.PAX_FORMAT, bufsize=1 << 20) as out:
                written = set()
                for member in src:
                    name = _clean(member.name)
                    if not name or _dropped(name):
                        continue
                    member.name = name
                    if member.islnk():
                        member.linkname = _clean(member.linkname)
                        if member.linkname not in written:
                            raise LabError(STEP, f"hard link {name} points at {member.linkname}, left out")
                    member.uname = member.gname = ""  # numeric owners only
                    out.addfile(member, src.extractfile(member) if member.isreg() else None)
                    written.add(name)
                for info, data in _extra_members(recipe, mtime):
                    parent = os.path.dirname(info.name)
                    if parent and parent not in written:
                        raise LabError(STEP, f"recipe adds {info.name}, but the rootfs has no /{parent}")
                    if info.name in written:
                        raise LabError(STEP, f"recipe adds {info.name}, which the rootfs already has")
                    out.addfile(info, io.BytesIO(data) if data is not None else None)
                    written.add(info.name)
    return plain.digest, compressed.digest, compressed.size


def mmdebstrap_command(recipe):
    """mmdebstrap writing the rootfs as a tar to stdout; apt goes through the lab's apt proxy (a warm cache)."""
    cmd = ["mmdebstrap", "--variant=minbase", "--format=tar", "--include=" + ",".join(recipe["packages"]),
           "--hook-dir=" + MMDEBSTRAP_HOOK_DIR, f'--aptopt=Acquire::http::Proxy "{topology.APT_PROXY}"']
    cmd += ["--dpkgopt=" + option for option in DPKG_OPTIONS]
    return cmd + [topology.SUITE, "-"] + rootfs.apt_sources(rootfs.host_mirror())


def image_config(name, recipe, diff_id, created):
    config = dict(recipe["config"])
    config["Labels"] = {"org.opencontainers.image.title": repository(name),
                        "org.opencontainers.image.description": recipe["description"],
                        "org.opencontainers.image.version": tag(name)}
    return {
        "architecture": architecture(), "os": "linux", "created": created, "config": config,
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": created, "comment": "python -m lab up (lab/images.py)",
                     "created_by": "mmdebstrap --variant=minbase --include=" + ",".join(recipe["packages"])}],
    }


def manifest(config, layer_digest, layer_size):
    return {
        "schemaVersion": 2, "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": CONFIG_TYPE, "size": len(config),
                   "digest": "sha256:" + hashlib.sha256(config).hexdigest()},
        "layers": [{"mediaType": LAYER_TYPE, "size": layer_size, "digest": layer_digest}],
    }


def _json(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def build_layer(name, partial):
    """Build the image's layer into partial/layer.tar.gz with mmdebstrap. Returns (diff_id, digest, size)."""
    recipe = recipes()[name]
    os.makedirs(topology.LOG_DIR, exist_ok=True)
    log_path = os.path.join(topology.LOG_DIR, f"image-{name}.log")
    layer_path = os.path.join(partial, "layer.tar.gz")
    cmd = mmdebstrap_command(recipe)
    with open(log_path, "w") as log:
        log.write("$ " + " ".join(cmd) + "\n")
        log.flush()
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log)
        except FileNotFoundError:
            raise LabError(STEP, "command not found: mmdebstrap") from None
        watchdog = threading.Timer(BUILD_TIMEOUT, proc.kill)
        watchdog.start()
        try:
            diff_id, digest, size = write_layer(proc.stdout, recipe, layer_path)
            proc.stdout.read()  # the tar's end padding
        except LabError:
            proc.kill()
            proc.wait()
            raise
        except (tarfile.TarError, OSError) as exc:
            try:  # mmdebstrap failing is the likely cause: its output stopped
                code = proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
            problem = f"mmdebstrap failed (exit {code})" if code else f"reading mmdebstrap's tar failed ({exc})"
            with open(log_path) as src:
                raise LabError(STEP, f"{name}: {problem}; see {log_path}\n" + tail(src.read())) from None
        finally:
            watchdog.cancel()
            proc.stdout.close()
        code = proc.wait()
    if code != 0:
        with open(log_path) as src:
            raise LabError(STEP, f"{name}: mmdebstrap failed (exit {code}); see {log_path}\n" + tail(src.read()))
    return diff_id, digest, size


def _older_builds(name):
    """Cache folders of the image's other tags."""
    prefix, current = f"{name}-", cache_dir(name)
    for entry in sorted(os.listdir(topology.IMAGE_CACHE_DIR)):
        path = os.path.join(topology.IMAGE_CACHE_DIR, entry)
        if entry.startswith(prefix) and len(entry) == len(prefix) + len(tag(name)) and path != current:
            yield path


def _reusable_layer(name):
    """(layer.tar.gz path, layer.json) of an older build with the same layer_key, or None."""
    for path in _older_builds(name):
        try:
            with open(os.path.join(path, "layer.json")) as src:
                layer = json.load(src)
        except (FileNotFoundError, ValueError):
            continue
        layer_path = os.path.join(path, "layer.tar.gz")
        if layer.get("key") == layer_key(name) and os.path.exists(layer_path) \
                and os.path.getsize(layer_path) == layer.get("size"):
            return layer_path, layer
    return None


def ensure_built(name):
    """The cached build, or a new one (a new config on an older build's layer when only the config changed).

    Returns (Built, what was done: "cached build", "built in N s" or "new config on the cached layer").
    """
    built = load_cached(name)
    if built:
        return built, "cached build"
    os.makedirs(topology.IMAGE_CACHE_DIR, exist_ok=True)
    started = time.monotonic()
    directory = cache_dir(name)
    partial = directory + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    os.makedirs(partial)
    try:
        reusable = _reusable_layer(name)
        if reusable:
            os.link(reusable[0], os.path.join(partial, "layer.tar.gz"))
            layer = reusable[1]
            what = "new config on the cached layer"
        else:
            diff_id, digest, size = build_layer(name, partial)
            layer = {"key": layer_key(name), "diff_id": diff_id, "digest": digest, "size": size}
            what = None
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        config = _json(image_config(name, recipes()[name], layer["diff_id"], created))
        files = {"layer.json": _json(layer), "config.json": config,
                 "manifest.json": _json(manifest(config, layer["digest"], layer["size"]))}
        for filename, data in files.items():
            with open(os.path.join(partial, filename), "wb") as out:
                out.write(data)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    shutil.rmtree(directory, ignore_errors=True)
    os.replace(partial, directory)
    for old in _older_builds(name):
        shutil.rmtree(old, ignore_errors=True)  # an older recipe's build
    return load_cached(name), what or f"built in {time.monotonic() - started:.1f} s"
