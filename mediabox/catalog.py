"""The service catalog: one declarative entry per service of the media stack.

Data, not code paths: mediabox/compose.py turns these entries and the settings into the compose
project; settings validation and the RAM planner read them too. Values may hold placeholders the
renderer fills in: {appdata} (this service's folder, /appdata/<name> in the guest), {data} (the data
subvolume, /data), {tz}, {puid}, {pgid}, {admin_user}, {lan} (the guest's LAN), {docker_subnet}, {heap_mb} (half
the memory limit), {vpn_provider}, {vpn_type}, {host:<service>} (a service's host name on the
stack's network) and {port:<service>} (a service's container port).

Image versions are pinned; the update stage (issue #7) moves the pins. `image_overrides` and
`image_registry` in the settings change where images come from (an air-gapped box, the lab), never
what the catalog calls them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PROFILES = ("8gb", "16gb")


@dataclass(frozen=True)
class Service:
    name: str
    title: str
    image: str  # pinned: registry/repository:version
    ip_suffix: int  # offset inside docker_subnet: 10 -> 172.20.0.10
    memory_mb: int  # default compose memory limit
    min_memory_mb: int  # below this the app does not start or thrashes
    port: int | None = None  # host port of its web UI or API; None: not published
    container_port: int | None = None  # the port inside the container, when it differs from port
    vpn: bool = False  # routed through gluetun: no network or ports of its own
    profiles: tuple[str, ...] = ()  # presets that enable it
    requires: tuple[str, ...] = ()  # started after these are healthy
    deprecated: str | None = None  # reason and replacement; deprecated services are opt-in only
    secrets: tuple[str, ...] = ()  # values the engine generates: "api_key" (32 hex) or "password"
    makes_key: bool = False  # the app makes its API key itself; the wire stage keeps it as <name>_api_key
    linuxserver: bool = False  # a linuxserver.io image: PUID, PGID, TZ and UMASK in its environment
    volumes: tuple[str, ...] = ()  # "source:target[:ro]"
    environment: dict[str, str] = field(default_factory=dict)
    secret_env: dict[str, str] = field(default_factory=dict)  # variable -> secrets file key (goes in its env file)
    healthcheck: str | None = None  # a shell command; None: the image's own HEALTHCHECK
    cap_add: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()  # "tun" (/dev/net/tun), "dri" (/dev/dri, with the render group)
    user: str | None = None  # "{puid}:{pgid}" for images that take no PUID
    command: tuple[str, ...] = ()
    group: str = "Media"  # its group on the dashboard
    widget: str | None = None  # its Homepage widget type
    notes: str = ""

    @property
    def inner_port(self) -> int | None:
        return self.container_port or self.port

    @property
    def host_name(self) -> str:
        """Its name on the stack's network and in compose (service names may not hold '_' in URLs)."""
        return self.name.replace("_", "-")

    @property
    def internal_host(self) -> str:
        """Its name for the other containers on the stack's network (a VPN service shares gluetun's)."""
        return "gluetun" if self.vpn else self.host_name

    @property
    def internal_url(self) -> str:
        return f"http://{self.internal_host}:{self.inner_port}"


BOTH = PROFILES
BIG = ("16gb",)

VPN = {"vpn": True, "requires": ("gluetun",)}
API_KEY, PASSWORD = ("api_key",), ("password",)
CONFIG_AND_DATA = ("{appdata}:/config", "{data}:/data")


def arr(name: str, title: str, image: str, ip_suffix: int, port: int, **extra) -> Service:
    """A Servarr app (Sonarr, Radarr, ...): linuxserver image, /config + the one /data root (hard links),
    its API key pre-seeded through <NAME>__AUTH__APIKEY, /ping as health."""
    defaults = {"linuxserver": True, "volumes": CONFIG_AND_DATA, "widget": name,
                "secret_env": {f"{name.upper()}__AUTH__APIKEY": f"{name}_api_key"},
                "healthcheck": f"curl -fsS http://localhost:{port}/ping"}
    return Service(name, title, image, ip_suffix, 384, 256, port=port, secrets=API_KEY, **{**defaults, **extra})


