"""Jellyfin's API: the startup wizard's calls, then an administrator's session (a token from
/Users/AuthenticateByName, sent in the Authorization header: Jellyfin 12 refuses the legacy X-Emby-Token and
?api_key=), a bounded wait for the server, and errors that name Jellyfin and what to do."""

from __future__ import annotations

from mediabox.apps import AppError, LoginApi, NotUpYet, Sealed, preparing, send

CLIENT = 'MediaBrowser Client="mediabox", Device="pyinfra", DeviceId="mediabox-wiring", Version="1"'


class Connection(LoginApi):
    title, container, probe_path = "Jellyfin", "jellyfin", "/System/Info/Public"

    def __init__(self, url: str, username: str, password: str, ready_timeout_s: int = 120):
        super().__init__(url, username, password, ready_timeout_s)
        self._session.headers["Authorization"] = CLIENT

    def public_info(self) -> dict:
        return self._request("GET", "/System/Info/Public")

    def administrator(self) -> Sealed:
        """The wizard's user body: this connection's user and password."""
        return Sealed({"Name": self.username, "Password": self._password})

    def startup(self, method: str, path: str, body: dict | None = None):
        """A call of the startup wizard (open until the wizard completes)."""
        return self._request(method, f"/Startup/{path}", json=body)

    def _log_in(self) -> None:
        if not self.public_info().get("StartupWizardCompleted"):
            if preparing():  # the wizard operation runs first at execute
                raise NotUpYet(f"Jellyfin at {self.url} (its startup wizard is not done yet)")
            raise AppError(f"Jellyfin at {self.url} has not completed its startup wizard; the wire stage runs it "
                           "first: see that operation's output.")
        response = send(self._session, "POST", f"{self.url}/Users/AuthenticateByName", "login",
                        f"{self.title} at {self.url}", self.container, self.ready_timeout_s,
                        json={"Username": self.username, "Pw": self._password})
        if response.status_code == 401:
            raise AppError(f"Jellyfin at {self.url} refuses user {self.username} with the password in the secrets "
                           "file (jellyfin_password). The wizard set it only on a fresh server; set the same "
                           "password for that user in Jellyfin's dashboard (Users), or change the secrets file.")
        if response.status_code >= 400:
            raise AppError(f"Jellyfin at {self.url}: login failed with {response.status_code}: {response.text[:300]}")
        self._session.headers["Authorization"] = f'{CLIENT}, Token="{response.json()["AccessToken"]}"'
