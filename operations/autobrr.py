"""Operations on autobrr's API: its user, and its download clients (qBittorrent, and the Servarr apps it pushes
releases to). Reads happen in the operation body; writes go in a FunctionCommand. A stored secret reads back as
"<redacted>": it is checked with autobrr's own test, and sent only when a client is created, changed or fails
that test, never compared and never written back as the redaction. autobrr saves a client without testing it,
so every client written is tested right after."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import OperationValueError, operation

from mediabox import plan
from mediabox.apps import AppCommand, AppError, Sealed, deferred_while_down
from mediabox.autobrr import REDACTED, Connection

CLIENT_TYPES = ("QBITTORRENT", "SONARR", "RADARR", "LIDARR", "READARR", "WHISPARR")
SECRETS = (("password",), ("settings", "apikey"))  # where a client holds a secret


@operation()
@deferred_while_down
def user(autobrr: Connection):
    """
    Make autobrr's user on a fresh server (onboarding), with the connection's user name and password; a server
    that has one is left alone (the password is then checked by logging in).

    + autobrr: the connection (mediabox.autobrr.Connection), holding the user and password

    **Example:**

    .. code:: python

        autobrr.user(autobrr=connection)
    """
    if not autobrr.username:
        raise OperationValueError("autobrr's user needs a name")
    if not autobrr.onboarding_open():
        host.noop("autobrr has its user")
        return
    plan.note(f"autobrr: make the user {autobrr.username}")
    yield AppCommand(_onboard, (autobrr,), {})


def _onboard(autobrr: Connection) -> None:
    autobrr.onboard()


@operation()
@deferred_while_down
def download_client(autobrr: Connection, label: str, wanted: dict):
    """
    Ensure autobrr has a download client with these settings: created when none has this name; else written
    when a setting differs or when autobrr's test of the stored client fails (a wrong stored password or key),
    and left alone otherwise. Settings autobrr has besides these (its rules, say) are kept.

    + autobrr: the connection
    + label: the client's name, unique in autobrr, e.g. ``qBittorrent``
    + wanted: the client's fields: ``type`` (QBITTORRENT, SONARR, RADARR, LIDARR, READARR or WHISPARR),
      ``host``, and any of ``enabled``, ``port``, ``tls``, ``username``, ``password``, ``settings``

    **Example:**

    .. code:: python

        autobrr.download_client(autobrr=connection, label="Sonarr", wanted={"type": "SONARR",
                                "enabled": True, "host": "http://sonarr:8989", "settings": {"apikey": key}})
    """
    if not label or wanted.get("type") not in CLIENT_TYPES or not wanted.get("host"):
        raise OperationValueError(f"a download client needs a name, a type ({', '.join(CLIENT_TYPES)}) and a "
                                  f"host, got {label!r} and {sorted(wanted)}")
    current = next((c for c in autobrr.shared("/api/download_clients") if c["name"].lower() == label.lower()), None)
    if current is None:
        plan.note(f"autobrr: add download client {label} ({wanted['type']})")
        yield AppCommand(_create, (autobrr, Sealed({"name": label, **wanted})), {})
        return
    if current["type"] != wanted["type"]:
        raise AppError(f"autobrr has a download client named {label!r} of type {current['type']}, not "
                       f"{wanted['type']}: rename or delete it in autobrr (Settings > Clients).")
    redacted = [path for path in SECRETS if _at(wanted, path) and _at(current, path) == REDACTED]
    differs = [path for path, value in _leaves(wanted) if path not in redacted and _at(current, path) != value]
    if not differs and (not redacted or not autobrr.test_failure(current)):
        host.noop(f"autobrr has download client {label}")
        return
    plan.show(f"autobrr download client {label}", {".".join(path): (_at(current, path), _at(wanted, path))
                                                   for path in differs})
    if not differs:
        plan.note(f"autobrr download client {label}: its stored secret fails autobrr's test, so it is written again")
    yield AppCommand(_update, (autobrr, Sealed(_merged(current, {"name": label, **wanted}))), {})


def _leaves(values: dict, prefix: tuple[str, ...] = ()):
    for key, value in values.items():
        if isinstance(value, dict):
            yield from _leaves(value, (*prefix, key))
        else:
            yield (*prefix, key), value


def _at(values: dict, path: tuple[str, ...]):
    for key in path:
        values = values.get(key) if isinstance(values, dict) else None
    return values


def _merged(current: dict, wanted: dict) -> dict:
    return {key: _merged(current.get(key) or {}, value) if isinstance(value, dict) else value
            for key, value in wanted.items()} | {key: value for key, value in current.items() if key not in wanted}


def _create(autobrr: Connection, body: dict) -> None:
    autobrr.post("/api/download_clients", body)
    _require_passing(autobrr, body["name"])


def _update(autobrr: Connection, body: dict) -> None:
    autobrr.put("/api/download_clients", body)
    _require_passing(autobrr, body["name"])


def _require_passing(autobrr: Connection, label: str) -> None:
    """autobrr stores a client without testing it: the test is run here, so a client that cannot work (a wrong
    address, password or key) stops the run instead of failing the first release autobrr pushes."""
    stored = next(c for c in autobrr.get("/api/download_clients") if c["name"].lower() == label.lower())
    failure = autobrr.test_failure(stored)
    if failure:
        raise AppError(f"autobrr at {autobrr.url}: its download client {label} is saved, but autobrr's test of it "
                       f"fails: {failure}. Check that {label} runs and that the settings and secrets file agree; "
                       "the next run tests it again.")
