"""A stateful fake of a Servarr app's API (Sonarr v3 first; Radarr and Lidarr share the shape) that
validates every request and every response it gives against the app's published OpenAPI spec.

State: root folders and download clients, an API key, first-run defaults; it masks password fields
("********") on reads and keeps the stored value when the mask is sent back, answers POST with 201 and
PUT with 202 as the real apps do, refuses a duplicate root folder or client name with 400, and counts
every mutating call (`fake.writes`), so a test can assert that a second run sends none.

The published specs have known defects, patched here and nowhere else (validation is never loosened):
the bogus "/" path (a StaticResource with a `path` parameter) is dropped, and every 200 response of a
POST or PUT is also declared as the 201/202 the servers really send. The specs declare no error
responses at all, so only successful responses are checked against them; error bodies follow the
servers' own shape (a list of {propertyName, errorMessage, severity}).
"""

from __future__ import annotations

import copy
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

MASK = "********"
REPO = Path(__file__).resolve().parents[2]


def specs_dir() -> Path:
    """The published specs: MEDIABOX_SPECS, else ../shared/specs next to the repo, else /work/shared/specs."""
    for candidate in (os.environ.get("MEDIABOX_SPECS"), REPO.parent / "shared" / "specs", "/work/shared/specs"):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    raise RuntimeError("no OpenAPI specs: set MEDIABOX_SPECS to the folder holding sonarr-*.openapi.json")


def patched_spec(name: str) -> dict:
    spec = json.loads(next(specs_dir().glob(f"{name}-*.openapi.json")).read_text())
    spec["paths"].pop("/", None)
    for item in spec["paths"].values():
        for method, status in (("post", "201"), ("put", "202")):
            responses = item.get(method, {}).get("responses", {})
            if "200" in responses:
                responses.setdefault(status, copy.deepcopy(responses["200"]))
    return spec


def qbittorrent_schema(category_field: str) -> dict:
    """The QBittorrent template GET /downloadclient/schema returns (the fields the wiring sets)."""
    fields = [("host", "localhost", "textbox"), ("port", 8080, "textbox"), ("useSsl", False, "checkbox"),
              ("urlBase", None, "textbox"), ("username", None, "textbox"), ("password", None, "password"),
              (category_field, "tv-sonarr", "textbox"), ("initialState", 0, "select"), ("sequentialOrder", False,
                                                                                      "checkbox")]
    return {"enable": True, "protocol": "torrent", "priority": 1, "removeCompletedDownloads": True,
            "removeFailedDownloads": True, "name": "", "implementationName": "qBittorrent",
            "implementation": "QBittorrent", "configContract": "QBittorrentSettings", "infoLink":
            "https://wiki.servarr.com/sonarr/supported#qbittorrent", "tags": [],
            "fields": [{"order": i, "name": n, "label": n, "value": v, "type": t, "advanced": False,
                        "privacy": "password" if t == "password" else "normal", "isFloat": False}
                       for i, (n, v, t) in enumerate(fields)]}


