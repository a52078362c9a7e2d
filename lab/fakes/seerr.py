"""A stateful fake of Seerr (Jellyseerr's successor) validated against its published spec.

Modelled on the real server:
- the API key: API_KEY from the environment replaces settings.json's at start; X-Api-Key acts as the first
  user, so it works only once Seerr has an admin (403 before, and for a wrong key);
- first run: /settings/public says initialized false and mediaServerType 4 (none); POST /auth/jellyfin with a
  Jellyfin administrator's credentials logs in to that Jellyfin over the network, makes Seerr's admin and links
  the server (mediaServerType 2); a second link is a 500 "Jellyfin hostname already configured";
- GET /settings/jellyfin/library?sync=true reads the movie and show libraries from Jellyfin; ?enable=<ids>
  enables those and disables the rest, and, as in the real app, a GET without `enable` disables every library
  (both GETs that change state are counted as writes);
- Sonarr and Radarr servers: /settings/<kind>/test calls the app's API for its quality profiles and root
  folders; POST answers 201; the apps' keys are read back in clear (Seerr does not mask); no duplicate check;
- POST /settings/initialize ends the setup.
"""

from __future__ import annotations

import json
import os
import secrets
import urllib.error
import urllib.request
from datetime import UTC, datetime

import yaml

from .openapi import Refused, SpecFake, specs_dir

