"""Operations for Docker in a guest: a runtime that works in an unprivileged LXC, the compose v2 plugin, the compose
project, and one service's env file when it holds values made later in the run."""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Callable
from io import StringIO

import yaml
from pyinfra import host, logger
from pyinfra.api import (
    FileUploadCommand,
    FunctionCommand,
    OperationError,
    OperationValueError,
    QuoteString,
    StringCommand,
    operation,
)
from pyinfra.facts.files import FileContents

from facts.docker import ComposePluginVersion, ComposeState, RuncVersion
from facts.system import FileStates
from mediabox import compose, plan, rollback
from mediabox.apps import AppCommand, AppError
from mediabox.readahead import reads
from operations.storage import SNAPSHOTS_TAKEN, restore_command

# runc's fixes for CVE-2025-31133/-52565/-52881 (1.2.8, 1.3.3, 1.4.0) reopen /proc files in a way that
# Proxmox's AppArmor profile for containers denied until lxc-pve 6.0.0-2: Docker in an unprivileged
# guest then fails every container with "open sysctl net.ipv4.ip_unprivileged_port_start file:
# reopen fd 8: permission denied" (runc #4972, moby #51415, containerd #12484, mkuthan/homelab-public #43).
FIXED_LXC_PVE = "6.0.0-2"


def runc_has_the_reopen_fix(version: str) -> bool:
    v = _numbers(version)
    return (v >= (1, 2, 8) and v < (1, 3)) or v >= (1, 3, 3)


