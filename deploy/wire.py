"""The wire stage: the apps configured and connected over their APIs, from this machine, each read, diffed
and written only where it differs: qBittorrent first (its categories must exist before a Servarr app tests
its client), then each Servarr app (root folder, hard links, qBittorrent client), then Prowlarr's
applications (it tests each app, so they come after), then autobrr (its user, qBittorrent and the Servarr
apps as its download clients), then Jellyfin (wizard, libraries, transcoding), then Seerr (linked to Jellyfin,
which makes its admin; its libraries; Sonarr and Radarr), then Audiobookshelf (root user, audiobook and podcast
libraries), then TubeArchivist's token, and last Homepage: its services.yaml (a file in its appdata: links and
widgets, the widgets' keys named, not written), and its env file again, which now holds the API keys the apps
made in this run (Jellyfin, Audiobookshelf, autobrr, TubeArchivist: each kept in the secrets file). Mylar3 is
set up by its config.ini, seeded in the stack stage."""

from __future__ import annotations

from pyinfra import host

from deploy import stack
from mediabox import arr, audiobookshelf, autobrr, compose, homepage, jellyfin, layout, qbt, seerr, tubearchivist
from mediabox.catalog import SERVICES
from mediabox.run import Run
from mediabox.secrets import key_name
from mediabox.sessions import Sessions
from mediabox.settings import Settings
from operations import apps as app_ops
from operations import arr as servarr
from operations import audiobookshelf as audiobookshelf_ops
from operations import autobrr as autobrr_ops
from operations import docker, qbittorrent, system
from operations import jellyfin as jellyfin_ops
from operations import seerr as seerr_ops

# Jellyfin's libraries: name -> (collection type, folder in its container).
JELLYFIN_LIBRARIES = {"Movies": ("movies", "/data/media/movies"), "Shows": ("tvshows", "/data/media/tv"),
                      "Music": ("music", "/data/media/music"), "Books": ("books", "/data/media/books")}
# What the N3450's Quick Sync (Apollo Lake, Gen9) decodes in hardware; VAAPI gets the same list.
HARDWARE_DECODING = ["h264", "hevc", "mpeg2video", "vc1", "vp8"]
# Audiobookshelf's libraries: name -> (media type, folder in its container).
AUDIOBOOKSHELF_LIBRARIES = {"Audiobooks": ("book", "/audiobooks"), "Podcasts": ("podcast", "/podcasts")}
# When Seerr has Radarr search for a requested movie: once it is released.
SEERR_MINIMUM_AVAILABILITY = "released"
# The name of the API key mediabox makes in the apps that make their own (Jellyfin, Audiobookshelf, autobrr).
KEY_LABEL = "mediabox"


def apply(run: Run, s: Settings) -> None:
    if "docker_guests" not in run.roles[host.name]:
        return
    if s.enabled("qbittorrent"):
        _qbittorrent(run, s)
    apps = {name: _servarr(run, s, name, wiring) for name, wiring in arr.WIRED.items() if s.enabled(name)}
    if s.enabled("prowlarr"):
        _prowlarr(run, s, apps)
    if s.enabled("autobrr"):
        _autobrr(run, s, apps)
    if s.enabled("jellyfin"):
        jellyfin_connection = _jellyfin(run, s)
        if s.enabled("seerr"):
            _seerr(run, s, jellyfin_connection)
    if s.enabled("audiobookshelf"):
        _audiobookshelf(run, s)
    if s.enabled("tubearchivist"):  # its user is made by TubeArchivist itself, from TA_USERNAME and TA_PASSWORD
        _api_key(run, "tubearchivist", tubearchivist.Connection(
            _url(s, "tubearchivist"), s.apps_admin_user, run.secrets["tubearchivist_password"], s.apps_ready_timeout_s))
    if s.enabled("homepage"):
        _homepage(run, s)


def _url(s: Settings, name: str) -> str:
    return f"http://{s.guest_ip.ip}:{s.port(SERVICES[name])}"


def _qbittorrent(run: Run, s: Settings) -> None:
    connection = qbt.Connection(_url(s, "qbittorrent"), s.apps_admin_user, run.secrets["qbittorrent_password"],
                                s.apps_ready_timeout_s, sessions=Sessions.beside(run.secrets.path))
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
                           wanted={name: f"/data/downloads/complete/{name}"
                                   for name in layout.categories([svc.name for svc in s.enabled_services()])})