SERVICES: dict[str, Service] = {
    s.name: s
    for s in (
        Service("gluetun", "Gluetun VPN", "qmcgaw/gluetun:v3.40.0", 2, 128, 64, profiles=BOTH,
                cap_add=("NET_ADMIN",), devices=("tun",), volumes=("{appdata}:/gluetun",),
                environment={"VPN_SERVICE_PROVIDER": "{vpn_provider}", "VPN_TYPE": "{vpn_type}", "TZ": "{tz}",
                             "FIREWALL_OUTBOUND_SUBNETS": "{lan},{docker_subnet}",
                             "HTTP_CONTROL_SERVER_ADDRESS": ":8000"},
                group="Downloads", widget="gluetun",
                notes="Holds the network of qbittorrent, prowlarr and autobrr: the kill switch."),
        Service("qbittorrent", "qBittorrent", "lscr.io/linuxserver/qbittorrent:5.1.2", 3, 512, 256, port=8080,
                profiles=BOTH, secrets=PASSWORD, linuxserver=True, volumes=CONFIG_AND_DATA,
                environment={"WEBUI_PORT": "8080", "TORRENTING_PORT": "{qbittorrent_listen_port}"},
                healthcheck="curl -fsS http://localhost:8080/ >/dev/null", group="Downloads", widget="qbittorrent",
                **VPN),
        Service("prowlarr", "Prowlarr", "lscr.io/linuxserver/prowlarr:2.0.5", 4, 256, 128, port=9696, profiles=BOTH,
                secrets=API_KEY, linuxserver=True, volumes=("{appdata}:/config",),
                secret_env={"PROWLARR__AUTH__APIKEY": "prowlarr_api_key"},
                healthcheck="curl -fsS http://localhost:9696/ping", group="Downloads", widget="prowlarr", **VPN),
        Service("autobrr", "autobrr", "ghcr.io/autobrr/autobrr:v1.68.0", 5, 128, 64, port=7474, profiles=BOTH,
                secrets=PASSWORD, makes_key=True, user="{puid}:{pgid}", volumes=("{appdata}:/config",),
                environment={"TZ": "{tz}"},
                healthcheck="wget -qO /dev/null http://localhost:7474/api/healthz/liveness", group="Downloads",
                widget="autobrr", **VPN),
        arr("sonarr", "Sonarr", "lscr.io/linuxserver/sonarr:4.0.15", 10, 8989, profiles=BOTH),
        arr("radarr", "Radarr", "lscr.io/linuxserver/radarr:5.27.5", 11, 7878, profiles=BOTH),
        arr("lidarr", "Lidarr", "lscr.io/linuxserver/lidarr:2.13.3", 12, 8686, profiles=BOTH),
        arr("readarr", "Readarr", "lscr.io/linuxserver/readarr:0.4.18-develop", 13, 8787, group="Books",
            secret_env={},  # it reads no key from its environment: the stack stage seeds its config.xml
            deprecated="retired upstream in June 2025 (archived, metadata server offline); "
            "use Audiobookshelf for audiobooks"),
        Service("mylar3", "Mylar3", "lscr.io/linuxserver/mylar3:0.8.3", 14, 256, 128, port=8090, profiles=BOTH,
                secrets=API_KEY, linuxserver=True, volumes=CONFIG_AND_DATA,
                healthcheck="curl -fsS http://localhost:8090/ >/dev/null", group="Books", widget="mylar"),
        arr("whisparr", "Whisparr", "ghcr.io/hotio/whisparr:v2-2.0.0.1171", 15, 6969, linuxserver=False,
            environment={"PUID": "{puid}", "PGID": "{pgid}", "UMASK": "002", "TZ": "{tz}"},
            secret_env={},  # v2 (a Sonarr v3 fork) reads no key from its environment: its config.xml is seeded
            widget=None),  # Homepage has no Whisparr widget
        Service("jellyfin", "Jellyfin", "jellyfin/jellyfin:10.10.7", 20, 1536, 512, port=8096, profiles=BOTH,
                secrets=PASSWORD, makes_key=True, user="{puid}:{pgid}", devices=("dri",),
                volumes=("{appdata}:/config", "{appdata}/cache:/cache", "{data}/media:/data/media:ro"),
                environment={"TZ": "{tz}", "JELLYFIN_PublishedServerUrl": "http://{guest_ip}:8096"},
                healthcheck="curl -fsS http://localhost:8096/health", widget="jellyfin"),
        Service("audiobookshelf", "Audiobookshelf", "ghcr.io/advplyr/audiobookshelf:2.30.0", 21, 256, 128,
                port=13378, container_port=80, profiles=BOTH, secrets=PASSWORD, makes_key=True,
                volumes=("{appdata}:/config", "{appdata}/metadata:/metadata",
                         "{data}/media/audiobooks:/audiobooks", "{data}/media/podcasts:/podcasts"),
                environment={"TZ": "{tz}"}, healthcheck="wget -qO /dev/null http://localhost:80/healthcheck",
                group="Books", widget="audiobookshelf"),
        Service("podgrab", "Podgrab", "akhilrex/podgrab:1.0.0", 22, 128, 64, port=8480, container_port=8080,
                volumes=("{appdata}:/config", "{data}/media/podcasts:/assets"),
                environment={"CHECK_FREQUENCY": "240"}, healthcheck="wget -qO /dev/null http://localhost:8080/",
                deprecated="unmaintained since 2022; Audiobookshelf manages podcasts"),
        Service("seerr", "Seerr (Jellyseerr)", "ghcr.io/seerr-team/seerr:v3.0.1", 23, 384, 256, port=5055,
                profiles=BOTH, secrets=API_KEY, volumes=("{appdata}:/app/config",),
                environment={"TZ": "{tz}", "LOG_LEVEL": "info", "PORT": "5055"},
                secret_env={"API_KEY": "seerr_api_key"},
                healthcheck="wget -qO /dev/null http://localhost:5055/api/v1/status", group="Requests",
                widget="jellyseerr"),
        Service("tubearchivist", "TubeArchivist", "bbilly1/tubearchivist:v0.5.4", 30, 1024, 512, port=8000,
                profiles=BIG, secrets=PASSWORD, makes_key=True, requires=("tubearchivist_es", "tubearchivist_redis"),
                volumes=("{appdata}:/cache", "{data}/media/youtube:/youtube"),
                environment={"ES_URL": "http://{host:tubearchivist_es}:9200",
                             "REDIS_CON": "redis://{host:tubearchivist_redis}:6379",
                             "HOST_UID": "{puid}", "HOST_GID": "{pgid}", "TA_HOST": "http://{guest_ip}:8000",
                             "TA_USERNAME": "{admin_user}", "TZ": "{tz}"},
                secret_env={"TA_PASSWORD": "tubearchivist_password", "ELASTIC_PASSWORD": "tubearchivist_es_password"},
                healthcheck="curl -fsS http://localhost:8000/api/health/", widget="tubearchivist"),
        Service("tubearchivist_es", "Elasticsearch (TubeArchivist)", "bbilly1/tubearchivist-es:8.18.2", 31, 1024,
                768, profiles=BIG, secrets=PASSWORD, volumes=("{appdata}:/usr/share/elasticsearch/data",),
                environment={"ES_JAVA_OPTS": "-Xms{heap_mb}m -Xmx{heap_mb}m", "discovery.type": "single-node",
                             "xpack.security.enabled": "true", "path.repo": "/usr/share/elasticsearch/data/snapshot",
                             "bootstrap.memory_lock": "false"},
                secret_env={"ELASTIC_PASSWORD": "tubearchivist_es_password"},
                healthcheck="curl -fsS -u elastic:$$ELASTIC_PASSWORD http://localhost:9200/_cluster/health",
                group="System"),
        Service("tubearchivist_redis", "Redis (TubeArchivist)", "redis:7.4.6-alpine", 32, 128, 64, profiles=BIG,
                volumes=("{appdata}:/data",), healthcheck="redis-cli ping | grep -q PONG", group="System"),
        Service("ipfs", "IPFS (kubo)", "ipfs/kubo:v0.38.1", 33, 512, 256, port=5001, profiles=BIG,
                volumes=("{appdata}:/data/ipfs",), environment={"IPFS_PROFILE": "lowpower"}, group="System"),
        Service("homepage", "Homepage", "ghcr.io/gethomepage/homepage:v1.7.0", 40, 128, 64, port=3000,
                profiles=BOTH, volumes=("{appdata}:/app/config", "{data}:/data:ro"),
                environment={"HOMEPAGE_ALLOWED_HOSTS": "{guest_ip}:3000,localhost:3000", "PUID": "{puid}",
                             "PGID": "{pgid}"},
                healthcheck="wget -qO /dev/null http://localhost:3000/api/healthcheck", group="System"),
        Service("updater", "Updater (watchtower fork)", "nickfedor/watchtower:1.12.1", 41, 64, 32,
                volumes=("/var/run/docker.sock:/var/run/docker.sock",),
                environment={"WATCHTOWER_MONITOR_ONLY": "{updater_monitor_only}",
                             "WATCHTOWER_SCHEDULE": "{updater_schedule}", "WATCHTOWER_CLEANUP": "true",
                             "TZ": "{tz}"},
                group="System", notes="Opt-in; notify-only unless updater_monitor_only is False."),
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
