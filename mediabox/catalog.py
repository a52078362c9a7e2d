"""The service catalog: one declarative entry per service of the media stack.

Only the facts that settings validation and the RAM planner need live here for now (port, static
address, memory, presets, routing through the VPN, requirements, deprecation). The compose
renderer extends each entry with image, volumes, environment and healthcheck.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PROFILES = ("8gb", "16gb")


@dataclass(frozen=True)
class Service:
    name: str
    title: str
    ip_suffix: int  # offset inside docker_subnet: 10 -> 172.20.0.10
    memory_mb: int  # default compose memory limit
    min_memory_mb: int  # below this the app does not start or thrashes
    port: int | None = None  # host port of its web UI or API; None: not published
    vpn: bool = False  # routed through gluetun: no network or ports of its own
    profiles: tuple[str, ...] = ()  # presets that enable it
    requires: tuple[str, ...] = ()
    deprecated: str | None = None  # reason and replacement; deprecated services are opt-in only
    secrets: tuple[str, ...] = ()  # values the engine generates: "api_key" (32 hex) or "password"
    notes: str = ""


BOTH = PROFILES
BIG = ("16gb",)

VPN = {"vpn": True, "requires": ("gluetun",)}
API_KEY, PASSWORD = ("api_key",), ("password",)

SERVICES: dict[str, Service] = {
    s.name: s
    for s in (
        Service("gluetun", "Gluetun VPN", 2, 128, 64, profiles=BOTH,
                notes="Holds the network of qbittorrent, prowlarr and autobrr: the kill switch."),
        Service("qbittorrent", "qBittorrent", 3, 512, 256, port=8080, profiles=BOTH, secrets=PASSWORD, **VPN),
        Service("prowlarr", "Prowlarr", 4, 256, 128, port=9696, profiles=BOTH, secrets=API_KEY, **VPN),
        Service("autobrr", "autobrr", 5, 128, 64, port=7474, profiles=BOTH, secrets=API_KEY + PASSWORD, **VPN),
        Service("sonarr", "Sonarr", 10, 384, 256, port=8989, profiles=BOTH, secrets=API_KEY),
        Service("radarr", "Radarr", 11, 384, 256, port=7878, profiles=BOTH, secrets=API_KEY),
        Service("lidarr", "Lidarr", 12, 384, 256, port=8686, profiles=BOTH, secrets=API_KEY),
        Service("readarr", "Readarr", 13, 384, 256, port=8787, secrets=API_KEY,
                deprecated="retired upstream in June 2025 (archived, metadata server offline); "
                "use Audiobookshelf for audiobooks"),
        Service("mylar3", "Mylar3", 14, 256, 128, port=8090, profiles=BOTH, secrets=API_KEY),
        Service("whisparr", "Whisparr", 15, 384, 256, port=6969, secrets=API_KEY),
        Service("jellyfin", "Jellyfin", 20, 1536, 512, port=8096, profiles=BOTH, secrets=PASSWORD),
        Service("audiobookshelf", "Audiobookshelf", 21, 256, 128, port=13378, profiles=BOTH, secrets=PASSWORD),
        Service("podgrab", "Podgrab", 22, 128, 64, port=8480,
                deprecated="unmaintained since 2022; Audiobookshelf manages podcasts"),
        Service("seerr", "Seerr (Jellyseerr)", 23, 384, 256, port=5055, profiles=BOTH, secrets=API_KEY),
        Service("tubearchivist", "TubeArchivist", 30, 1024, 512, port=8000, profiles=BIG, secrets=PASSWORD,
                requires=("tubearchivist_es", "tubearchivist_redis")),
        Service("tubearchivist_es", "Elasticsearch (TubeArchivist)", 31, 1024, 768, profiles=BIG, secrets=PASSWORD),
        Service("tubearchivist_redis", "Redis (TubeArchivist)", 32, 128, 64, profiles=BIG),
        Service("ipfs", "IPFS (kubo)", 33, 512, 256, port=5001, profiles=BIG),
        Service("homepage", "Homepage", 40, 128, 64, port=3000, profiles=BOTH),
        Service("updater", "Updater (watchtower fork)", 41, 64, 32,
                notes="Opt-in; notify-only unless told otherwise."),
    )
}

# Memory the Docker engine and the guest's own system need besides the services' limits.
GUEST_BASE_MEMORY_MB = 512

# The Docker guest's memory when guest_memory_mb is None, by profile.
PROFILE_GUEST_MEMORY_MB = {"8gb": 6144, "16gb": 12288}

@dataclass
class Allocation:
    """Who takes what of a guest's memory: the RAM planner's table."""

    rows: list[tuple[str, int]] = field(default_factory=list)

    @property
    def total_mb(self) -> int:
        return sum(mb for _, mb in self.rows)

    def table(self, available_mb: int) -> str:
        width = max(len(name) for name, _ in self.rows + [("available", 0)])
        lines = [f"{name:<{width}}  {mb:>6} MB" for name, mb in self.rows]
        lines.append(f"{'total':<{width}}  {self.total_mb:>6} MB")
        lines.append(f"{'available':<{width}}  {available_mb:>6} MB")
        return "\n".join(lines)
