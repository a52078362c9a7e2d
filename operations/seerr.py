"""Operations on Seerr's API: linked to Jellyfin (which makes its admin), its Jellyfin libraries enabled,
Sonarr and Radarr as its servers, and its setup ended. Reads happen in the operation body; writes go in a
FunctionCommand."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import OperationValueError, operation

from mediabox import jellyfin as jellyfin_api
from mediabox import plan
from mediabox.apps import AppCommand, AppError, Sealed, deferred_while_down
from mediabox.seerr import JELLYFIN, Connection


@operation()
@deferred_while_down
def media_server(seerr: Connection, jellyfin: jellyfin_api.Connection, hostname: str, port: int):
    """
    Link Seerr to Jellyfin with the Jellyfin administrator's login: Seerr then makes its own admin from
    that user and its API key starts working. A Seerr already linked is left alone (linking again fails).

    + seerr: Seerr's connection (mediabox.seerr.Connection)
    + jellyfin: Jellyfin's connection, whose administrator Seerr logs in as
    + hostname, port: how Seerr reaches Jellyfin on the stack's network (a bare host name)

    **Example:**

    .. code:: python

        seerr.media_server(seerr=seerr_connection, jellyfin=jellyfin_connection, hostname="jellyfin", port=8096)
    """
    if not hostname or "/" in hostname or ":" in hostname:
        raise OperationValueError(f"hostname is a bare host name such as 'jellyfin', got {hostname!r}")
    if seerr.public().get("mediaServerType") == JELLYFIN:
        host.noop("Seerr is linked to Jellyfin")
        return
    plan.note(f"Seerr: link to Jellyfin at {hostname}:{port}")
    yield AppCommand(_link, (seerr, jellyfin, hostname, port), {})


def _link(seerr: Connection, jellyfin: jellyfin_api.Connection, hostname: str, port: int) -> None:
    admin = jellyfin.administrator()
    body = Sealed({"username": admin["Name"], "password": admin["Password"], "hostname": hostname, "port": port,
                   "useSsl": False, "urlBase": "", "email": admin["Name"], "serverType": JELLYFIN})
    try:
        seerr.post("/auth/jellyfin", body)
    except AppError as error:
        raise AppError(f"Seerr at {seerr.url} could not link Jellyfin at {hostname}:{port} as {admin['Name']} "
                       f"(jellyfin_password in the secrets file): {error}") from None


@operation()
@deferred_while_down
def libraries(seerr: Connection, jellyfin: jellyfin_api.Connection, names: list[str]):
    """
    Ensure Seerr watches exactly these Jellyfin libraries, by their current ids in Jellyfin (a library
    made again in Jellyfin has a new id): Seerr reads them from Jellyfin, then enables these by id (its
    library call disables every library it is not given, so it is never made without ids).

    + seerr: Seerr's connection
    + jellyfin: Jellyfin's connection, to read the libraries' ids
    + names: Jellyfin library names (movies and shows only: Seerr offers no other kind), e.g. ``["Movies"]``

    **Example:**

    .. code:: python

        seerr.libraries(seerr=connection, jellyfin=jellyfin_connection, names=["Movies", "Shows"])
    """
    if not names:
        raise OperationValueError("libraries needs at least one library name")
    seerr.require_linked()
    in_jellyfin = {lib["Name"]: lib["ItemId"] for lib in jellyfin.shared("/Library/VirtualFolders")}
    enabled = {lib["name"]: lib["id"] for lib in seerr.get("/settings/jellyfin").get("libraries", []) if lib["enabled"]}
    wanted = {name: in_jellyfin.get(name) for name in names}
    if enabled == wanted:
        host.noop(f"Seerr watches the libraries {', '.join(names)}")
        return
    plan.show("Seerr libraries", plan.diff(enabled, wanted) | plan.removed(enabled, wanted))
    yield AppCommand(_enable_libraries, (seerr, sorted(names)), {})


def _enable_libraries(seerr: Connection, names: list[str]) -> None:
    found = {lib["name"]: lib["id"] for lib in seerr.get("/settings/jellyfin/library", sync="true")}
    missing = [name for name in names if name not in found]
    if missing:
        raise AppError(f"Seerr sees no Jellyfin movie or show library named {', '.join(missing)} (it sees "
                       f"{', '.join(sorted(found)) or 'none'}).")
    seerr.get("/settings/jellyfin/library", enable=",".join(found[name] for name in names))


@operation()
@deferred_while_down
def server(seerr: Connection, kind: str, settings: dict, profile: str):
    """
    Ensure Seerr sends requests to a Sonarr or Radarr: matched by host name and port, created when missing,
    written whole when a setting (the API key included: Seerr shows it) differs. The quality profile is
    given by name; its id comes from Seerr's own test of the server.

    + seerr: Seerr's connection
    + kind: ``sonarr`` or ``radarr``
    + settings: the server's settings: ``name``, ``hostname``, ``port``, ``apiKey``, ``activeDirectory`` and
      any other of Seerr's keys (``minimumAvailability`` for Radarr, ``enableSeasonFolders`` for Sonarr)
    + profile: the quality profile's name in that app, e.g. ``HD-1080p``

    **Example:**

    .. code:: python

        seerr.server(seerr=connection, kind="radarr", profile="HD-1080p", settings={"name": "Radarr",
                     "hostname": "radarr", "port": 7878, "apiKey": key, "activeDirectory": "/data/media/movies",
                     "minimumAvailability": "released"})
    """
    required = ("name", "hostname", "port", "apiKey", "activeDirectory")
    if kind not in ("sonarr", "radarr") or any(key not in settings for key in required):
        raise OperationValueError(f"a Seerr server is sonarr or radarr with {', '.join(required)}")
    seerr.require_linked()
    wanted = {"useSsl": False, "baseUrl": "", "is4k": False, "isDefault": True, "syncEnabled": True,
              "activeProfileName": profile, **settings}
    current = next((s for s in seerr.get(f"/settings/{kind}")
                    if s["hostname"] == settings["hostname"] and s["port"] == settings["port"]), None)
    if current and all(current.get(key) == value for key, value in wanted.items()):
        host.noop(f"Seerr sends {kind} requests to {settings['name']}")
        return
    if current:
        plan.show(f"Seerr {kind} server {settings['name']}", plan.diff(current, wanted))
    else:
        plan.note(f"Seerr: add {kind} server {settings['name']}")
    yield AppCommand(_save_server, (seerr, kind, current["id"] if current else None, Sealed(wanted)), {})


def _save_server(seerr: Connection, kind: str, server_id: int | None, wanted: Sealed) -> None:
    test = seerr.post(f"/settings/{kind}/test", Sealed({key: wanted[key] for key in
                                                        ("hostname", "port", "apiKey", "useSsl", "baseUrl")}))
    profiles = {profile["name"]: profile["id"] for profile in test.get("profiles", [])}
    if wanted["activeProfileName"] not in profiles:
        raise AppError(f"{wanted['name']} has no quality profile {wanted['activeProfileName']!r} (it has "
                       f"{', '.join(profiles) or 'none'}); set one of those in the settings.")
    body = Sealed({**wanted, "activeProfileId": profiles[wanted["activeProfileName"]]})
    if server_id is None:
        seerr.post(f"/settings/{kind}", body)
    else:
        seerr.put(f"/settings/{kind}/{server_id}", {**body, "id": server_id})


@operation()
@deferred_while_down
def initialized(seerr: Connection):
    """
    End Seerr's setup (its wizard), once it is linked and has its servers.

    + seerr: Seerr's connection

    **Example:**

    .. code:: python

        seerr.initialized(seerr=connection)
    """
    seerr.require_linked()
    if seerr.public().get("initialized"):
        host.noop("Seerr's setup is done")
        return
    plan.note("Seerr: finish its setup")
    yield AppCommand(_initialize, (seerr,), {})


def _initialize(seerr: Connection) -> None:
    seerr.post("/settings/initialize", {})
