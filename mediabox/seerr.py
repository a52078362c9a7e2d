"""Seerr's API: the Servarr-style keyed session (X-Api-Key, which Seerr honours only once it has an admin,
i.e. once it is linked to Jellyfin), its public settings, and the bounded waits of mediabox.arr."""

from __future__ import annotations

from mediabox import arr
from mediabox.apps import AppError, NotUpYet, preparing

JELLYFIN = 2  # settings.public.mediaServerType once Seerr is linked to Jellyfin (4: none yet)


class Connection(arr.Connection):
    probe_path = "/api/v1/status"
    refusals = (401, 403)

    def __init__(self, url: str, api_key: str, ready_timeout_s: int = 120):
        super().__init__("Seerr", url, api_key, "v1", ready_timeout_s)

    def public(self) -> dict:
        return self.shared("/settings/public")

    def require_linked(self) -> None:
        """The key works only once Seerr has its admin: stop (or plan, while preparing) until it is linked."""
        if self.public().get("mediaServerType") == JELLYFIN:
            return
        if preparing():
            raise NotUpYet(f"Seerr at {self.url} (not linked to Jellyfin yet)")
        raise AppError(f"Seerr at {self.url} is not linked to Jellyfin, so it has no admin and refuses its API key; "
                       "the wire stage links it first: see that operation's output.")
