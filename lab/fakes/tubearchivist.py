"""A stateful fake of TubeArchivist 0.5 validated against a spec written from its source (specs/, which says where
each part comes from: TubeArchivist makes its own only at run time).

Modelled on the real server:
- first start: the superuser is made from TA_USERNAME and TA_PASSWORD when none exists (ta_envcheck), and kept
  as it is on later starts, whatever the environment says then;
- POST /api/user/login/ sets a session cookie ("sessionid") and answers 204; wrong credentials are a 400
  {"error": "Invalid credentials"};
- GET /api/appsettings/token/ needs the session or `Authorization: Token <token>`, else 403 {"detail": ...}; it
  answers the user's token, making it on the first call (a GET that writes, counted as a write); DELETE
  revokes it;
- /api/health/ answers "OK" without auth.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import yaml

from .openapi import Refused, SpecFake, cookies

SPEC = "tubearchivist-v0.5.4.openapi.yaml"
COOKIE = "sessionid"
TOKEN = "/api/appsettings/token/"


class TubeArchivistFake(SpecFake):
    name = "TubeArchivist"
    not_writes = ("/api/user/login/",)  # a login changes no setting

    def __init__(self, config_dir: str | None = None):
        spec = yaml.safe_load((Path(__file__).resolve().parent / "specs" / SPEC).read_text())
        super().__init__(spec, os.path.join(config_dir, "fake-state.json") if config_dir else None)
        if not self.state["user"]:  # as ta_envcheck at every start
            self.state["user"] = {"name": os.environ.get("TA_USERNAME", "admin"),
                                  "password": os.environ.get("TA_PASSWORD", "")}
            self._save()
        self.sessions: set[str] = set()

    def first_run_state(self) -> dict:
        return {"user": None, "token": None}

    def authorized(self, path: str, headers: dict, query: dict) -> bool:
        if path in ("/api/health/", "/api/user/login/"):
            return True
        auth = headers.get("Authorization", "")
        if auth.startswith("Token "):
            return auth.removeprefix("Token ") == self.state["token"]
        return cookies(headers).get(COOKIE) in self.sessions

    def handle(self, method: str, raw_path: str, headers: dict, body: bytes) -> tuple[int, object, dict]:
        status, payload, extra = super().handle(method, raw_path, headers, body)
        if status == 401:  # DRF answers 403 when its first authenticator (the session's) sends no challenge
            detail = "Invalid token." if headers.get("Authorization", "").startswith("Token ") else \
                "Authentication credentials were not provided."
            return 403, {"detail": detail}, {}
        return status, payload, extra

    def route(self, method: str, path: str, query: dict, body):
        if path == "/api/health/":
            return 200, "OK"
        if path == "/api/user/login/" and method == "POST":
            user = self.state["user"]
            if body.get("username") != user["name"] or body.get("password") != user["password"]:
                raise Refused(400, {"error": "Invalid credentials"})
            session = secrets.token_hex(16)
            self.sessions.add(session)
            return 204, None, {"Set-Cookie": f"{COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax"}
        if path == TOKEN and method == "GET":
            if not self.state["token"]:
                self.state["token"] = secrets.token_hex(20)  # DRF's Token.generate_key: 40 hex characters
                self.writes.append(("GET", TOKEN))
                self._save()
            return 200, {"token": self.state["token"]}
        if path == TOKEN and method == "DELETE":
            self.state["token"] = None
            return 204, None
        raise Refused(404)