def _servarr(run: Run, s: Settings, name: str, wiring: arr.Wiring) -> arr.Connection:
    svc = SERVICES[name]
    app = arr.Connection(svc.title, _url(s, name), run.secrets[f"{name}_api_key"], wiring.api, s.apps_ready_timeout_s)
    servarr.root_folders(name=f"{svc.title} root folder", app=app, paths=[f"/data/media/{wiring.library}"],
                         library=wiring.library_defaults)
    servarr.settings(name=f"{svc.title} imports by hard link", app=app, section="mediamanagement",
                     wanted={"copyUsingHardlinks": True})
    if s.enabled("qbittorrent"):
        qbittorrent_svc = SERVICES["qbittorrent"]
        servarr.download_client(
            name=f"{svc.title} download client", app=app, label="qBittorrent",
            fields={"host": qbittorrent_svc.internal_host, "port": qbittorrent_svc.inner_port, "useSsl": False,
                    "urlBase": "", "username": s.apps_admin_user, "password": run.secrets["qbittorrent_password"],
                    wiring.category_field: wiring.category},
            top={"priority": 1, "removeCompletedDownloads": True, "removeFailedDownloads": True})
    return app


def _prowlarr(run: Run, s: Settings, apps: dict[str, arr.Connection]) -> None:
    prowlarr = SERVICES["prowlarr"]
    connection = arr.Connection(prowlarr.title, _url(s, "prowlarr"), run.secrets["prowlarr_api_key"], "v1",
                                s.apps_ready_timeout_s)
    types = {name: arr.WIRED[name].prowlarr_type for name in apps}
    if s.enabled("mylar3"):
        types["mylar3"] = "Mylar"  # its key is seeded into its config.ini
    for name, implementation in types.items():
        svc = SERVICES[name]
        servarr.application(name=f"Prowlarr application {svc.title}", app=connection,
                            implementation=implementation, label=svc.title,
                            fields={"prowlarrUrl": prowlarr.internal_url, "baseUrl": svc.internal_url,
                                    "apiKey": run.secrets[f"{name}_api_key"]},
                            top={"syncLevel": "fullSync"})


def _autobrr(run: Run, s: Settings, apps: dict[str, arr.Connection]) -> None:
    connection = autobrr.Connection(_url(s, "autobrr"), s.apps_admin_user, run.secrets["autobrr_password"],
                                    s.apps_ready_timeout_s)
    autobrr_ops.user(name="autobrr user", autobrr=connection)
    _api_key(run, "autobrr", connection)
    if s.enabled("qbittorrent"):
        qbittorrent_svc = SERVICES["qbittorrent"]
        # Both behind the VPN share gluetun's network namespace: qBittorrent is on autobrr's own loopback.
        host_name = "127.0.0.1" if SERVICES["autobrr"].vpn and qbittorrent_svc.vpn else qbittorrent_svc.internal_host
        autobrr_ops.download_client(
            name="autobrr download client qBittorrent", autobrr=connection, label="qBittorrent",
            wanted={"type": "QBITTORRENT", "enabled": True, "host": f"http://{host_name}",
                    "port": qbittorrent_svc.inner_port, "tls": False, "username": s.apps_admin_user,
                    "password": run.secrets["qbittorrent_password"]})
    for name in apps:
        svc = SERVICES[name]
        autobrr_ops.download_client(
            name=f"autobrr download client {svc.title}", autobrr=connection, label=svc.title,
            wanted={"type": name.upper(), "enabled": True, "host": svc.internal_url,
                    "settings": {"apikey": run.secrets[f"{name}_api_key"]}})


def _api_key(run: Run, name: str, connection) -> None:
    """The API key an app makes itself, kept in the secrets file as <name>_api_key (per guest when there are several:
    secrets.key_name), which Homepage's widget uses."""
    app_ops.api_key(name=f"{SERVICES[name].title} API key in the secrets file", app=connection, label=KEY_LABEL,
                    secret=key_name(name, run.key_scope(host.name)), secrets=run.secrets)


