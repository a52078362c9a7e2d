"""autobrr's API: onboarding (its only user, made on a fresh server), then that user's session (a cookie from
/api/auth/login), with mediabox.apps' bounded waits and errors that name autobrr and what to do; and its API keys,
which autobrr makes and lists in clear."""

from __future__ import annotations

from mediabox.apps import AppError, LoginApi, Sealed, send

REDACTED = "<redacted>"  # what autobrr sends back instead of a stored password or key


class Connection(LoginApi):
    title, container, probe_path = "autobrr", "autobrr", "/api/healthz/liveness"

    def onboarding_open(self) -> bool:
        """True while autobrr has no user (GET /api/auth/onboard answers 204; 503 once one exists)."""
        self._wait_ready()
        response = send(self._session, "GET", f"{self.url}/api/auth/onboard", "GET /api/auth/onboard",
                        f"{self.title} at {self.url}", self.container, self.ready_timeout_s, answers=(503,))
        if response.status_code not in (204, 503):
            raise AppError(f"autobrr at {self.url}: GET /api/auth/onboard failed with {response.status_code}: "
                           f"{response.text[:300]}")
        return response.status_code == 204

    def onboard(self) -> None:
        """Make autobrr's user with this connection's name and password (a fresh server only)."""
        self._request("POST", "/api/auth/onboard", json=Sealed({"username": self.username,
                                                                "password": self._password}))

    def put(self, path: str, body: dict):
        return self._authenticated("PUT", path, json=body)

    def test_failure(self, client: dict) -> str | None:
        """autobrr's own test of a stored download client, None when it passes, else autobrr's reason. autobrr
        fills in the redacted secrets itself, so this checks them without sending or reading them. A failed
        test is autobrr's 500: an answer, never retried."""
        self._logged_in_once()
        response = send(self._session, "POST", f"{self.url}/api/download_clients/test",
                        "POST /api/download_clients/test", f"{self.title} at {self.url}", self.container,
                        self.ready_timeout_s, answers=(500,), json=client)
        if response.status_code == 204:
            return None
        try:
            return response.json()["message"]
        except (ValueError, KeyError, TypeError):
            return f"{response.status_code} {response.text[:300]}"

    def accepts_key(self, key: str) -> bool:
        return self._accepts("/api/keys", {"X-API-Token": key})

    def readable_key(self, label: str) -> str | None:
        """The key named `label` (autobrr lists its keys in clear)."""
        return next((k["key"] for k in self.get("/api/keys") if k["name"] == label), None)

    def make_key(self, label: str) -> str:
        return self.post("/api/keys", {"name": label, "scopes": []})["key"]

    def _log_in(self) -> None:
        self._require_setup(not self.onboarding_open(), "it has no user yet")
        self._password_login("/api/auth/login", {"username": self.username, "password": self._password}, 403,
                             "It was set only on a fresh autobrr", "autobrr (Settings > Account)")
