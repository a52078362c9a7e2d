"""TubeArchivist's API: its superuser (made by TubeArchivist itself at its first start, from TA_USERNAME and
TA_PASSWORD), that user's session (a cookie from /api/user/login/), with mediabox.apps' bounded waits and
errors; and its API token, one per user, which TubeArchivist makes on the first read of it."""

from __future__ import annotations

from mediabox.apps import LoginApi


class Connection(LoginApi):
    title, container, probe_path = "TubeArchivist", "tubearchivist", "/api/health/"

    def accepts_key(self, key: str) -> bool:
        return self._accepts("/api/appsettings/token/", {"Authorization": f"Token {key}"})

    def readable_key(self, label: str) -> None:
        return None  # reading it makes it: read only when it is wanted (make_key)

    def make_key(self, label: str) -> str:
        """The user's token (TubeArchivist has one per user, and no names: `label` is not used)."""
        return self.get("/api/appsettings/token/")["token"]

    def _log_in(self) -> None:
        self._password_login("/api/user/login/", {"username": self.username, "password": self._password}, 400,
                             "TubeArchivist takes TA_PASSWORD only when it makes its user, at its first start",
                             "TubeArchivist (Settings > User)")