def _numbers(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", version.split("+")[0])[:4])


@reads(lambda lxc_pve: [(RuncVersion, {})])
@operation()
def runtime_supported(lxc_pve: str | None):
    """
    Check that the guest's runc can start containers under the Proxmox host's LXC: stop the run with
    the fix when a runc with the 2025 /proc reopen change meets an lxc-pve older than 6.0.0-2.
    Read at execute, after the engine is installed.

    + lxc_pve: the Proxmox host's lxc-pve version; None: not a Proxmox host (not checked)

    **Example:**

    .. code:: python

        docker.runtime_supported(lxc_pve="6.0.0-1")
    """
    if lxc_pve is not None and not re.match(r"^\d+(\.\d+)*(-\S+)?$", lxc_pve):
        raise OperationValueError(f"not a package version: {lxc_pve!r}")
    runc = host.get_fact(RuncVersion)
    if runc and lxc_pve and runc_has_the_reopen_fix(runc) and _numbers(lxc_pve) < _numbers(FIXED_LXC_PVE):
        raise OperationError(
            f"runc {runc} in this guest cannot start containers under the host's lxc-pve {lxc_pve} (permission "
            "denied on net.ipv4.ip_unprivileged_port_start). Fix: upgrade the Proxmox host (`apt update && apt "
            f"full-upgrade` brings lxc-pve {FIXED_LXC_PVE} or later) and restart the guest; or, until then, pin the "
            "guest's runtime to the last release before the change (containerd.io 1.7.28-1 with Docker's "
            "repository) and `apt-mark hold` it.")
    if runc and not lxc_pve:
        logger.info(f"{host.print_prefix}runc {runc}: no lxc-pve on the host to check it against")
    host.noop(f"runc {runc or '(not installed)'} works under this host")
    yield from ()  # a check: it never yields a command


@reads(lambda dest, **_: [(ComposePluginVersion, {"path": dest})])
@operation()
def compose_plugin(src: str, dest: str, version: str):
    """
    Ensure a compose v2 binary of this version is the Docker CLI plugin at dest. The guest's copy is asked its
    version; the binary (76 MB) is copied only when that differs, never read through to compare.

    + src: the local compose v2 binary
    + dest: where Docker's CLI finds it, e.g. ``/usr/local/lib/docker/cli-plugins/docker-compose``
    + version: the version src reports, e.g. ``2.40.3``

    **Example:**

    .. code:: python

        docker.compose_plugin(src=".venv/lib/python3.11/site-packages/compose/docker-compose",
                              dest="/usr/local/lib/docker/cli-plugins/docker-compose", version="2.40.3")
    """
    if not dest.startswith("/") or not re.fullmatch(r"\d+(\.\d+)+", version):
        raise OperationValueError(f"compose_plugin needs an absolute dest and a version like 2.40.3, got {dest!r}, "
                                  f"{version!r}")
    installed = host.get_fact(ComposePluginVersion, path=dest)
    if installed == version:
        host.noop(f"compose {version} at {dest}")
        return
    plan.note(f"{dest}: compose {installed or '(none)'} -> {version}")
    yield StringCommand("install -d -m 755", QuoteString(posixpath.dirname(dest)))
    yield FileUploadCommand(src, dest, remote_temp_filename=host.get_temp_filename(dest))
    yield StringCommand("chmod 755", QuoteString(dest))


@reads(lambda path, **_: [(ComposeState, {"path": path, "project": compose.PROJECT})])
@operation()
def compose_project(path: str, files: dict[str, str], services: list[str], timeout_s: int = 300,
                    snapshot_for: str | None = None):
    """
    Ensure a compose project is written and up: files are written only when their content differs
    (env files 0600), `docker compose config` validates the project before anything runs, and
    `up -d --remove-orphans --wait` runs only when a file changed or a service is missing, stopped or
    unhealthy. It waits for every service to be healthy, at most timeout_s.

    The files of the last `up` that became healthy are kept in ``.last-good/``. When an `up` does not become
    healthy, the operation rolls back: those files return, the appdata of each service whose image changed
    comes back from this run's snapshot (snapshot_for), the previous project is brought up again, and the
    operation fails with what did not become healthy, why, and what was rolled back.

    + path: the project's folder, e.g. ``/opt/mediabox``
    + files: the project's files by relative path (mediabox.compose.render(...).files())
    + services: the compose services that must run
    + timeout_s: the bound on waiting for health
    + snapshot_for: change nothing unless storage.appdata_snapshot recorded this guest in this run (None: no
      snapshot, and a rollback brings back the files only)

    **Example:**

    .. code:: python

        docker.compose_project(path="/opt/mediabox", files=compose.render(s, secrets).files(),
                               services=["sonarr"])
    """
    if not path.startswith("/") or not services or "compose.yaml" not in files:
        raise OperationValueError(f"a compose project needs an absolute path, compose.yaml and services, got {path!r}")
    if any(name.startswith("/") or ".." in name.split("/") for name in files):
        raise OperationValueError(f"project files are relative paths inside {path}")
    state = host.get_fact(ComposeState, path=path, project=compose.PROJECT)
    todo = compose.changes(state, files, services)
    if not todo:
        host.noop(f"compose project {path}: {len(services)} services up and healthy")
        return
    _show_plan(path, state, files, todo)
    cd = f"cd {shlex.quote(path)} &&"
    if snapshot_for:
        yield FunctionCommand(_require_snapshot, (SNAPSHOTS_TAKEN, snapshot_for), {})
    yield StringCommand(f"install -d -m 755 {shlex.quote(path)} && install -d -m 700 {shlex.quote(path)}/env")
    for name in compose.to_write(state, files):
        dest = f"{path}/{name}"
        yield FileUploadCommand(StringIO(files[name]), dest, remote_temp_filename=host.get_temp_filename(dest))
        yield StringCommand(f"chmod {'600' if name.startswith('env/') else '644'} {shlex.quote(dest)}")
    for name in compose.stale(state, files):
        yield StringCommand(f"rm -f {shlex.quote(f'{path}/{name}')}")
    yield StringCommand(f"{cd} docker compose config -q")
    yield AppCommand(_up_or_roll_back, (SNAPSHOTS_TAKEN, path, int(timeout_s), snapshot_for), {})


def _show_plan(path: str, state: dict, files: dict[str, str], todo: list[str]) -> None:
    """The plan lines of a project that differs: compose.yaml key by key, the rest as compose.changes says."""
    for item in todo:
        if item != "compose.yaml differs":
            plan.note(f"{path}: {item}")
            continue
        lines = host.get_fact(FileContents, path=f"{path}/compose.yaml") or []
        try:
            current = yaml.safe_load("\n".join(lines)) or {}
        except yaml.YAMLError:
            current = None
        if not isinstance(current, dict):
            plan.note(f"{path}: compose.yaml differs (it is not YAML)")
            continue
        wanted = yaml.safe_load(files["compose.yaml"])
        changes = plan.diff(current, wanted) | plan.removed(current, wanted)
        if changes:
            plan.show(f"{path}/compose.yaml", changes)
        else:
            plan.note(f"{path}: compose.yaml differs in its layout only")


LAST_GOOD = ".last-good"  # in the project's folder: the files of the last `up` that became healthy (0700)


def _up_command(path: str, timeout_s: int) -> str:
    return f"cd {shlex.quote(path)} && docker compose up -d --remove-orphans --wait --wait-timeout {timeout_s}"


def _all_healthy(names: str) -> str:
    """A shell command that fails, naming them, when any of the services (names: quoted compose services) is not
    running healthy. compose 2.40 exits 0 when `--wait-timeout` runs out with a service still
    starting, so its exit code alone never says a service became healthy."""
    return ("(bad=$(docker compose ps -a --format '{{.Service}} {{.State}} {{.Health}}' " + names
            + " | grep -vE '^[^ ]+ running (healthy)?$'); "
            + '[ -z "$bad" ] || { echo "not running healthy: $bad" >&2; exit 1; })')


def _up(host, path: str, timeout_s: int) -> tuple[bool, dict[str, str]]:
    """`up --wait`, then whether the project is up and healthy, and what is not (compose's own last words when
    it failed before any container did)."""
    up, output = host.run_shell_command(StringCommand(_up_command(path, timeout_s)))
    failed = _failing(host, f"cd {shlex.quote(path)} &&")
    if not up and not failed:
        failed = {"docker compose up": "failed: " + (output.stderr.strip().splitlines() or ["(no output)"])[-1]}
    return up and not failed, failed


def _up_or_roll_back(state, host, taken: dict[str, tuple[str, str, str]], path: str, timeout_s: int,
                     guest: str | None) -> None:
    cd = f"cd {shlex.quote(path)} &&"
    healthy, failed = _up(host, path, timeout_s)
    if healthy:
        _shell(host, f"{cd} rm -rf {LAST_GOOD} && mkdir -m 700 {LAST_GOOD} && cp -a compose.yaml env {LAST_GOOD}/",
               must=True)
        return
    ok, previous = _shell(host, f"{cd} cat {LAST_GOOD}/compose.yaml")
    if not ok:
        raise AppError(f"the stack in {path} did not become healthy within {timeout_s} s: "
                       + rollback.described(failed)
                       + ". It has never been healthy here, so there is nothing to roll back to. Look at `docker "
                       "compose logs` in that folder, fix it, and run the deploy again.")
    differs = not _shell(host, f"{cd} diff -rq {LAST_GOOD}/compose.yaml compose.yaml && diff -rq {LAST_GOOD}/env "
                                 "env")[0]
    changed = rollback.image_changes(previous, _shell(host, f"{cd} cat compose.yaml", must=True)[1])
    _shell(host, f"{cd} cp -a {LAST_GOOD}/compose.yaml compose.yaml && rm -rf env && cp -a {LAST_GOOD}/env env",
           must=True)
    snapshot = None
    if changed and guest in taken:
        pve_host, mount, snapshot = taken[guest]
        _shell(host, f"{cd} docker compose stop {' '.join(shlex.quote(name) for name in changed)}", must=True)
        folders = sorted({folder for folder, _, _ in changed.values()})
        _shell(state.inventory.get_host(pve_host), restore_command(mount, snapshot, folders), must=True)
    back, still_failing = _up(host, path, timeout_s)
    raise AppError(rollback.report(timeout_s, failed, differs, changed, snapshot,
                                   None if back else still_failing))


def _failing(host, cd: str) -> dict[str, str]:
    return rollback.failing(_shell(host, f"{cd} docker compose ps -aq | xargs -r docker inspect")[1])


def _shell(host, command: str, must: bool = False) -> tuple[bool, str]:
    ok, output = host.run_shell_command(StringCommand(command))
    if must and not ok:
        raise AppError(f"{host.name}: `{command}` failed: {output.stderr[-500:]}")
    return ok, output.stdout


@reads(lambda path, service, **_: [(FileStates, {"paths": [f"{path}/{compose.ENV_DIR}/{service}.env"]})])
@operation()
def service_env(path: str, service: str, text: str | Callable[[], str | None], timeout_s: int = 300):
    """
    Ensure one service's env file in a compose project (``env/<service>.env``, 0600) has this text, and recreate
    that service alone when it changed. For values made earlier in the same run (the API keys the apps make):
    ``text`` may be a function, called each time the operation reads the guest, so again at execute. The rest
    of the project is the compose_project operation's; once the service is healthy, its copy in the project's
    last healthy files (``.last-good/``, what a failed update rolls back to) is updated too.

    + path: the project's folder, e.g. ``/opt/mediabox``
    + service: the compose service, e.g. ``homepage``
    + text: the env file's text, or a function that renders it (None: the service has no env file)
    + timeout_s: the bound on waiting for the service to be healthy

    **Example:**

    .. code:: python

        docker.service_env(path="/opt/mediabox", service="homepage",
                           text=lambda: compose.render(s, secrets).env_files.get("env/homepage.env"))
    """
    if not path.startswith("/") or not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", service):
        raise OperationValueError(f"an env file needs an absolute project path and a compose service name, got "
                                  f"{path!r} and {service!r}")
    text = text() if callable(text) else text
    name = f"{compose.ENV_DIR}/{service}.env"
    if text is None:
        host.noop(f"{service} has no env file")
        return
    dest = f"{path}/{name}"
    if host.get_fact(FileStates, paths=[dest]).get(dest, {}).get("sha256") == compose.digest(text):
        host.noop(f"{dest} is up to date")
        return
    plan.note(f"{dest} differs (its values are not shown): recreate {service}")
    yield FileUploadCommand(StringIO(text), dest, remote_temp_filename=host.get_temp_filename(dest))
    yield StringCommand(f"chmod 600 {shlex.quote(dest)}")
    yield StringCommand(f"cd {shlex.quote(path)} && docker compose up -d --no-deps --wait --wait-timeout "
                        f"{int(timeout_s)} {shlex.quote(service)} && {_all_healthy(shlex.quote(service))} && "
                        f"{{ [ ! -d {LAST_GOOD} ] || cp -a "
                        f"{shlex.quote(name)} {LAST_GOOD}/{shlex.quote(name)}; }}")


@reads(lambda path, **_: [(ComposeState, {"path": path, "project": compose.PROJECT})])
@operation()
def compose_services(path: str, services: list[str], running: bool = True, timeout_s: int = 300):
    """
    Ensure some services of a compose project are running and healthy (started, waited for), or stopped; the
    others are left as they are, and nothing is recreated.

    + path: the project's folder, e.g. ``/opt/mediabox``
    + services: the compose services
    + running: True to start them and wait until healthy (at most timeout_s), False to stop them

    **Example:**

    .. code:: python

        docker.compose_services(path="/opt/mediabox", services=["sonarr"], running=False)
    """
    if not path.startswith("/") or not services or any(not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", s) for s in services):
        raise OperationValueError(f"compose_services needs an absolute path and compose service names, got {path!r}, "
                                  f"{services!r}")
    containers = host.get_fact(ComposeState, path=path, project=compose.PROJECT)["containers"]
    if running:
        todo = [s for s in services if containers.get(s, {}).get("state") != "running"
                or containers[s].get("health") == "unhealthy"]
    else:
        todo = [s for s in services if containers.get(s, {}).get("state") == "running"]
    if not todo:
        host.noop(f"{', '.join(services)} {'running' if running else 'stopped'}")
        return
    plan.note(f"{path}: {'start' if running else 'stop'} {', '.join(todo)}")
    cd, names = f"cd {shlex.quote(path)} &&", " ".join(shlex.quote(s) for s in todo)
    if running:
        yield f"{cd} docker compose up -d --no-recreate --wait --wait-timeout {int(timeout_s)} {names} && " \
              + _all_healthy(names)
    else:
        yield f"{cd} docker compose stop {names}"


def _require_snapshot(taken: set[str], guest: str) -> None:
    if guest not in taken:
        raise OperationError(f"no snapshot of appdata was taken for {guest} in this run (it failed, or the Proxmox "
                             "host is not in this run), so its stack is left unchanged. Fix the snapshot (see the "
                             "host's output) and run the deploy again with the Proxmox host included.")
