"""A stateful fake of a Servarr app (Sonarr, Radarr, Lidarr, Readarr, Whisparr, Prowlarr) validated against its
published spec.

Modelled on the real apps:
- the API key: <APP>__AUTH__APIKEY from the environment when the app reads it (not Readarr, Whisparr), else the
  ApiKey of /config/config.xml, else a new random key written there, as a first start does;
- X-Api-Key or ?apikey= on every call but /ping, else 401;
- root folders (Lidarr and Readarr with their default profiles), download clients, and in Prowlarr
  applications, each from the app's schema templates; POST answers 201, PUT 202; a duplicate root folder or
  name is a 400 with the apps' validation list;
- fields whose privacy is password or apiKey read back as "********" (not in Readarr, which does not mask),
  and the mask sent back keeps the stored value;
- saving a provider without ?forceSave=true tests it, and POST /<resource>/test does only that: a download
  client asks qBittorrent its API version with the session it keeps per URL, user and password, logging in
  first when it has none or qBittorrent answers 403 (QBittorrentProxyV2's AuthenticateClient: a changed password
  always logs in again); an application calls the app's /api/<v>/system/status with its stored key, over the
  network (connection_checks=False skips both).
"""

from __future__ import annotations

import copy
import os
import re
import secrets
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from .openapi import Refused, SpecFake, servarr_spec

MASK = "********"
MASKED_PRIVACY = ("password", "apiKey")


@dataclass(frozen=True)
class Profile:
    title: str
    spec: str
    api: str  # "v3" or "v1"
    version: str
    category_field: str | None = None  # of its qBittorrent client
    default_category: str | None = None
    env_key: bool = True  # reads <APP>__AUTH__APIKEY
    masks: bool = True
    library_profiles: bool = False  # root folders carry default quality and metadata profiles (Lidarr, Readarr)
    resources: tuple[str, ...] = ("downloadclient",)


PROFILES = {
    "sonarr": Profile("Sonarr", "sonarr-v4.0.19.2979.openapi.json", "v3", "4.0.19.2979", "tvCategory", "tv-sonarr"),
    "radarr": Profile("Radarr", "radarr-v5.28.0.10205.openapi.json", "v3", "5.28.0.10205", "movieCategory",
                      "radarr"),
    "lidarr": Profile("Lidarr", "lidarr-v2.14.5.4836.openapi.json", "v1", "2.14.5.4836", "musicCategory", "lidarr",
                      library_profiles=True),
    "readarr": Profile("Readarr", "readarr.openapi.json", "v1", "0.4.18.2805", "musicCategory", "readarr",
                       env_key=False, masks=False, library_profiles=True),
    # Whisparr v2 publishes a spec (Whisparr/Whisparr, src/Whisparr.Api.V3/openapi.json) that is not among the
    # vendored ones; for every path the wiring calls (root folders, download clients and their schema, media
    # management) its schemas are identical to Sonarr 4.0.19's, so it is validated against that.
    "whisparr": Profile("Whisparr", "sonarr-v4.0.19.2979.openapi.json", "v3", "2.0.0.1171", "tvCategory",
                        "whisparr", env_key=False),
    "prowlarr": Profile("Prowlarr", "prowlarr-v2.3.5.5327.openapi.json", "v1", "2.3.5.5327",
                        resources=("applications",)),
}

# The quality profiles a fresh app has.
QUALITY_PROFILES = {
    "sonarr": ("Any", "SD", "HD-720p", "HD-1080p", "Ultra-HD", "HD - 720p/1080p"),
    "radarr": ("Any", "SD", "HD-720p", "HD-1080p", "Ultra-HD", "HD - 720p/1080p"),
    "lidarr": ("Any", "Lossless", "Standard"),
    "readarr": ("eBook", "Spoken"),
    "whisparr": ("Any", "SD", "HD-720p", "HD-1080p", "Ultra-HD", "HD - 720p/1080p"),
}

# Prowlarr's application templates: implementation -> (API version of the app, default sync categories).
APPLICATIONS = {
    "Sonarr": ("v3", [5000, 5010, 5020, 5030, 5040, 5045, 5050, 5090]),
    "Radarr": ("v3", [2000, 2010, 2020, 2030, 2040, 2045, 2050, 2060, 2070, 2080, 2090]),
    "Lidarr": ("v1", [3000, 3010, 3030, 3040, 3050, 3060]),
    "Readarr": ("v1", [3030, 7000, 7010, 7020, 7030, 7040, 7050, 7060]),
    "Whisparr": ("v3", [6000, 6010, 6020, 6030, 6040, 6045, 6050, 6060, 6070, 6080, 6090]),
    "Mylar": (None, [7030]),
}


