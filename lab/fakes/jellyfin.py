"""A stateful fake of Jellyfin 10.11 validated against its published spec.

Modelled on the real server:
- first run: StartupWizardCompleted false in /System/Info/Public, one user with an empty password, and the
  /Startup/* calls open to any client; once POST /Startup/Complete is done they need an administrator's token;
- POST /Users/AuthenticateByName gives an access token, sent back as
  `Authorization: MediaBrowser ..., Token="<token>"`; the legacy X-Emby-Token header and ?api_key= are refused
  (Jellyfin 12 disables them by default), so the wiring cannot come to depend on them;
- libraries (/Library/VirtualFolders, a duplicate name is a 400), and the named configuration "encoding"
  (hardware acceleration), kept across restarts;
- API keys (/Auth/Keys): an administrator makes one for an app name (204, no body) and lists them in clear;
  a key is sent as the token is, and acts as an administrator;
- /health, the server's ASP.NET health check, answers "Healthy" (it is not in the spec).

Spec defect patched: GET /System/Configuration/{key} declares a binary string; the server sends the named
configuration as a JSON object.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import uuid
from datetime import UTC, datetime

from .openapi import Refused, SpecFake, specs_dir

SPEC = "jellyfin-10.11.11.openapi.json"
VERSION = "10.11.11"
POLICY = {"IsAdministrator": True,
          "AuthenticationProviderId": "Jellyfin.Server.Implementations.Users.DefaultAuthenticationProvider",
          "PasswordResetProviderId": "Jellyfin.Server.Implementations.Users.DefaultPasswordResetProvider"}
TOKEN = re.compile(r'Token="([^"]+)"')
ENCODING_DEFAULTS = {"HardwareAccelerationType": "none", "VaapiDevice": "/dev/dri/renderD128", "QsvDevice": "",
                     "EnableHardwareEncoding": True, "EnableTonemapping": False, "EnableThrottling": False,
                     "HardwareDecodingCodecs": ["h264", "vc1"], "EncodingThreadCount": -1}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def jellyfin_spec() -> dict:
    spec = json.loads((specs_dir() / SPEC).read_text())
    named = spec["paths"]["/System/Configuration/{key}"]["get"]["responses"]["200"]["content"]
    named["application/json"]["schema"] = {"type": "object"}
    return spec


class JellyfinFake(SpecFake):
    name = "Jellyfin"
    unvalidated = ("/health",)
    not_writes = ("/Users/AuthenticateByName",)  # a login changes no setting

    def __init__(self, config_dir: str | None = None):
        super().__init__(jellyfin_spec(), os.path.join(config_dir, "fake-state.json") if config_dir else None)

    def first_run_state(self) -> dict:
        return {"server_id": uuid.uuid4().hex, "wizard_done": False, "startup": {"UICulture": "en-US",
                "MetadataCountryCode": "US", "PreferredMetadataLanguage": "en"},
                "users": [{"Name": "jellyfin", "Password": "", "Id": str(uuid.uuid4())}], "tokens": {},
                "libraries": [], "encoding": dict(ENCODING_DEFAULTS), "api_keys": []}

    def authorized(self, path: str, headers: dict, query: dict) -> bool:
        if path in ("/System/Info/Public", "/System/Ping", "/Users/AuthenticateByName", "/health"):
            return True
        if (path.startswith("/Startup/") or path == "/System/Info") and not self.state["wizard_done"]:
            return True  # Jellyfin's FirstTimeSetupOrElevated and FirstTimeSetupOrIgnoreParentalControl policies
        found = TOKEN.search(headers.get("Authorization", ""))
        keys = {key["AccessToken"] for key in self.state.setdefault("api_keys", [])}
        return bool(found and (found.group(1) in self.state["tokens"] or found.group(1) in keys))

    def route(self, method: str, path: str, query: dict, body):
        state = self.state
        if path == "/health":
            return 200, "Healthy"
        if path == "/System/Ping":
            return 200, "Jellyfin Server"
        if path == "/System/Info/Public":
            return 200, {"LocalAddress": "http://172.20.0.20:8096", "ServerName": "media", "Version": VERSION,
                         "ProductName": "Jellyfin Server", "OperatingSystem": "", "Id": state["server_id"],
                         "StartupWizardCompleted": state["wizard_done"]}
        if path.startswith("/Startup/"):
            return self._startup(method, path.removeprefix("/Startup/"), body)
        if path == "/Users/AuthenticateByName":
            user = next((u for u in state["users"] if u["Name"].lower() == (body.get("Username") or "").lower()), None)
            if user is None or user["Password"] != (body.get("Pw") or ""):
                raise Refused(401, "Error processing request.")
            token = secrets.token_hex(16)
            state["tokens"][token] = user["Id"]
            self._save()  # Jellyfin keeps its sessions' tokens across restarts (Seerr holds one)
            return 200, {"AccessToken": token, "ServerId": state["server_id"],
                         "User": {"Name": user["Name"], "Id": user["Id"], "ServerId": state["server_id"],
                                  "HasPassword": bool(user["Password"]), "Policy": POLICY}}
        if path == "/System/Info":
            return 200, {"ServerName": "media", "Version": VERSION, "ProductName": "Jellyfin Server",
                         "Id": state["server_id"], "StartupWizardCompleted": state["wizard_done"],
                         "HasPendingRestart": False, "IsShuttingDown": False}
        if path == "/Auth/Keys":
            if method == "POST":
                state["api_keys"].append({"Id": len(state["api_keys"]) + 1, "AccessToken": secrets.token_hex(16),
                                          "AppName": query["app"], "DateCreated": _now(), "IsActive": True,
                                          "UserId": "00000000-0000-0000-0000-000000000000"})
                return 204, None
            return 200, {"Items": state["api_keys"], "TotalRecordCount": len(state["api_keys"]), "StartIndex": 0}
        if path == "/Library/VirtualFolders":
            return self._libraries(method, query)
        if path == "/System/Configuration/encoding":
            if method == "POST":
                state["encoding"] = body
                return 204, None
            return 200, state["encoding"]
        raise Refused(404)

    def _startup(self, method: str, what: str, body):
        state = self.state
        if what == "Configuration":
            if method == "POST":
                state["startup"].update(body)
                return 204, None
            return 200, state["startup"]
        if what == "User":
            first = state["users"][0]
            if method == "POST":
                first.update({"Name": body["Name"], "Password": body.get("Password") or ""})
                return 204, None
            return 200, {"Name": first["Name"], "Password": first["Password"]}
        if what == "RemoteAccess" and method == "POST":
            return 204, None
        if what == "Complete" and method == "POST":
            state["wizard_done"] = True
            return 204, None
        raise Refused(404)

    def _libraries(self, method: str, query: dict):
        libraries = self.state["libraries"]
        if method == "GET":
            return 200, libraries
        name = query.get("name") or ""
        found = next((lib for lib in libraries if lib["Name"].lower() == name.lower()), None)
        if method == "DELETE":
            if found is None:
                raise Refused(404)
            libraries.remove(found)
            return 204, None
        if found is not None:
            raise Refused(400, f"There is already a media library with the name {name}.")
        libraries.append({"Name": name, "Locations": [query["paths"]] if query.get("paths") else [],
                          "CollectionType": query.get("collectionType"), "ItemId": uuid.uuid4().hex,
                          "LibraryOptions": {}, "RefreshStatus": "Idle"})
        return 204, None
