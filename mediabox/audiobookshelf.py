"""Audiobookshelf's API: its public status, the root user made on first start, then the root user's
session (a token from /login, sent as a Bearer token), with mediabox.apps' bounded waits and errors."""

from __future__ import annotations

from mediabox.apps import AppError, LoginApi, NotUpYet, Sealed, preparing, send


class Connection(LoginApi):
    title, container, probe_path = "Audiobookshelf", "audiobookshelf", "/status"

    def status(self) -> dict:
        return self._request("GET", "/status")

    def initialize(self) -> None:
        """Make the root user with this connection's name and password (a fresh server only)."""
        self._request("POST", "/init", json=Sealed({"newRoot": {"username": self.username,
                                                                "password": self._password}}))

    def _log_in(self) -> None:
        if not self.status().get("isInit"):
            if preparing():  # the root user operation runs first at execute
                raise NotUpYet(f"Audiobookshelf at {self.url} (it has no root user yet)")
            raise AppError(f"Audiobookshelf at {self.url} has no root user; the wire stage makes it first: see that "
                           "operation's output.")
        response = send(self._session, "POST", f"{self.url}/login", "login", f"{self.title} at {self.url}",
                        self.container, self.ready_timeout_s, json={"username": self.username,
                                                                    "password": self._password})
        if response.status_code == 401:
            raise AppError(f"Audiobookshelf at {self.url} refuses user {self.username} with the password in the "
                           "secrets file (audiobookshelf_password). It was set only on a fresh server; set the same "
                           "password in Audiobookshelf (Settings > Users), or change the secrets file. Audiobookshelf "
                           "limits login attempts, so nothing was retried.")
        if response.status_code >= 400:
            raise AppError(f"Audiobookshelf at {self.url}: login failed with {response.status_code}: "
                           f"{response.text[:300]}")
        self._session.headers["Authorization"] = f"Bearer {response.json()['user']['token']}"
