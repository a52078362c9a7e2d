"""The stack stage: each Docker guest's compose project, rendered from the service catalog, written and
brought up only when something differs; on the Proxmox host, a read-only snapshot of appdata first
whenever a guest's stack is about to change."""

from __future__ import annotations

from pyinfra import host, inventory

from deploy import maintenance
from facts.docker import ComposeState
from facts.system import GroupId
from mediabox import arr, compose, mylar3, qbt, readahead
from mediabox.catalog import SERVICES
from mediabox.run import Run, at_once
from mediabox.settings import Settings
from operations import arr as servarr
from operations import docker, qbittorrent, storage


def apply(run: Run, s: Settings) -> None:
    roles = run.roles[host.name]
    if not roles & {"proxmox", "docker_guests"}:
        return
    # pyinfra orders operations per host; one snapshot operation on the host and on its guests alike (a
    # no-op there) makes every guest's compose step wait for the host's snapshot. Only the guests this run deploys
    # count (not those left out with --limit or unreachable).
    deployed = {h.name for h in inventory.get_active_hosts()}
    guests = [name for name in run.hosts_in("docker_guests") if name in deployed] if "proxmox" in roles else []
    changes = dict(zip(guests, at_once(lambda name: _changes(run, name), guests), strict=True))
    storage.appdata_snapshot(name="Snapshot of appdata before the stack changes", mount=s.storage_mount,
                             changes=changes)
    if "docker_guests" in roles:
        _seed_configs(run, s)
        project, services = plan(run, host.name)
        docker.compose_project(name="Compose project up and healthy", path=s.stack_dir, files=project.files(),
                               services=services, timeout_s=s.stack_health_timeout_s, snapshot_for=host.name)
        maintenance.timers({"containers": s.container_check_calendar}, f"COMPOSE_PROJECT={compose.PROJECT}\n",
                           run.secrets.get("notify_url"), subject=s.stack_dir)


def _seed_configs(run: Run, s: Settings) -> None:
    """The apps' own config files, written only before their first start: what they cannot take from the
    environment (qBittorrent's password hash, Readarr's key, Mylar3's key and download client)."""
    owner = f"{s.puid}:{s.pgid}"
    if s.enabled("qbittorrent"):
        qbittorrent.seed_config(name="qBittorrent.conf seeded before its first start",
                                path=f"{compose.APPDATA}/qbittorrent/qBittorrent/qBittorrent.conf",
                                username=s.apps_admin_user,
                                password_pbkdf2=lambda: qbt.password_hash(run.secrets["qbittorrent_password"]),
                                webui_port=SERVICES["qbittorrent"].inner_port,
                                listen_port=s.qbittorrent_listen_port, owner=owner)
    for name, wiring in arr.WIRED.items():
        if s.enabled(name) and not wiring.key_from_env:
            servarr.seed_config(name=f"{SERVICES[name].title} config.xml seeded before its first start",
                                path=f"{compose.APPDATA}/{name}/config.xml", api_key=run.secrets[f"{name}_api_key"],
                                owner=owner)
    if s.enabled("mylar3") and s.enabled("qbittorrent"):
        storage.seed_file(name="Mylar3 config.ini seeded before its first start", kept_by="Mylar3",
                          path=f"{compose.APPDATA}/mylar3/{mylar3.CONFIG_PATH}", owner=owner,
                          text=mylar3.config_ini(s, run.secrets["mylar3_api_key"], run.secrets["qbittorrent_password"]))


def plan(run: Run, guest_name: str) -> tuple[compose.Project, list[str]]:
    """A guest's rendered project and the compose services that must run in it."""
    s = run.settings[guest_name]
    guest = inventory.get_host(guest_name)
    readahead.will_read([(GroupId, {"group": "render"}),
                         (ComposeState, {"path": s.stack_dir, "project": compose.PROJECT})], host=guest)
    render_gid = run.once(("render gid", guest_name),
                          lambda: guest.get_fact(GroupId, group="render"))
    project = run.once(("project", guest_name, run.secrets.version),
                       lambda: compose.render(s, run.secrets, render_gid, run.key_scope(guest_name)))
    return project, [svc.host_name for svc in s.enabled_services()]


def _changes(run: Run, guest_name: str) -> list[str]:
    """What the stack stage will change in a guest, read from the guest before any change."""
    project, services = plan(run, guest_name)
    state = inventory.get_host(guest_name).get_fact(ComposeState, path=run.settings[guest_name].stack_dir,
                                                    project=compose.PROJECT)
    return compose.changes(state, project.files(), services)
