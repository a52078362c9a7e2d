"""Mylar3's config.ini, seeded before its first start (Mylar3 has no API for its settings and reads no
environment): its API on with the engine's key (Prowlarr and Homepage use it), qBittorrent as its torrent
client behind the VPN with the comics category, and the comics library as its destination. LinuxServer's
image keeps it in /config/mylar (its --datadir)."""

from __future__ import annotations

from mediabox.catalog import SERVICES
from mediabox.settings import Settings

CONFIG_PATH = "mylar/config.ini"  # under its appdata folder
TORRENT_DOWNLOADER_QBITTORRENT = 5  # Mylar3's [Client] torrent_downloader for qBittorrent


def config_ini(s: Settings, api_key: str, qbittorrent_password: str) -> str:
    qbittorrent = SERVICES["qbittorrent"]
    sections = {
        "General": {"destination_dir": "/data/media/comics"},
        "API": {"api_enabled": "True", "api_key": api_key},
        "Client": {"torrent_downloader": str(TORRENT_DOWNLOADER_QBITTORRENT)},
        "Torrents": {"enable_torrents": "True"},
        "qBittorrent": {"qbittorrent_host": qbittorrent.internal_url, "qbittorrent_username": s.apps_admin_user,
                        "qbittorrent_password": qbittorrent_password, "qbittorrent_label": "comics",
                        "qbittorrent_folder": "/data/downloads/complete/comics", "qbittorrent_loadaction": "default"},
    }
    return "".join(f"[{name}]\n" + "".join(f"{key} = {value}\n" for key, value in values.items()) + "\n"
                   for name, values in sections.items())
