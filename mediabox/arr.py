"""A Servarr app's API (Sonarr, Radarr, Lidarr, Readarr, Whisparr, Prowlarr): one session per app per run,
the API key in a header (never in a URL or a message), bounded waits for the app to answer and to stop
failing, and errors that name the app, the call and what to do."""

from __future__ import annotations

from dataclasses import dataclass

from mediabox.apps import AppError, SharedReads, lan_session, send, wait_ready

MASK = "********"  # what the apps send back instead of a stored password or key


@dataclass(frozen=True)
class Wiring:
    """How one Servarr app is wired: its API version, the qBittorrent category it files downloads under (and the
    client field that holds it), its library folder under /data/media, its application type in Prowlarr, and
    for Lidarr and Readarr the defaults their root folders carry (profiles by name)."""

    api: str
    category_field: str
    category: str
    library: str
    prowlarr_type: str
    library_defaults: dict | None = None
    key_from_env: bool = True  # reads <APP>__AUTH__APIKEY; else its config.xml is seeded before its first start


WIRED = {
    "sonarr": Wiring("v3", "tvCategory", "tv", "tv", "Sonarr"),
    "radarr": Wiring("v3", "movieCategory", "movies", "movies", "Radarr"),
    "lidarr": Wiring("v1", "musicCategory", "music", "music", "Lidarr",
                     {"quality_profile": "Any", "metadata_profile": "Standard", "monitor": "all", "new_items": "all"}),
    "readarr": Wiring("v1", "musicCategory", "books", "books", "Readarr",
                      {"quality_profile": "eBook", "metadata_profile": "Standard", "monitor": "all",
                       "new_items": "all"}, key_from_env=False),
    # Whisparr v2 forks Sonarr v3: a TV-shaped client, its own opt-in category and library (mediabox.layout).
    "whisparr": Wiring("v3", "tvCategory", "adult", "adult", "Whisparr", key_from_env=False),
}


class Connection(SharedReads):
    probe_path = "/ping"  # answers without a key while the app runs
    refusals = (401,)  # how the app answers a wrong key

    def __init__(self, title: str, url: str, api_key: str, version: str = "v3", ready_timeout_s: int = 120):
        self.title, self.url, self.base, self.ready_timeout_s = title, url.rstrip("/"), f"/api/{version}", \
            ready_timeout_s
        self._session = lan_session()
        self._session.headers["X-Api-Key"] = api_key
        self._ready = False

    def __repr__(self) -> str:
        return f"arr.Connection({self.title} at {self.url})"

    @property
    def container(self) -> str:
        return self.title.lower()

    def get(self, path: str, **params):
        return self._request("GET", path, params=params)

    def post(self, path: str, body: dict, **params):
        return self._request("POST", path, json=body, params=params)

    def put(self, path: str, body: dict, **params):
        return self._request("PUT", path, json=body, params=params)

    def passes_test(self, resource: str, body: dict) -> bool:
        """The app's own test of a stored provider (a download client, an application): it fills in the
        masked secrets itself, so this checks them without sending or reading them."""
        return self._request("POST", f"/{resource}/test", json=body, refused_ok=True) is not False

    def _request(self, method: str, path: str, refused_ok: bool = False, **kwargs):
        self._wait_ready()
        self._written(method, path)
        response = send(self._session, method, f"{self.url}{self.base}{path}", f"{method} {self.base}{path}",
                        f"{self.title} at {self.url}", self.container, self.ready_timeout_s, **kwargs)
        if response.status_code in self.refusals:
            raise AppError(f"{self.title} at {self.url} refuses the API key in the secrets file. The stack seeds "
                           "it through the app's environment or config.xml; if the app was set up before, put its "
                           "key (Settings > General) in the secrets file, or remove ApiKey from its config.xml and "
                           "restart it.")
        if response.status_code == 400 and refused_ok:
            return False
        if response.status_code >= 400:
            raise AppError(f"{self.title} at {self.url}: {method} {self.base}{path} failed with "
                           f"{response.status_code}: {response.text[:500]}")
        return response.json() if response.content else None

    def _wait_ready(self) -> None:
        if not self._ready:
            wait_ready(self._session, f"{self.url}{self.probe_path}", self.title, self.url, self.ready_timeout_s,
                       self.container)
            self._ready = True
