"""Audiobookshelf's API: its public status, the root user made on first start, then the root user's
session (a token from /login, sent as a Bearer token), with mediabox.apps' bounded waits and errors; and its
API keys (2.26 and later), which it shows only once, when it makes one."""

from __future__ import annotations

from mediabox.apps import LoginApi, Sealed


class Connection(LoginApi):
    title, container, probe_path = "Audiobookshelf", "audiobookshelf", "/status"

    def status(self) -> dict:
        return self.shared("/status", lambda path: self._request("GET", path))

    def initialize(self) -> None:
        """Make the root user with this connection's name and password (a fresh server only)."""
        self._request("POST", "/init", json=Sealed({"newRoot": {"username": self.username,
                                                                "password": self._password}}))

    def accepts_key(self, key: str) -> bool:
        return self._accepts("/api/libraries", {"Authorization": f"Bearer {key}"})

    def readable_key(self, label: str) -> None:
        return None  # shown only when made

    def make_key(self, label: str) -> str:
        """A new active key for the root user named `label`; keys of that name made before, whose value is lost,
        are deleted first."""
        for old in self.get("/api/api-keys")["apiKeys"]:
            if old["name"] == label:
                self.delete(f"/api/api-keys/{old['id']}")
        made = self.post("/api/api-keys", {"name": label, "userId": self._user_id, "isActive": True})
        return made["apiKey"]["apiKey"]

    def _log_in(self) -> None:
        self._require_setup(self.status().get("isInit"), "it has no root user yet")
        response = self._password_login("/login", {"username": self.username, "password": self._password}, 401,
                                        "It was set only on a fresh server", "Audiobookshelf (Settings > Users)")
        user = response.json()["user"]
        self._user_id = user["id"]
        # 2.26 and later give a short-lived accessToken; before, the user's token did for everything.
        self._session.headers["Authorization"] = f"Bearer {user.get('accessToken') or user['token']}"