def _field(order: int, name: str, value, kind: str = "textbox", level: str = "normal", privacy: bool = True) -> dict:
    """A provider's field; apps from before fields had a privacy level (Readarr) have no `privacy` key."""
    field = {"order": order, "name": name, "label": name, "value": value, "type": kind, "advanced": False,
             "privacy": level, "isFloat": False}
    return field if privacy else {k: v for k, v in field.items() if k != "privacy"}


def qbittorrent_template(profile: Profile) -> dict:
    fields = [("host", "localhost", "textbox", "normal"), ("port", 8080, "textbox", "normal"),
              ("useSsl", False, "checkbox", "normal"), ("urlBase", None, "textbox", "normal"),
              ("username", None, "textbox", "userName"), ("password", None, "password", "password"),
              (profile.category_field, profile.default_category, "textbox", "normal"),
              ("initialState", 0, "select", "normal"), ("sequentialOrder", False, "checkbox", "normal")]
    return {"enable": True, "protocol": "torrent", "priority": 1, "removeCompletedDownloads": True,
            "removeFailedDownloads": True, "name": "", "implementationName": "qBittorrent",
            "implementation": "QBittorrent", "configContract": "QBittorrentSettings",
            "infoLink": f"https://wiki.servarr.com/{profile.title.lower()}/supported#qbittorrent", "tags": [],
            "fields": [_field(i, *item, privacy=profile.masks) for i, item in enumerate(fields)]}


def application_template(implementation: str) -> dict:
    _, categories = APPLICATIONS[implementation]
    fields = [_field(0, "prowlarrUrl", "http://localhost:9696"), _field(1, "baseUrl", "http://localhost:8989"),
              _field(2, "apiKey", None, level="apiKey"), _field(3, "syncCategories", categories, "select")]
    return {"name": "", "syncLevel": "fullSync", "implementationName": implementation,
            "implementation": implementation, "configContract": f"{implementation}Settings",
            "infoLink": f"https://wiki.servarr.com/prowlarr/supported#{implementation.lower()}", "tags": [],
            "fields": fields}


