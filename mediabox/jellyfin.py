"""Jellyfin's API: the startup wizard's calls, then an administrator's session (a token from
/Users/AuthenticateByName, sent in the Authorization header: Jellyfin 12 refuses the legacy X-Emby-Token and
?api_key=), a bounded wait for the server, and errors that name Jellyfin and what to do."""

from __future__ import annotations

import requests

from mediabox.apps import AppError, NotUpYet, Sealed, preparing, wait_ready

CLIENT = 'MediaBrowser Client="mediabox", Device="pyinfra", DeviceId="mediabox-wiring", Version="1"'


class Connection:
    title = "Jellyfin"

    def __init__(self, url: str, username: str, password: str, ready_timeout_s: int = 120):
        self.url, self.username, self._password, self.ready_timeout_s = url.rstrip("/"), username, password, \
            ready_timeout_s
        self._session = requests.Session()
        self._session.headers["Authorization"] = CLIENT
        self._ready = False
        self._logged_in = False

    def __repr__(self) -> str:
        return f"jellyfin.Connection({self.url}, user={self.username})"

    def public_info(self) -> dict:
        self._wait_ready()
        return self._request("GET", "/System/Info/Public")

    def administrator(self) -> Sealed:
        """The wizard's user body: this connection's user and password."""
        return Sealed({"Name": self.username, "Password": self._password})

    def startup(self, method: str, path: str, body: dict | None = None):
        """A call of the startup wizard (open until the wizard completes)."""
        self._wait_ready()
        return self._request(method, f"/Startup/{path}", json=body)

    def get(self, path: str, **params):
        self._log_in()
        return self._request("GET", path, params=params)

    def post(self, path: str, body: dict | None = None, **params):
        self._log_in()
        return self._request("POST", path, json=body, params=params)

    def delete(self, path: str, **params):
        self._log_in()
        return self._request("DELETE", path, params=params)

    def _log_in(self) -> None:
        if self._logged_in:
            return
        if not self.public_info().get("StartupWizardCompleted"):
            if preparing():  # the wizard operation runs first at execute
                raise NotUpYet(f"Jellyfin at {self.url} (its startup wizard is not done yet)")
            raise AppError(f"Jellyfin at {self.url} has not completed its startup wizard; the wire stage runs it "
                           "first: see that operation's output.")
        try:
            response = self._session.post(f"{self.url}/Users/AuthenticateByName", timeout=30,
                                          json={"Username": self.username, "Pw": self._password})
        except requests.RequestException as error:
            raise AppError(f"Jellyfin at {self.url}: login got no answer ({error}). See `docker logs jellyfin` in "
                           "the guest.") from None
        if response.status_code == 401:
            raise AppError(f"Jellyfin at {self.url} refuses user {self.username} with the password in the secrets "
                           "file (jellyfin_password). The wizard set it only on a fresh server; set the same "
                           "password for that user in Jellyfin's dashboard (Users), or change the secrets file.")
        self._check(response, "POST", "/Users/AuthenticateByName")
        self._session.headers["Authorization"] = f'{CLIENT}, Token="{response.json()["AccessToken"]}"'
        self._logged_in = True

    def _request(self, method: str, path: str, **kwargs):
        try:
            response = self._session.request(method, f"{self.url}{path}", timeout=30, **kwargs)
        except requests.RequestException as error:
            raise AppError(f"Jellyfin at {self.url}: {method} {path} got no answer ({error}). See `docker logs "
                           "jellyfin` in the guest.") from None
        self._check(response, method, path)
        return response.json() if response.content and "json" in response.headers.get("Content-Type", "") else None

    def _check(self, response: requests.Response, method: str, path: str) -> None:
        if response.status_code >= 500:
            raise AppError(f"Jellyfin at {self.url}: {method} {path} failed with {response.status_code}: "
                           f"{response.text[:300]}. See `docker logs jellyfin` in the guest.")
        if response.status_code >= 400:
            raise AppError(f"Jellyfin at {self.url}: {method} {path} failed with {response.status_code}: "
                           f"{response.text[:300]}")

    def _wait_ready(self) -> None:
        if not self._ready:
            wait_ready(self._session, f"{self.url}/System/Info/Public", self.title, self.url, self.ready_timeout_s,
                       "jellyfin")
            self._ready = True
