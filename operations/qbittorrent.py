"""Operations for qBittorrent: its config seeded before the first start (over SSH), then preferences and
categories over its WebUI API (reads in the operation body, writes in a FunctionCommand)."""

from __future__ import annotations

from collections.abc import Callable

from pyinfra import host
from pyinfra.api import OperationValueError, operation
from pyinfra.facts.files import File

from mediabox import plan
from mediabox.apps import AppCommand, AppError, deferred_while_down
from mediabox.qbt import Connection
from mediabox.readahead import reads
from operations.storage import seed_file


@reads(lambda path, **_: [(File, {"path": path})])
@operation()
def seed_config(path: str, username: str, password_pbkdf2: str | Callable[[], str], webui_port: int, listen_port: int,
                owner: str):
    """
    Write qBittorrent.conf before qBittorrent first starts, so it never runs with a default or temporary
    password: the WebUI user and password hash, the legal notice accepted, the ports, UPnP off and the
    download folders. An existing file is qBittorrent's own and is never touched.

    + path: the file as the guest sees it, e.g. ``/appdata/qbittorrent/qBittorrent/qBittorrent.conf``
    + username: the WebUI user
    + password_pbkdf2: mediabox.qbt.password_hash(password), or a function that returns it, called only when the
      file is written (PBKDF2 costs ~0.1 s of CPU, which every run would otherwise spend)
    + webui_port: the WebUI port inside the container
    + listen_port: the BitTorrent port
    + owner: ``uid:gid`` the app runs as

    **Example:**

    .. code:: python

        qbittorrent.seed_config(path="/appdata/qbittorrent/qBittorrent/qBittorrent.conf", username="admin",
                                password_pbkdf2=lambda: qbt.password_hash(secret), webui_port=8080,
                                listen_port=6881, owner="1000:1000")
    """
    if not path.startswith("/") or not (callable(password_pbkdf2) or _is_hash(password_pbkdf2)):
        raise OperationValueError("seed_config needs an absolute path and a hash from mediabox.qbt.password_hash")
    yield from seed_file._inner(path=path, text=lambda: _config_text(username, password_pbkdf2, webui_port,
                                                                     listen_port), owner=owner, kept_by="qBittorrent")


def _is_hash(value: object) -> bool:
    return isinstance(value, str) and value.startswith("@ByteArray(")


def _config_text(username: str, password_pbkdf2: str | Callable[[], str], webui_port: int, listen_port: int) -> str:
    password_pbkdf2 = password_pbkdf2() if callable(password_pbkdf2) else password_pbkdf2
    return "\n".join([
        "[LegalNotice]", "Accepted=true", "",
        "[BitTorrent]", "Session\\DefaultSavePath=/data/downloads/complete", f"Session\\Port={listen_port}",
        "Session\\TempPath=/data/downloads/incomplete", "Session\\TempPathEnabled=true", "",
        "[Preferences]", "Connection\\UPnP=false", "WebUI\\Address=*", f"WebUI\\Port={webui_port}",
        f"WebUI\\Username={username}", f'WebUI\\Password_PBKDF2="{password_pbkdf2}"', "",
    ])


@operation()
@deferred_while_down
def preferences(qbt: Connection, wanted: dict):
    """
    Ensure qBittorrent's preferences have these values: only the keys that differ are sent. A
    ``current_network_interface`` must be one qBittorrent lists (the VPN's, e.g. ``tun0``).

    + qbt: the connection (mediabox.qbt.Connection)
    + wanted: preference keys and values, e.g. ``{"save_path": "/data/downloads/complete", "upnp": False}``

    **Example:**

    .. code:: python

        qbittorrent.preferences(qbt=connection, wanted={"listen_port": 6881, "current_network_interface": "tun0"})
    """
    if not wanted:
        raise OperationValueError("preferences needs at least one key")
    current = dict(qbt.call("read preferences", qbt.client.app_preferences))
    interface = wanted.get("current_network_interface")
    if interface:
        names = [item.get("value") for item in qbt.call("list interfaces", qbt.client.app_network_interface_list)]
        if interface not in names:
            raise AppError(f"qBittorrent at {qbt.url} sees no interface {interface!r} (it has "
                           f"{', '.join(n for n in names if n) or 'none'}): is the VPN up? See `docker logs gluetun`.")
    update = {key: value for key, value in wanted.items() if not _same(key, current.get(key), value)}
    if not update:
        host.noop(f"qBittorrent preferences match ({len(wanted)} keys)")
        return
    plan.show("qBittorrent preferences", {key: (current.get(key), value) for key, value in update.items()})
    yield AppCommand(_set_preferences, (qbt, update), {})


def _same(key: str, current, wanted) -> bool:
    """qBittorrent may hand folders back with a trailing slash."""
    if key.endswith("path") and isinstance(current, str) and isinstance(wanted, str):
        return current.rstrip("/") == wanted.rstrip("/")
    return current == wanted


def _set_preferences(qbt: Connection, update: dict) -> None:
    qbt.call(f"set preferences {', '.join(sorted(update))}", qbt.client.app_set_preferences, prefs=update)


@operation()
@deferred_while_down
def categories(qbt: Connection, wanted: dict[str, str]):
    """
    Ensure download categories exist with these save paths: missing ones are created, a different path
    is edited, categories not listed are left alone.

    + qbt: the connection (mediabox.qbt.Connection)
    + wanted: category name -> save path, e.g. ``{"tv": "/data/downloads/complete/tv"}``

    **Example:**

    .. code:: python

        qbittorrent.categories(qbt=connection, wanted={"tv": "/data/downloads/complete/tv"})
    """
    if not wanted or any(not path.startswith("/") for path in wanted.values()):
        raise OperationValueError("categories needs names with absolute save paths")
    current = {name: dict(item) for name, item in qbt.call("read categories", qbt.client.torrents_categories).items()}
    missing = {name: path for name, path in wanted.items() if name not in current}
    moved = {name: path for name, path in wanted.items()
             if name in current and current[name].get("savePath", "").rstrip("/") != path.rstrip("/")}
    if not missing and not moved:
        host.noop(f"qBittorrent categories {', '.join(sorted(wanted))} exist")
        return
    plan.show("qBittorrent categories", {f"{name}.savePath": (current.get(name, {}).get("savePath", plan.UNSET), path)
                                         for name, path in {**missing, **moved}.items()})
    yield AppCommand(_write_categories, (qbt, missing, moved), {})


def _write_categories(qbt: Connection, missing: dict[str, str], moved: dict[str, str]) -> None:
    for name, path in sorted(missing.items()):
        qbt.call(f"create category {name}", qbt.client.torrents_create_category, name=name, save_path=path)
    for name, path in sorted(moved.items()):
        qbt.call(f"edit category {name}", qbt.client.torrents_edit_category, name=name, save_path=path)
