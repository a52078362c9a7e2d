"""A stateful fake of Audiobookshelf 2.x validated against its published spec.

Modelled on the real server:
- first run: GET /status says isInit false; POST /init {"newRoot": {username, password}} makes the root user
  (a 500 once a root exists); POST /login gives the user's token, sent as `Authorization: Bearer <token>`;
- libraries (/api/libraries): each has a name, a media type (book or podcast), folders and a provider; a
  duplicate name is a 400, DELETE answers the deleted library;
- API keys (/api/api-keys, 2.26 and later): made for a user, shown only in the answer that makes them, listed
  without their value, inactive unless made with isActive; an active key is a Bearer token like a login's.
The spec covers only part of the API: /status, /init, /login, /healthcheck and /api/api-keys are not in it, so
those are served unvalidated; every other /api call is validated.
"""

from __future__ import annotations

import json
import os
import secrets
import time
import uuid

from .openapi import Refused, SpecFake, specs_dir

SPEC = "audiobookshelf.openapi.json"
VERSION = "2.30.0"


class AudiobookshelfFake(SpecFake):
    name = "Audiobookshelf"
    unvalidated = ("/status", "/init", "/login", "/healthcheck", "/ping", "/api/api-keys", "/api/api-keys/")
    not_writes = ("/login",)

    def __init__(self, config_dir: str | None = None):
        spec = json.loads((specs_dir() / SPEC).read_text())
        super().__init__(spec, os.path.join(config_dir, "fake-state.json") if config_dir else None)

    def first_run_state(self) -> dict:
        return {"root": None, "tokens": [], "libraries": [], "api_keys": []}

    def authorized(self, path: str, headers: dict, query: dict) -> bool:
        if not path.startswith("/api/"):
            return True
        token = headers.get("Authorization", "").removeprefix("Bearer ")
        active = {key["apiKey"] for key in self.state.setdefault("api_keys", []) if key["isActive"]}
        return token in self.state["tokens"] or token in active

    def route(self, method: str, path: str, query: dict, body):
        state = self.state
        if path in ("/healthcheck", "/ping"):
            return 200, {"success": True}
        if path == "/status":
            return 200, {"app": "audiobookshelf", "serverVersion": VERSION, "isInit": bool(state["root"]),
                         "language": "en-us", "authMethods": ["local"], "authFormData": {}}
        if path == "/init" and method == "POST":
            if state["root"]:
                raise Refused(500, "Server already initialized")
            root = body.get("newRoot") or {}
            if not root.get("username") or not root.get("password"):
                raise Refused(400, "Invalid request")
            state["root"] = {"id": str(uuid.uuid4()), "username": root["username"], "password": root["password"]}
            return 200, None
        if path == "/login" and method == "POST":
            root = state["root"]
            if not root or (body or {}).get("username") != root["username"] or body.get("password") != root["password"]:
                raise Refused(401, "Invalid username or password")
            token = secrets.token_hex(24)
            state["tokens"].append(token)
            self._save()
            return 200, {"user": {"id": root["id"], "username": root["username"], "type": "root", "token": token,
                                  "accessToken": token},
                         "userDefaultLibraryId": None, "serverSettings": {}}
        if path.startswith("/api/api-keys"):
            return self._api_keys(method, path.removeprefix("/api/api-keys").strip("/"), body)
        if path == "/api/libraries":
            if method == "GET":
                return 200, {"libraries": state["libraries"]}
            if any(lib["name"].lower() == body["name"].lower() for lib in state["libraries"]):
                raise Refused(400, "Library name already in use")
            library_id = str(uuid.uuid4())
            now = int(time.time() * 1000)
            library = {"id": library_id, "name": body["name"], "mediaType": body.get("mediaType", "book"),
                       "folders": [{"id": str(uuid.uuid4()), "fullPath": f["fullPath"], "libraryId": library_id,
                                    "addedAt": now} for f in body["folders"]],
                       "displayOrder": len(state["libraries"]) + 1, "icon": body.get("icon", "database"),
                       "provider": body.get("provider", "google"), "settings": body.get("settings", {}),
                       "createdAt": now, "lastUpdate": now}
            state["libraries"].append(library)
            return 200, library
        if path.startswith("/api/libraries/"):
            found = next((lib for lib in state["libraries"] if lib["id"] == path.rsplit("/", 1)[1]), None)
            if found is None:
                raise Refused(404, "Library not found")
            if method == "DELETE":
                state["libraries"].remove(found)
            return 200, found
        raise Refused(404)

    def _api_keys(self, method: str, key_id: str, body):
        keys = self.state["api_keys"]
        if method == "GET" and not key_id:
            return 200, {"apiKeys": [_shown(key) for key in keys]}
        if method == "POST" and not key_id:
            if not body.get("name") or not body.get("userId"):
                raise Refused(400, "Bad Request")
            if body["userId"] != (self.state["root"] or {}).get("id"):
                raise Refused(400, "Bad Request")  # "User not found"
            key = {"id": str(uuid.uuid4()), "name": body["name"], "userId": body["userId"],
                   "isActive": bool(body.get("isActive")), "expiresAt": None, "apiKey": secrets.token_hex(32),
                   "createdAt": int(time.time() * 1000)}
            keys.append(key)
            return 200, {"apiKey": {**_shown(key), "apiKey": key["apiKey"]}}
        found = next((key for key in keys if key["id"] == key_id), None)
        if found is None:
            raise Refused(404, "Not Found")
        if method == "DELETE":
            keys.remove(found)
            return 200, "OK"
        raise Refused(404)


def _shown(key: dict) -> dict:
    """A key as the server lists it: everything but its value."""
    return {k: v for k, v in key.items() if k != "apiKey"}
