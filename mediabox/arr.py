"""A Servarr app's API (Sonarr, Radarr, Lidarr, Readarr, Whisparr, Prowlarr): one session per app per run,
the API key in a header (never in a URL or a message), a bounded wait for the app to answer, and errors
that name the app, the call and what to do."""

from __future__ import annotations

import time

import requests

from mediabox.apps import AppError

MASK = "********"  # what the apps send back instead of a stored password or key


class Connection:
    def __init__(self, title: str, url: str, api_key: str, version: str = "v3", ready_timeout_s: int = 120):
        self.title, self.url, self.base, self.ready_timeout_s = title, url.rstrip("/"), f"/api/{version}", \
            ready_timeout_s
        self._session = requests.Session()
        self._session.headers["X-Api-Key"] = api_key
        self._ready = False

    def __repr__(self) -> str:
        return f"arr.Connection({self.title} at {self.url})"

    def get(self, path: str, **params):
        return self._request("GET", path, params=params)

    def post(self, path: str, body: dict, **params):
        return self._request("POST", path, json=body, params=params)

    def put(self, path: str, body: dict, **params):
        return self._request("PUT", path, json=body, params=params)

    def _request(self, method: str, path: str, **kwargs):
        self._wait_ready()
        response = self._session.request(method, f"{self.url}{self.base}{path}", timeout=30, **kwargs)
        if response.status_code == 401:
            raise AppError(f"{self.title} at {self.url} refuses the API key in the secrets file. The stack seeds "
                           "it through the app's environment; if the app was set up before, put its key (Settings > "
                           "General) in the secrets file, or remove ApiKey from its config.xml and restart it.")
        if response.status_code >= 400:
            raise AppError(f"{self.title} at {self.url}: {method} {self.base}{path} failed with "
                           f"{response.status_code}: {response.text[:500]}")
        return response.json() if response.content else None

    def _wait_ready(self) -> None:
        if self._ready:
            return
        deadline = time.monotonic() + self.ready_timeout_s
        while True:
            try:
                if self._session.get(f"{self.url}/ping", timeout=5).status_code == 200:
                    self._ready = True
                    return
            except requests.RequestException:
                pass
            if time.monotonic() >= deadline:
                raise AppError(f"{self.title} at {self.url} did not answer within {self.ready_timeout_s} s. Check "
                               f"`docker compose ps` and `docker logs {self.title.lower()}` in the guest.")
            time.sleep(2)
