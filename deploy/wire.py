"""The wire stage: the apps configured and connected over their APIs, from this machine, each read,
diffed and written only where it differs. Built so far: qBittorrent (issue #6 goes on with the *arr
apps, Prowlarr, Jellyfin, Seerr, Audiobookshelf, autobrr and Homepage)."""

from __future__ import annotations

from pyinfra import host

from deploy import not_built
from mediabox import layout, qbt
from mediabox.catalog import SERVICES
from mediabox.run import Run
from mediabox.settings import Settings
from operations import qbittorrent


def apply(run: Run, s: Settings) -> None:
    if "docker_guests" not in run.roles[host.name]:
        return
    if s.enabled("qbittorrent"):
        _qbittorrent(run, s)
    not_built("wire", issue=6, part="the *arr apps, Prowlarr, Jellyfin, Seerr, Audiobookshelf, autobrr and Homepage:")


def _qbittorrent(run: Run, s: Settings) -> None:
    connection = qbt.Connection(f"http://{s.guest_ip.ip}:{s.port(SERVICES['qbittorrent'])}", s.apps_admin_user,
                                run.secrets["qbittorrent_password"], s.apps_ready_timeout_s)
    wanted = {
        "save_path": "/data/downloads/complete",
        "temp_path_enabled": True,
        "temp_path": "/data/downloads/incomplete",
        "auto_tmm_enabled": True,  # a category's folder decides where its downloads land
        "listen_port": s.qbittorrent_listen_port,
        "upnp": False,
    }
    if s.enabled("gluetun"):
        wanted["current_network_interface"] = s.qbittorrent_vpn_interface
    qbittorrent.preferences(name="qBittorrent preferences", qbt=connection, wanted=wanted)
    qbittorrent.categories(name="qBittorrent categories", qbt=connection,
                           wanted={name: f"/data/downloads/complete/{name}" for name in layout.CATEGORIES})