class ServarrFake:
    def __init__(self, app: str = "sonarr", api_key: str = "0" * 32, version: str = "v3",
                 category_field: str = "tvCategory"):
        self.app, self.api_key, self.base = app, api_key, f"/api/{version}"
        self.openapi = OpenAPI.from_dict(patched_spec(app))
        self.category_field = category_field
        self.root_folders: list[dict] = []
        self.clients: list[dict] = []
        self.writes: list[tuple[str, str]] = []
        self.invalid: list[str] = []  # every request or response the spec refused
        self._next_id = 1
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # ------------------------------------------------------------------------------------ lifecycle

    def start(self, host: str = "127.0.0.1") -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, payload = fake.handle(self.command, self.path, dict(self.headers), body)
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        self._server = ThreadingHTTPServer((host, 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://{host}:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    # ------------------------------------------------------------------------------------ requests

    def handle(self, method: str, raw_path: str, headers: dict, body: bytes) -> tuple[int, object]:
        url = urlsplit(raw_path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        request = MockRequest("http://fake", method.lower(), url.path, args=query, headers=headers,
                              data=body or None)
        if url.path != "/ping" and headers.get("X-Api-Key") != self.api_key and query.get("apikey") != self.api_key:
            return 401, None
        try:
            self.openapi.validate_request(request)
        except Exception as error:  # noqa: BLE001 - every refusal is recorded and answered 400
            self.invalid.append(f"request {method} {url.path}: {error}")
            return 400, [{"propertyName": "", "errorMessage": f"invalid request: {error}", "severity": "error"}]
        with self._lock:
            status, payload = self._route(method, url.path, json.loads(body) if body else None)
            if method in ("POST", "PUT", "DELETE") and status < 300 and not url.path.endswith("/test"):
                self.writes.append((method, url.path))
        if payload is not None and status < 300:
            response = MockResponse(json.dumps(payload).encode(), status_code=status)
            try:
                self.openapi.validate_response(request, response)
            except Exception as error:  # noqa: BLE001
                self.invalid.append(f"response {method} {url.path} {status}: {error}")
        return status, payload

    def _route(self, method: str, path: str, body) -> tuple[int, object]:
        b = self.base
        if path == "/ping":
            return 200, {"status": "OK"}
        if path == f"{b}/system/status":
            return 200, {"appName": self.app.capitalize(), "version": "4.0.19.2979", "isProduction": True}
        if path == f"{b}/rootfolder":
            if method == "GET":
                return 200, self.root_folders
            if any(f["path"].rstrip("/") == body["path"].rstrip("/") for f in self.root_folders):
                return 400, [{"propertyName": "Path", "errorMessage": f"'{body['path']}' is already configured as a "
                              "root folder", "attemptedValue": body["path"], "severity": "error"}]
            folder = {"id": self._new_id(), "path": body["path"], "accessible": True, "freeSpace": 10 ** 11,
                      "unmappedFolders": []}
            self.root_folders.append(folder)
            return 201, folder
        if path.startswith(f"{b}/rootfolder/") and method == "DELETE":
            self.root_folders = [f for f in self.root_folders if f["id"] != int(path.rsplit("/", 1)[1])]
            return 200, None
        if path == f"{b}/downloadclient/schema":
            return 200, [qbittorrent_schema(self.category_field)]
        if path == f"{b}/downloadclient/test":
            return 200, None
        if path == f"{b}/downloadclient":
            if method == "GET":
                return 200, [self._masked(c) for c in self.clients]
            if any(c["name"].lower() == body["name"].lower() for c in self.clients):
                return 400, [{"propertyName": "Name", "errorMessage": "Should be unique", "severity": "error"}]
            client = {**body, "id": self._new_id()}
            self.clients.append(client)
            return 201, self._masked(client)
        if path.startswith(f"{b}/downloadclient/"):
            client_id = int(path.rsplit("/", 1)[1])
            stored = next((c for c in self.clients if c["id"] == client_id), None)
            if stored is None:
                return 404, None
            if method == "DELETE":
                self.clients.remove(stored)
                return 200, None
            if method == "PUT":
                merged = {**body, "id": client_id, "fields": [
                    {**f, "value": self._field(stored, f["name"])} if f.get("value") == MASK else f
                    for f in body["fields"]]}
                self.clients[self.clients.index(stored)] = merged
                return 202, self._masked(merged)
            return 200, self._masked(stored)
        return 404, None

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    @staticmethod
    def _field(resource: dict, name: str):
        return next((f.get("value") for f in resource["fields"] if f["name"] == name), None)

    @staticmethod
    def _masked(resource: dict) -> dict:
        masked = copy.deepcopy(resource)
        for field in masked.get("fields", []):
            if field.get("type") == "password" and field.get("value"):
                field["value"] = MASK
        return masked