class ServarrFake(SpecFake):
    def __init__(self, app: str = "sonarr", api_key: str | None = None, config_dir: str | None = None,
                 connection_checks: bool = True):
        self.app, self.profile = app, PROFILES[app]
        self.base = f"/api/{self.profile.api}"
        self.config_dir = config_dir
        self.connection_checks = connection_checks
        super().__init__(servarr_spec(self.profile.spec),
                         os.path.join(config_dir, "fake-state.json") if config_dir else None)
        self.api_key = api_key or self._configured_key()
        self.name = self.profile.title

    # ------------------------------------------------------------------------------ the API key

    def _configured_key(self) -> str:
        """As the app starts: the environment's key, else config.xml's, else a new one written to config.xml."""
        if self.profile.env_key and os.environ.get(f"{self.app.upper()}__AUTH__APIKEY"):
            return os.environ[f"{self.app.upper()}__AUTH__APIKEY"]
        path = os.path.join(self.config_dir or ".", "config.xml")
        if os.path.exists(path):
            with open(path) as src:
                found = re.search(r"<ApiKey>([0-9a-f]{32})</ApiKey>", src.read())
            if found:
                return found.group(1)
        key = secrets.token_hex(16)
        if self.config_dir:
            with open(path, "w") as out:
                out.write(f"<Config>\n  <ApiKey>{key}</ApiKey>\n</Config>\n")
        return key

    def authorized(self, path: str, headers: dict, query: dict) -> bool:
        if path == "/ping":
            return True
        bearer = headers.get("Authorization", "").removeprefix("Bearer ")
        return self.api_key in (headers.get("X-Api-Key"), query.get("apikey"), bearer)

    # ------------------------------------------------------------------------------ state

    def first_run_state(self) -> dict:
        state = {"next_id": 0, "rootfolder": [], **{resource: [] for resource in self.profile.resources}}
        if self.profile.category_field:  # the apps that import media
            state["config"] = {"mediamanagement": {"id": 1, "copyUsingHardlinks": True, "deleteEmptyFolders": False,
                                                   "skipFreeSpaceCheckWhenImporting": False}}
        if self.profile.category_field:
            state["qualityprofile"] = [{"id": i, "name": name, "upgradeAllowed": False, "cutoff": 0, "items": []}
                                       for i, name in enumerate(QUALITY_PROFILES[self.app], 1)]
        if self.profile.library_profiles:
            state["metadataprofile"] = [{"id": i, "name": name} for i, name in enumerate(("Standard", "None"), 1)]
        return state

    def templates(self, resource: str) -> list[dict]:
        if resource == "downloadclient":
            return [qbittorrent_template(self.profile)]
        return [application_template(implementation) for implementation in APPLICATIONS]

    # ------------------------------------------------------------------------------ routes

    def route(self, method: str, path: str, query: dict, body):
        if path == "/ping":
            return 200, {"status": "OK"}
        if not path.startswith(self.base + "/"):
            raise Refused(404)
        parts = path[len(self.base) + 1:].split("/")
        if parts == ["system", "status"]:
            return 200, {"appName": self.profile.title, "instanceName": self.profile.title,
                         "version": self.profile.version, "isProduction": True, "isDocker": True,
                         "urlBase": ""}
        if parts[0] in ("qualityprofile", "metadataprofile") and parts[0] in self.state and method == "GET":
            return 200, self.state[parts[0]]
        if parts[0] == "config" and len(parts) > 1 and parts[1] in self.state.get("config", {}):
            section = self.state["config"][parts[1]]
            if method == "PUT":
                section.update({**body, "id": section["id"]})
                return 202, section
            return 200, section
        if parts[0] == "rootfolder":
            return self._root_folders(method, parts[1:], body)
        if parts[0] in self.profile.resources:
            return self._providers(parts[0], method, parts[1:], query, body)
        raise Refused(404)

    def _root_folders(self, method: str, rest: list[str], body):
        folders = self.state["rootfolder"]
        if method == "GET" and not rest:
            return 200, folders
        if method == "POST" and not rest:
            if any(f["path"].rstrip("/") == body["path"].rstrip("/") for f in folders):
                raise Refused(400, _invalid("Path", f"'{body['path']}' is already configured as a root folder",
                                            body["path"]))
            if self.profile.library_profiles:
                self._require_profiles(body)
            folder = {**body, "id": self.new_id(), "accessible": True, "freeSpace": 10 ** 11,
                      "totalSpace": 2 * 10 ** 11}
            if not self.profile.library_profiles:
                folder = {k: folder[k] for k in ("id", "path", "accessible", "freeSpace")} | {"unmappedFolders": []}
            folders.append(folder)
            return 201, folder
        found = self._find(folders, rest)
        if method == "DELETE":
            folders.remove(found)
            return 200, None
        if method == "PUT" and self.profile.library_profiles:
            self._require_profiles(body)
            found.update({**body, "id": found["id"]})
            return 202, found
        return 200, found

    def _require_profiles(self, body: dict) -> None:
        for key, resource in (("defaultQualityProfileId", "qualityprofile"),
                              ("defaultMetadataProfileId", "metadataprofile")):
            if body.get(key) not in {p["id"] for p in self.state[resource]}:
                raise Refused(400, _invalid(key, f"'{key}' must name an existing profile", body.get(key)))
        if not body.get("name"):
            raise Refused(400, _invalid("Name", "'Name' must not be empty", body.get("name")))

    def _providers(self, resource: str, method: str, rest: list[str], query: dict, body):
        items = self.state[resource]
        if rest == ["schema"]:
            return 200, self.templates(resource)
        if rest == ["test"]:
            stored = next((i for i in items if i["id"] == body.get("id")), None) if body.get("id") else None
            self._test(resource, self._unmasked(body, stored))
            return 200, None
        if not rest:
            if method == "GET":
                return 200, [self._masked(i) for i in items]
            if any(i["name"].lower() == body["name"].lower() for i in items):
                raise Refused(400, _invalid("Name", "Should be unique", body["name"]))
            item = {**self._unmasked(body, None), "id": self.new_id()}
            if query.get("forceSave") != "true":
                self._test(resource, item)
            items.append(item)
            return 201, self._masked(item)
        stored = self._find(items, rest)
        if method == "DELETE":
            items.remove(stored)
            return 200, None
        if method == "PUT":
            if any(i["name"].lower() == body["name"].lower() and i is not stored for i in items):
                raise Refused(400, _invalid("Name", "Should be unique", body["name"]))
            item = {**self._unmasked(body, stored), "id": stored["id"]}
            if query.get("forceSave") != "true":
                self._test(resource, item)
            items[items.index(stored)] = item
            return 202, self._masked(item)
        return 200, self._masked(stored)

    @staticmethod
    def _find(items: list[dict], rest: list[str]) -> dict:
        if len(rest) != 1 or not rest[0].isdigit():
            raise Refused(404)
        found = next((i for i in items if i["id"] == int(rest[0])), None)
        if found is None:
            raise Refused(404)
        return found

    # ------------------------------------------------------------------------------ masking

    def _masked(self, resource: dict) -> dict:
        masked = copy.deepcopy(resource)
        if self.profile.masks:
            for f in masked.get("fields", []):
                if f.get("privacy") in MASKED_PRIVACY and f.get("value"):
                    f["value"] = MASK
        return masked

    @staticmethod
    def _unmasked(body: dict, stored: dict | None) -> dict:
        """The body with every mask replaced by the stored value (none stored: the mask itself, as the apps do)."""
        values = {f["name"]: f.get("value") for f in stored["fields"]} if stored else {}
        return {**body, "fields": [{**f, "value": values.get(f["name"], MASK)} if f.get("value") == MASK else f
                                   for f in body.get("fields", [])]}

    # ------------------------------------------------------------------------------ connection tests

    def _test(self, resource: str, item: dict) -> None:
        if not self.connection_checks:
            return
        values = {f["name"]: f.get("value") for f in item["fields"]}
        if resource == "downloadclient":
            problem = _qbittorrent_login(values)
        else:
            problem = _app_status(item["implementation"], values)
        if problem:
            raise Refused(400, _invalid("", problem, None))


