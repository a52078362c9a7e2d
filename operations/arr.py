"""Operations on the Servarr apps' APIs: root folders and the qBittorrent download client. Reads happen in
the operation body; writes go in a FunctionCommand; masked secrets are never written back as values."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import FunctionCommand, OperationValueError, operation

from mediabox.arr import MASK, Connection


@operation()
def root_folders(app: Connection, paths: list[str]):
    """
    Ensure an app has these root folders (the library folders under /data/media). Folders the app has
    besides these are left alone; none is ever deleted.

    + app: the app's connection (mediabox.arr.Connection)
    + paths: absolute paths inside the container, e.g. ``["/data/media/tv"]``

    **Example:**

    .. code:: python

        arr.root_folders(app=sonarr, paths=["/data/media/tv"])
    """
    if not paths or any(not path.startswith("/") for path in paths):
        raise OperationValueError(f"root folders are absolute paths, got {paths!r}")
    present = {folder["path"].rstrip("/") for folder in app.get("/rootfolder")}
    missing = [path for path in paths if path.rstrip("/") not in present]
    if not missing:
        host.noop(f"{app.title} has its root folder(s) {', '.join(paths)}")
        return
    yield FunctionCommand(_add_root_folders, (app, missing), {})


def _add_root_folders(app: Connection, paths: list[str]) -> None:
    for path in paths:
        app.post("/rootfolder", {"path": path})


@operation()
def download_client(app: Connection, name: str, fields: dict, top: dict | None = None,
                    secret_fields: tuple[str, ...] = ("password",)):
    """
    Ensure an app has a qBittorrent download client with these settings, built from the app's own schema
    template: created when no client has this name, else PUT only when a setting differs. A secret field
    reads back masked; it is sent only when the client is created or its other settings change (then the
    stored value is kept by sending the mask back), never compared.

    + app: the app's connection
    + name: the client's name, unique in the app, e.g. ``qBittorrent``
    + fields: schema field values, e.g. ``{"host": "gluetun", "port": 8080, "tvCategory": "tv", ...}``
    + top: top-level values, e.g. ``{"enable": True, "priority": 1, "removeCompletedDownloads": True}``
    + secret_fields: fields whose value is masked on reads

    **Example:**

    .. code:: python

        arr.download_client(app=sonarr, name="qBittorrent", fields={"host": "gluetun", "port": 8080,
                            "username": "admin", "password": secret, "tvCategory": "tv"})
    """
    if not name or not fields:
        raise OperationValueError("a download client needs a name and fields")
    current = next((c for c in app.get("/downloadclient") if c["name"].lower() == name.lower()), None)
    top = {"enable": True, **(top or {})}
    if current is None:
        template = next((t for t in app.get("/downloadclient/schema") if t["implementation"] == "QBittorrent"), None)
        if template is None:
            raise OperationValueError(f"{app.title} offers no QBittorrent download client")
        yield FunctionCommand(_create_client, (app, _filled(template, name, fields, top)), {})
        return
    values = {field["name"]: field.get("value") for field in current["fields"]}
    differs = [key for key, value in fields.items() if key not in secret_fields and values.get(key) != value]
    differs += [key for key, value in top.items() if current.get(key) != value]
    if not differs:
        host.noop(f"{app.title} has download client {name}")
        return
    masked = {key: MASK for key in secret_fields if key in fields}
    yield FunctionCommand(_update_client, (app, _filled(current, name, {**fields, **masked}, top)), {})


def _filled(resource: dict, name: str, fields: dict, top: dict) -> dict:
    body = {**{k: v for k, v in resource.items() if k not in ("presets", "message")}, **top, "name": name}
    body["fields"] = [{**field, "value": fields[field["name"]]} if field["name"] in fields else field
                      for field in resource["fields"]]
    return body


def _create_client(app: Connection, body: dict) -> None:
    app.post("/downloadclient", body)


def _update_client(app: Connection, body: dict) -> None:
    app.put(f"/downloadclient/{body['id']}", body)
