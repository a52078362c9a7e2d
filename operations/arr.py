"""Operations on the Servarr apps' APIs: root folders, settings sections, the qBittorrent download client and
Prowlarr's applications. Reads happen in the operation body; writes go in a FunctionCommand. A secret reads
back masked: it is checked with the app's own test call, and sent only when a provider is created, changed
or fails that test, never compared and never written back as the mask."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import OperationValueError, operation
from pyinfra.facts.files import File

from mediabox import plan
from mediabox.apps import AppCommand, AppError, Sealed, deferred_while_down
from mediabox.arr import MASK, Connection
from mediabox.readahead import reads
from operations.storage import seed_file


@reads(lambda path, **_: [(File, {"path": path})])
@operation()
def seed_config(path: str, api_key: str, owner: str):
    """
    Write a Servarr app's config.xml before its first start, for an app that reads no API key from its
    environment (Readarr): the key, and forms login not required from the LAN. An existing file is the app's
    own and is never touched. The file is 0600: it holds the key.

    + path: the file as the guest sees it, e.g. ``/appdata/readarr/config.xml``
    + api_key: 32 lowercase hex characters
    + owner: ``uid:gid`` the app runs as

    **Example:**

    .. code:: python

        arr.seed_config(path="/appdata/readarr/config.xml", api_key=secret, owner="1000:1000")
    """
    if not path.startswith("/") or len(api_key) != 32:
        raise OperationValueError("seed_config needs an absolute path and a 32-character API key")
    text = (f"<Config>\n  <ApiKey>{api_key}</ApiKey>\n  <AuthenticationMethod>Forms</AuthenticationMethod>\n"
            "  <AuthenticationRequired>DisabledForLocalAddresses</AuthenticationRequired>\n</Config>\n")
    yield from seed_file._inner(path=path, text=text, owner=owner, kept_by="the app")


@operation()
@deferred_while_down
def root_folders(app: Connection, paths: list[str], library: dict | None = None):
    """
    Ensure an app has these root folders (the library folders under /data/media). Folders the app has
    besides these are left alone; none is ever deleted.

    + app: the app's connection (mediabox.arr.Connection)
    + paths: absolute paths inside the container, e.g. ``["/data/media/tv"]``
    + library: for Lidarr and Readarr, whose folders carry defaults: ``quality_profile`` and
      ``metadata_profile`` (names), ``monitor`` and ``new_items`` (monitoring options)

    **Example:**

    .. code:: python

        arr.root_folders(app=sonarr, paths=["/data/media/tv"])
        arr.root_folders(app=lidarr, paths=["/data/media/music"], library={"quality_profile": "Any",
                         "metadata_profile": "Standard", "monitor": "all", "new_items": "all"})
    """
    if not paths or any(not path.startswith("/") for path in paths):
        raise OperationValueError(f"root folders are absolute paths, got {paths!r}")
    present = {folder["path"].rstrip("/") for folder in app.get("/rootfolder")}
    missing = [path for path in paths if path.rstrip("/") not in present]
    if not missing:
        host.noop(f"{app.title} has its root folder(s) {', '.join(paths)}")
        return
    defaults = _library_defaults(app, library) if library else {}
    bodies = [{"path": path, **({"name": path.rstrip("/").rsplit("/", 1)[-1].title()} if library else {}),
               **defaults} for path in missing]
    for path in missing:
        plan.note(f"{app.title}: add root folder {path}")
    yield AppCommand(_post_all, (app, "/rootfolder", bodies), {})


def _library_defaults(app: Connection, library: dict) -> dict:
    ids = {}
    for key, resource in (("quality_profile", "qualityprofile"), ("metadata_profile", "metadataprofile")):
        profiles = {profile["name"]: profile["id"] for profile in app.get(f"/{resource}")}
        if library[key] not in profiles:
            raise AppError(f"{app.title} has no {key.replace('_', ' ')} named {library[key]!r} (it has "
                           f"{', '.join(sorted(profiles)) or 'none'}); set one of those in the settings.")
        ids[key] = profiles[library[key]]
    return {"defaultQualityProfileId": ids["quality_profile"], "defaultMetadataProfileId": ids["metadata_profile"],
            "defaultMonitorOption": library["monitor"], "defaultNewItemMonitorOption": library["new_items"],
            "defaultTags": []}


def _post_all(app: Connection, path: str, bodies: list[dict]) -> None:
    for body in bodies:
        app.post(path, body)


@operation()
@deferred_while_down
def settings(app: Connection, section: str, wanted: dict):
    """
    Ensure a settings section of an app (``/config/<section>``) has these values; the section is read whole
    and PUT back whole with only these keys changed.

    + app: the app's connection
    + section: e.g. ``mediamanagement``
    + wanted: keys and values, e.g. ``{"copyUsingHardlinks": True}``

    **Example:**

    .. code:: python

        arr.settings(app=sonarr, section="mediamanagement", wanted={"copyUsingHardlinks": True})
    """
    if not wanted:
        raise OperationValueError("settings needs at least one key")
    current = app.get(f"/config/{section}")
    differs = sorted(key for key, value in wanted.items() if current.get(key) != value)
    if not differs:
        host.noop(f"{app.title} {section} settings match")
        return
    plan.show(f"{app.title} {section} settings", {key: (current.get(key), wanted[key]) for key in differs})
    yield AppCommand(_put_settings, (app, section, {**current, **wanted}), {})


def _put_settings(app: Connection, section: str, body: dict) -> None:
    app.put(f"/config/{section}/{body['id']}", body)


@operation()
@deferred_while_down
def download_client(app: Connection, label: str, fields: dict, top: dict | None = None,
                    secret_fields: tuple[str, ...] = ("password",)):
    """
    Ensure an app has a qBittorrent download client with these settings, built from the app's own schema
    template: created when no client has this name; else written when a setting differs or when the app's
    test of the stored client fails (a wrong stored password), and left alone otherwise.

    + app: the app's connection
    + label: the client's name, unique in the app, e.g. ``qBittorrent``
    + fields: schema field values, e.g. ``{"host": "gluetun", "port": 8080, "tvCategory": "tv", ...}``
    + top: top-level values, e.g. ``{"enable": True, "priority": 1, "removeCompletedDownloads": True}``
    + secret_fields: fields whose value reads back masked

    **Example:**

    .. code:: python

        arr.download_client(app=sonarr, label="qBittorrent", fields={"host": "gluetun", "port": 8080,
                            "username": "admin", "password": secret, "tvCategory": "tv"})
    """
    yield from _provider(app, "downloadclient", "QBittorrent", label, fields, top, secret_fields)


@operation()
@deferred_while_down
def application(app: Connection, implementation: str, label: str, fields: dict, top: dict | None = None,
                secret_fields: tuple[str, ...] = ("apiKey",)):
    """
    Ensure Prowlarr syncs its indexers to an app: an application of this implementation, from Prowlarr's
    schema template, created when none has this name, else written when a setting differs or when
    Prowlarr's test of the stored one fails (a wrong stored API key).

    + app: Prowlarr's connection
    + implementation: ``Sonarr``, ``Radarr``, ``Lidarr``, ``Readarr``, ``Whisparr`` or ``Mylar``
    + label: the application's name in Prowlarr, e.g. ``Sonarr``
    + fields: e.g. ``{"prowlarrUrl": "http://gluetun:9696", "baseUrl": "http://sonarr:8989", "apiKey": key}``
    + top: e.g. ``{"syncLevel": "fullSync"}``
    + secret_fields: fields whose value reads back masked

    **Example:**

    .. code:: python

        arr.application(app=prowlarr, implementation="Sonarr", label="Sonarr", fields={...},
                        top={"syncLevel": "fullSync"})
    """
    yield from _provider(app, "applications", implementation, label, fields, top, secret_fields)


def _provider(app: Connection, resource: str, implementation: str, name: str, fields: dict, top: dict | None,
              secret_fields: tuple[str, ...]):
    """A provider resource (download client, application): read, diff, write only the difference."""
    if not name or not fields:
        raise OperationValueError(f"a {resource} entry needs a name and fields")
    top = {"enable": True, **(top or {})} if resource == "downloadclient" else dict(top or {})
    current = next((item for item in app.shared(f"/{resource}") if item["name"].lower() == name.lower()), None)
    if current is None:
        template = next((t for t in app.get(f"/{resource}/schema") if t["implementation"] == implementation), None)
        if template is None:
            raise OperationValueError(f"{app.title} offers no {implementation} in /{resource}/schema")
        plan.note(f"{app.title}: add {_KINDS[resource]} {name} ({implementation})")
        yield AppCommand(_create, (app, resource, _filled(template, name, fields, top)), {})
        return
    values = {field["name"]: field.get("value") for field in current["fields"]}
    # An app that does not mask (Readarr) shows its secrets: those are compared like any other field.
    masked = [key for key in secret_fields if key in fields and values.get(key) == MASK]
    differs = [key for key, value in fields.items() if key not in masked and values.get(key) != value]
    differs += [key for key, value in top.items() if current.get(key) != value]
    if current["implementation"] != implementation:
        raise AppError(f"{app.title} has a {resource} entry named {name!r} of type {current['implementation']}, "
                       f"not {implementation}: rename or delete it in {app.title}.")
    if not differs and (not masked or app.passes_test(resource, current)):
        host.noop(f"{app.title} has {_KINDS[resource]} {name}")
        return
    subject = f"{app.title} {_KINDS[resource]} {name}"
    plan.show(subject, {key: (values.get(key), fields[key]) if key in fields else (current.get(key), top[key])
                        for key in differs})
    if not differs:
        plan.note(f"{subject}: its stored secret fails the app's test, so it is written again")
    yield AppCommand(_update, (app, resource, _filled(current, name, fields, top)), {})


_KINDS = {"downloadclient": "download client", "applications": "application"}


def _filled(resource: dict, name: str, fields: dict, top: dict) -> Sealed:
    body = Sealed({**{k: v for k, v in resource.items() if k not in ("presets", "message")}, **top, "name": name})
    body["fields"] = [{**field, "value": fields[field["name"]]} if field["name"] in fields else field
                      for field in resource["fields"]]
    return body


def _create(app: Connection, resource: str, body: dict) -> None:
    app.post(f"/{resource}", body)


def _update(app: Connection, resource: str, body: dict) -> None:
    app.put(f"/{resource}/{body['id']}", body)