def _invalid(name: str, message: str, attempted) -> list[dict]:
    return [{"propertyName": name, "errorMessage": message, "attemptedValue": attempted, "severity": "error"}]


# (url, username, password) -> qBittorrent's session cookie, for the life of the process, as the apps keep it.
_QBITTORRENT_SESSIONS: dict[tuple[str, str, str], str] = {}


def _qbittorrent_login(values: dict) -> str | None:
    scheme = "https" if values.get("useSsl") else "http"
    base = f"{scheme}://{values['host']}:{values['port']}{(values.get('urlBase') or '').rstrip('/')}/api/v2"
    key = (base, values.get("username") or "", values.get("password") or "")
    try:
        if key in _QBITTORRENT_SESSIONS and _qbittorrent_answers(base, _QBITTORRENT_SESSIONS[key]):
            return None
        _QBITTORRENT_SESSIONS.pop(key, None)
        form = urllib.parse.urlencode({"username": key[1], "password": key[2]})
        with urllib.request.urlopen(f"{base}/auth/login", data=form.encode(), timeout=10) as response:
            answer = response.read().decode(errors="replace").strip()
            cookie = response.headers.get("Set-Cookie", "").split(";", 1)[0]
    except (OSError, urllib.error.URLError) as error:
        return f"Unable to connect to qBittorrent, please check your settings ({error})"
    if answer != "Ok.":
        return "Authentication failure: check the qBittorrent username and password"
    _QBITTORRENT_SESSIONS[key] = cookie
    return None


def _qbittorrent_answers(base: str, cookie: str) -> bool:
    """Whether qBittorrent takes this session (403: it does not, log in again)."""
    request = urllib.request.Request(f"{base}/app/webapiVersion", headers={"Cookie": cookie})
    try:
        with urllib.request.urlopen(request, timeout=10):
            return True
    except urllib.error.HTTPError as error:
        if error.code == 403:
            return False
        raise


def _app_status(implementation: str, values: dict) -> str | None:
    version, _ = APPLICATIONS[implementation]
    if version is None:  # Mylar: its own API, not modelled
        return None
    request = urllib.request.Request(f"{values['baseUrl'].rstrip('/')}/api/{version}/system/status",
                                     headers={"X-Api-Key": values.get("apiKey") or ""})
    try:
        with urllib.request.urlopen(request, timeout=10):
            return None
    except urllib.error.HTTPError as error:
        if error.code == 401:
            return f"Unable to connect to {implementation}: the API key is invalid"
        return f"Unable to connect to {implementation}: HTTP {error.code}"
    except OSError as error:
        return f"Unable to connect to {implementation}, please check your settings ({error})"
