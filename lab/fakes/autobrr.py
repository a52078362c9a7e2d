"""A stateful fake of autobrr 1.68 validated against a spec written from its source (specs/, which says where each
part comes from: autobrr publishes none).

Modelled on the real server:
- first run: GET /api/auth/onboard is 204 while no user exists; POST /api/auth/onboard makes the only user (503
  once one exists); POST /api/auth/login sets a session cookie ("session") and answers 204, a wrong password 403;
- every other /api call needs the session, an X-API-Token header or ?apikey=: a bad token is 401, no session 403;
- API keys (/api/keys): the server makes the key (32 hex characters) and lists every key in clear;
- download clients (/api/download_clients): stored without a test; PUT carries the id in the body and answers
  201; secrets (password, settings.apikey, the auth passwords) read back as "<redacted>", and "<redacted>" sent
  back keeps the stored value; a client without host or type is a 500, as is a failing test;
- POST /api/download_clients/test logs in to qBittorrent (QBITTORRENT) or calls the app's system/status with its
  key (SONARR, RADARR, LIDARR, READARR, WHISPARR) over the network, as autobrr does (connection_checks=False
  skips it);
- /api/healthz/liveness answers "OK" (as text in the app: served unvalidated, since this fake answers JSON).
"""

from __future__ import annotations

import copy
import os
import secrets
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import yaml

from .openapi import Refused, SpecFake, cookies

SPEC = "autobrr-v1.68.0.openapi.yaml"
REDACTED = "<redacted>"
COOKIE = "session"
# The *arr clients autobrr pushes releases to: type -> the API version of the app's system/status.
ARR_APIS = {"SONARR": "v3", "RADARR": "v3", "WHISPARR": "v3", "LIDARR": "v1", "READARR": "v1"}
PUBLIC = ("/api/healthz/liveness", "/api/auth/onboard", "/api/auth/login")


def autobrr_spec() -> dict:
    return yaml.safe_load((Path(__file__).resolve().parent / "specs" / SPEC).read_text())


def _message(text: str) -> dict:
    return {"message": text}


class AutobrrFake(SpecFake):
    name = "autobrr"
    unvalidated = ("/api/healthz/liveness",)
    not_writes = ("/api/auth/login",)  # a login changes no setting

    def __init__(self, config_dir: str | None = None, connection_checks: bool = True):
        super().__init__(autobrr_spec(), os.path.join(config_dir, "fake-state.json") if config_dir else None)
        self.connection_checks = connection_checks
        self.sessions: set[str] = set()  # in memory, as scs keeps them in autobrr's database: a restart logs out

    def first_run_state(self) -> dict:
        return {"user": None, "keys": [], "clients": [], "next_id": 0}

    def authorized(self, path: str, headers: dict, query: dict) -> bool:
        if path in PUBLIC:
            return True
        token = headers.get("X-API-Token") or query.get("apikey")
        if token:
            return token in {k["key"] for k in self.state["keys"]}
        return cookies(headers).get(COOKIE) in self.sessions

    def handle(self, method: str, raw_path: str, headers: dict, body: bytes) -> tuple[int, object, dict]:
        status, payload, extra = super().handle(method, raw_path, headers, body)
        if status == 401 and not (headers.get("X-API-Token") or "apikey=" in raw_path):
            return 403, "Forbidden\n", {}  # no session: IsAuthenticated's answer
        return status, payload, extra

    def route(self, method: str, path: str, query: dict, body):
        if path == "/api/healthz/liveness":
            return 200, "OK"
        if path == "/api/auth/onboard":
            return self._onboard(method, body)
        if path == "/api/auth/login":
            return self._login(body)
        if path == "/api/keys":
            return self._keys(method, body)
        if path.startswith("/api/keys/") and method == "DELETE":
            key = urllib.parse.unquote(path.removeprefix("/api/keys/"))
            found = next((k for k in self.state["keys"] if k["key"] == key), None)
            if found is None:
                raise Refused(404, _message(f"api key {key} not found"))
            self.state["keys"].remove(found)
            return 204, None
        if path == "/api/download_clients/test" and method == "POST":
            self._test(self._unredacted(body))
            return 204, None
        if path == "/api/download_clients":
            return self._clients(method, body)
        if path.startswith("/api/download_clients/"):
            found = self._client(int(path.rsplit("/", 1)[1]))
            if found is None:
                raise Refused(404, _message("download client not found"))
            if method == "DELETE":
                self.state["clients"].remove(found)
                return 204, None
            return 200, self._redacted(found)
        raise Refused(404)

    # ------------------------------------------------------------------------------ users and sessions

    def _onboard(self, method: str, body):
        if self.state["user"]:
            raise Refused(503, _message("onboarding unavailable: user already registered"))
        if method == "GET":
            return 204, None
        if not body.get("username") or not body.get("password"):
            raise Refused(403, _message("validation error: empty username or password supplied"))
        self.state["user"] = {"username": body["username"], "password": body["password"]}
        return 200, _message("user successfully created")

    def _login(self, body):
        user = self.state["user"]
        if not user or body.get("username") != user["username"] or body.get("password") != user["password"]:
            raise Refused(403, _message("could not login: bad credentials"))
        session = secrets.token_urlsafe(32)
        self.sessions.add(session)
        return 204, None, {"Set-Cookie": f"{COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax"}

    # ------------------------------------------------------------------------------ API keys

    def _keys(self, method: str, body):
        if method == "GET":
            return 200, self.state["keys"]
        key = {"name": body.get("name", ""), "key": secrets.token_hex(16), "scopes": body.get("scopes") or [],
               "created_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")}
        self.state["keys"].append(key)
        return 201, key

    # ------------------------------------------------------------------------------ download clients

    def _client(self, client_id) -> dict | None:
        return next((c for c in self.state["clients"] if c["id"] == client_id), None)

    def _clients(self, method: str, body):
        if method == "GET":
            return 200, [self._redacted(c) for c in self.state["clients"]]
        _validate(body)
        if method == "POST":
            client = {**_as_stored(body), "id": self.new_id()}
            self.state["clients"].append(client)
            return 201, self._redacted(client)
        stored = self._client(body.get("id"))
        if stored is None:
            raise Refused(500, _message("record not found"))
        client = _as_stored(self._unredacted(body))
        self.state["clients"][self.state["clients"].index(stored)] = client
        return 201, self._redacted(client)

    @staticmethod
    def _redacted(client: dict) -> dict:
        shown = copy.deepcopy(client)
        for holder, key in _secrets(shown):
            if holder.get(key):
                holder[key] = REDACTED
        return shown

    def _unredacted(self, body: dict) -> dict:
        """The body with every "<redacted>" replaced by the stored client's value (none stored: kept as sent)."""
        client = copy.deepcopy(body)
        stored = self._client(client.get("id")) if client.get("id") else None
        if stored:
            for (holder, key), (kept, _) in zip(_secrets(client), _secrets(copy.deepcopy(stored)), strict=True):
                if holder.get(key) == REDACTED:
                    holder[key] = kept.get(key, "")
        return client

    # ------------------------------------------------------------------------------ connection tests

    def _test(self, client: dict) -> None:
        _validate(client)
        if not self.connection_checks:
            return
        problem = _qbittorrent_login(client) if client["type"] == "QBITTORRENT" else _arr_status(client)
        if problem:
            raise Refused(500, _message(problem))


