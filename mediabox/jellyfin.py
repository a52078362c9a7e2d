"""Jellyfin's API: the startup wizard's calls, then an administrator's session (a token from
/Users/AuthenticateByName, sent in the Authorization header: Jellyfin 12 refuses the legacy X-Emby-Token and
?api_key=), a bounded wait for the server, and errors that name Jellyfin and what to do; and its API keys,
which an administrator makes per app name and can list."""

from __future__ import annotations

from mediabox.apps import LoginApi, Sealed

CLIENT = 'MediaBrowser Client="mediabox", Device="pyinfra", DeviceId="mediabox-wiring", Version="1"'


class Connection(LoginApi):
    title, container, probe_path = "Jellyfin", "jellyfin", "/System/Info/Public"

    def __init__(self, url: str, username: str, password: str, ready_timeout_s: int = 120):
        super().__init__(url, username, password, ready_timeout_s)
        self._session.headers["Authorization"] = CLIENT

    def public_info(self) -> dict:
        return self.shared("/System/Info/Public", lambda path: self._request("GET", path))

    def administrator(self) -> Sealed:
        """The wizard's user body: this connection's user and password."""
        return Sealed({"Name": self.username, "Password": self._password})

    def startup(self, method: str, path: str, body: dict | None = None):
        """A call of the startup wizard (open until the wizard completes)."""
        return self._request(method, f"/Startup/{path}", json=body)

    def accepts_key(self, key: str) -> bool:
        """Whether Jellyfin takes this API key (in the Authorization header, as Jellyfin 12 requires)."""
        return self._accepts("/System/Info", {"Authorization": f'{CLIENT}, Token="{key}"'})

    def readable_key(self, label: str) -> str | None:
        """The newest of Jellyfin's API keys made for the app `label` (Jellyfin shows its keys to an admin)."""
        keys = [k for k in self.get("/Auth/Keys")["Items"] if k.get("AppName") == label]
        return max(keys, key=lambda k: k["DateCreated"])["AccessToken"] if keys else None

    def make_key(self, label: str) -> str:
        self.post("/Auth/Keys", app=label)  # 204 with no body: the key is read back
        return self.readable_key(label)

    def _log_in(self) -> None:
        self._require_setup(self.public_info().get("StartupWizardCompleted"), "its startup wizard is not done yet")
        response = self._password_login("/Users/AuthenticateByName", {"Username": self.username, "Pw": self._password},
                                        401, "The wizard set it only on a fresh server",
                                        "Jellyfin's dashboard (Users)")
        self._session.headers["Authorization"] = f'{CLIENT}, Token="{response.json()["AccessToken"]}"'