SPEC = "seerr-api.yml"
BASE = "/api/v1"
JELLYFIN_CLIENT = 'MediaBrowser Client="Seerr", Device="seerr", DeviceId="seerr-fake", Version="3.0.1"'
COLLECTIONS = {"movies": "movie", "tvshows": "show"}  # the Jellyfin libraries Seerr offers


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class SeerrFake(SpecFake):
    name = "Seerr"

    def __init__(self, config_dir: str | None = None, api_key: str | None = None):
        spec = yaml.safe_load((specs_dir() / SPEC).read_text())
        super().__init__(spec, os.path.join(config_dir, "fake-state.json") if config_dir else None)
        self.api_key = api_key or os.environ.get("API_KEY") or self.state["settings_key"]

    def first_run_state(self) -> dict:
        return {"settings_key": secrets.token_hex(32), "initialized": False, "mediaServerType": 4, "users": [],
                "jellyfin": {"name": "", "hostname": "", "libraries": [], "serverID": ""}, "jellyfin_token": None,
                "sonarr": [], "radarr": [], "next_id": 0}

    def authorized(self, path: str, headers: dict, query: dict) -> bool:
        if path in (f"{BASE}/settings/public", f"{BASE}/status", f"{BASE}/auth/jellyfin"):
            return True
        return bool(self.state["users"]) and headers.get("X-Api-Key") == self.api_key

    def handle(self, method: str, raw_path: str, headers: dict, body: bytes) -> tuple[int, object, dict]:
        status, payload, extra = super().handle(method, raw_path, headers, body)
        if status == 401:  # the real app answers 403 for a missing or wrong key
            return 403, {"status": 403, "error": "You do not have permission to access this endpoint"}, {}
        return status, payload, extra

    def route(self, method: str, path: str, query: dict, body):
        state = self.state
        rest = path.removeprefix(BASE)
        if rest == "/status":
            return 200, {"version": "3.0.1", "commitTag": "v3.0.1", "updateAvailable": False, "commitsBehind": 0}
        if rest == "/settings/public":
            return 200, {"initialized": state["initialized"], "mediaServerType": state["mediaServerType"],
                         "applicationTitle": "Seerr"}
        if rest == "/auth/jellyfin":
            return self._link_jellyfin(body)
        if rest == "/settings/jellyfin":
            return 200, state["jellyfin"]
        if rest == "/settings/jellyfin/library":
            return self._libraries(query)
        if rest == "/settings/initialize":
            state["initialized"] = True
            return 200, {"initialized": True}
        kind, _, tail = rest.removeprefix("/settings/").partition("/")
        if kind in ("sonarr", "radarr"):
            return self._servers(kind, method, tail, body)
        raise Refused(404)

    # ------------------------------------------------------------------------------ Jellyfin

    def _jellyfin_call(self, method: str, url: str, body: dict | None = None, token: str | None = None):
        auth = JELLYFIN_CLIENT + (f', Token="{token}"' if token else "")
        request = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body else None,
                                         headers={"Authorization": auth, "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    def _link_jellyfin(self, body: dict):
        state = self.state
        if state["mediaServerType"] == 2:
            raise Refused(500, {"message": "Jellyfin hostname already configured"})
        scheme = "https" if body.get("useSsl") else "http"
        url = f"{scheme}://{body.get('hostname')}:{body.get('port', 8096)}{body.get('urlBase') or ''}"
        try:
            login = self._jellyfin_call("POST", f"{url}/Users/AuthenticateByName",
                                        {"Username": body["username"], "Pw": body["password"]})
        except urllib.error.HTTPError as error:
            raise Refused(401 if error.code == 401 else 500, {"message": "Unauthorized"}) from None
        except OSError as error:
            raise Refused(500, {"message": f"Something went wrong: {error}"}) from None
        if not login["User"].get("Policy", {}).get("IsAdministrator"):
            raise Refused(403, {"message": "not an administrator"})
        state["jellyfin_token"] = login["AccessToken"]
        state["jellyfin"] = {"name": "media", "hostname": url, "libraries": [], "serverID": login["ServerId"],
                             "adminUser": body["username"]}
        state["mediaServerType"] = 2
        user = {"id": 1, "email": body.get("email") or body["username"], "username": body["username"],
                "userType": 3, "permissions": 2, "createdAt": _now(), "updatedAt": _now(), "requestCount": 0}
        state["users"] = [user]
        return 200, user

    def _libraries(self, query: dict):
        jellyfin = self.state["jellyfin"]
        if query.get("sync") == "true":
            folders = self._jellyfin_call("GET", f"{jellyfin['hostname']}/Library/VirtualFolders",
                                          token=self.state["jellyfin_token"])
            enabled = {lib["id"] for lib in jellyfin["libraries"] if lib["enabled"]}
            jellyfin["libraries"] = [{"id": f["ItemId"], "name": f["Name"], "enabled": f["ItemId"] in enabled,
                                      "type": COLLECTIONS[f["CollectionType"]]}
                                     for f in folders if f.get("CollectionType") in COLLECTIONS]
            self.writes.append(("GET", f"{BASE}/settings/jellyfin/library?sync"))
        else:  # with or without `enable`: the real app sets every library's flag from it
            wanted = set(filter(None, (query.get("enable") or "").split(",")))
            for library in jellyfin["libraries"]:
                library["enabled"] = library["id"] in wanted
            self.writes.append(("GET", f"{BASE}/settings/jellyfin/library?enable"))
        self._save()
        return 200, jellyfin["libraries"]

    # ------------------------------------------------------------------------------ Sonarr, Radarr

    def _servers(self, kind: str, method: str, tail: str, body):
        servers = self.state[kind]
        if tail == "test":
            return 200, self._test_server(kind, body)
        if not tail:
            if method == "GET":
                return 200, servers
            server = {**body, "id": self.new_id()}
            servers.append(server)
            return 201, server
        found = next((s for s in servers if str(s["id"]) == tail), None)
        if found is None:
            raise Refused(404, {"message": "not found"})
        if method == "DELETE":
            servers.remove(found)
            return 200, found
        found.clear()
        found.update({**body, "id": int(tail)})
        return 200, found

    @staticmethod
    def _test_server(kind: str, body: dict) -> dict:
        scheme = "https" if body.get("useSsl") else "http"
        base = f"{scheme}://{body['hostname']}:{body['port']}{body.get('baseUrl') or ''}/api/v3"
        found = {}
        for resource in ("qualityprofile", "rootfolder"):
            request = urllib.request.Request(f"{base}/{resource}", headers={"X-Api-Key": body.get("apiKey") or ""})
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    found[resource] = json.loads(response.read())
            except (OSError, urllib.error.URLError) as error:
                raise Refused(500, {"message": f"Failed to connect to {kind.capitalize()}: {error}"}) from None
        return {"profiles": [{"id": p["id"], "name": p["name"]} for p in found["qualityprofile"]],
                "rootFolders": [{"id": f["id"], "path": f["path"]} for f in found["rootfolder"]],
                "tags": [], "urlBase": body.get("baseUrl") or ""}