def _as_stored(body: dict) -> dict:
    """A client as autobrr keeps and shows it: Go's zero values for what was not sent, and the settings' empty
    values left out where its JSON tags say omitempty."""
    settings = body.get("settings") or {}
    rules = {"enabled": False, "max_active_downloads": 0, "ignore_slow_torrents": False,
             "download_speed_threshold": 0, "upload_speed_threshold": 0, **(settings.get("rules") or {})}
    stored_settings = {key: settings[key] for key in ("apikey", "external_download_client_id",
                                                       "external_download_client") if settings.get(key)}
    stored_settings |= {"basic": {k: v for k, v in (settings.get("basic") or {}).items() if v},
                        "rules": {k: v for k, v in rules.items() if v or k != "ignore_slow_torrents_condition"},
                        "auth": {k: v for k, v in (settings.get("auth") or {}).items() if v}}
    return {"id": body.get("id", 0), "name": body.get("name", ""), "type": body["type"],
            "enabled": body.get("enabled", False), "host": body["host"], "port": body.get("port", 0),
            "tls": body.get("tls", False), "tls_skip_verify": body.get("tls_skip_verify", False),
            "username": body.get("username", ""), "password": body.get("password", ""),
            "settings": stored_settings}


def _secrets(client: dict) -> list[tuple[dict, str]]:
    """(holder, key) of each secret a client holds, in a fixed order (missing holders are made empty)."""
    settings = client.setdefault("settings", {})
    return [(client, "password"), (settings, "apikey"), (settings.setdefault("auth", {}), "password"),
            (settings.setdefault("basic", {}), "password")]


def _validate(client: dict) -> None:
    if not client.get("host"):
        raise Refused(500, _message("validation error: missing host"))
    if not client.get("type"):
        raise Refused(500, _message("validation error: missing type"))


def _qbittorrent_login(client: dict) -> str | None:
    """As autobrr's BuildLegacyHost, then a login: the scheme from tls, the port added to the host."""
    url = urllib.parse.urlsplit(client["host"] if "//" in client["host"] else f"//{client['host']}")
    scheme = "https" if client.get("tls") else "http"
    netloc = url.netloc if not client.get("port") or client["port"] in (80, 443) else f"{url.hostname}:{client['port']}"
    form = urllib.parse.urlencode({"username": client.get("username", ""), "password": client.get("password", "")})
    try:
        with urllib.request.urlopen(f"{scheme}://{netloc}{url.path.rstrip('/')}/api/v2/auth/login",
                                    data=form.encode(), timeout=10) as response:
            answer = response.read().decode(errors="replace").strip()
    except OSError as error:
        return f"error logging into client: {client['host']}: {error}"
    return None if answer == "Ok." else f"error logging into client: {client['host']}: bad credentials"


def _arr_status(client: dict) -> str | None:
    kind = client["type"]
    if kind not in ARR_APIS:
        return f"unsupported client: {kind}"
    request = urllib.request.Request(f"{client['host'].rstrip('/')}/api/{ARR_APIS[kind]}/system/status",
                                     headers={"X-Api-Key": client.get("settings", {}).get("apikey", "")})
    try:
        with urllib.request.urlopen(request, timeout=10):
            return None
    except urllib.error.HTTPError as error:
        reason = "unauthorized: bad credentials" if error.code == 401 else f"HTTP {error.code}"
        return f"{kind.lower()}: connection test failed: {client['host']}: {reason}"
    except OSError as error:
        return f"{kind.lower()}: connection test failed: {client['host']}: {error}"