def _jellyfin(run: Run, s: Settings) -> jellyfin.Connection:
    connection = jellyfin.Connection(_url(s, "jellyfin"), s.apps_admin_user, run.secrets["jellyfin_password"],
                                     s.apps_ready_timeout_s)
    jellyfin_ops.startup_wizard(name="Jellyfin startup wizard", jellyfin=connection)
    jellyfin_ops.libraries(name="Jellyfin libraries", jellyfin=connection, wanted=JELLYFIN_LIBRARIES)
    wanted = {"HardwareAccelerationType": s.jellyfin_hwaccel}
    if s.jellyfin_hwaccel != "none":
        wanted |= {"VaapiDevice": "/dev/dri/renderD128", "EnableHardwareEncoding": True,
                   "HardwareDecodingCodecs": HARDWARE_DECODING, "EnableDecodingColorDepth10Hevc": True}
    jellyfin_ops.encoding(name=f"Jellyfin transcoding ({s.jellyfin_hwaccel})", jellyfin=connection, wanted=wanted)
    _api_key(run, "jellyfin", connection)
    return connection


def _seerr(run: Run, s: Settings, jellyfin_connection: jellyfin.Connection) -> None:
    connection = seerr.Connection(_url(s, "seerr"), run.secrets["seerr_api_key"], s.apps_ready_timeout_s)
    jellyfin_svc = SERVICES["jellyfin"]
    seerr_ops.media_server(name="Seerr linked to Jellyfin", seerr=connection, jellyfin=jellyfin_connection,
                           hostname=jellyfin_svc.internal_host, port=jellyfin_svc.inner_port)
    seerr_ops.libraries(name="Seerr libraries", seerr=connection, jellyfin=jellyfin_connection,
                        names=[name for name, (kind, _) in JELLYFIN_LIBRARIES.items() if kind in ("movies", "tvshows")])
    extras = {"sonarr": {"enableSeasonFolders": True}, "radarr": {"minimumAvailability": SEERR_MINIMUM_AVAILABILITY}}
    for kind, extra in extras.items():
        if not s.enabled(kind):
            continue
        svc = SERVICES[kind]
        seerr_ops.server(name=f"Seerr sends requests to {svc.title}", seerr=connection, kind=kind,
                         profile=s.seerr_quality_profile,
                         settings={"name": svc.title, "hostname": svc.internal_host, "port": svc.inner_port,
                                   "apiKey": run.secrets[f"{kind}_api_key"],
                                   "activeDirectory": f"/data/media/{arr.WIRED[kind].library}", **extra})
    seerr_ops.initialized(name="Seerr setup done", seerr=connection)


def _audiobookshelf(run: Run, s: Settings) -> None:
    connection = audiobookshelf.Connection(_url(s, "audiobookshelf"), s.apps_admin_user,
                                           run.secrets["audiobookshelf_password"], s.apps_ready_timeout_s)
    audiobookshelf_ops.root_user(name="Audiobookshelf root user", audiobookshelf=connection)
    audiobookshelf_ops.libraries(name="Audiobookshelf libraries", audiobookshelf=connection,
                                 wanted=AUDIOBOOKSHELF_LIBRARIES)
    _api_key(run, "audiobookshelf", connection)


def _homepage(run: Run, s: Settings) -> None:
    system.files_present(name="Homepage services and widgets", files={  # Homepage only reads them
        f"{compose.APPDATA}/homepage/services.yaml": [homepage.services_yaml(s), "644"],
        f"{compose.APPDATA}/homepage/widgets.yaml": [homepage.widgets_yaml(), "644"]})
    # Rendered again when this operation runs, after the keys above were kept: on a run that made one, Homepage's
    # env file differs and Homepage alone is recreated (it keeps no data: no snapshot of appdata is needed).
    homepage_svc = SERVICES["homepage"]
    docker.service_env(name="Homepage has the keys the apps made", path=s.stack_dir, service=homepage_svc.host_name,
                       text=lambda: stack.plan(run, host.name)[0].env_files.get(
                           f"{compose.ENV_DIR}/{homepage_svc.host_name}.env"),
                       timeout_s=s.stack_health_timeout_s)
