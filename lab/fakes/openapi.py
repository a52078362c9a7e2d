"""What every app fake shares: the published spec (patched for its known defects, never loosened), request and
response validation with openapi-core, an HTTP server, state kept in a JSON file like the app's database,
a count of mutating calls, and injected faults.

Besides the app's API each fake serves a control path the app does not have, /__fake/ (never validated):
- GET  /__fake/state   {"writes": [[method, path], ...], "invalid": [...], "state": {...}}
- POST /__fake/fault   {"status": 500, "times": 3} answers the next 3 API calls (all with -1) with that status;
  {"status": 0} clears it.
- POST /__fake/state   {"<key>": value} replaces parts of the state (drift made by a test).
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

CONTROL = "/__fake/"
VERDICTS_KEPT = 4096  # distinct requests and responses whose verdict is kept
HERE = Path(__file__).resolve().parent


def specs_dir() -> Path:
    """The published specs: MEDIABOX_SPECS (the lab image sets it), else ../shared/specs next to the repository,
    else /work/shared/specs."""
    repo = HERE.parents[1]
    for candidate in (os.environ.get("MEDIABOX_SPECS"), repo.parent / "shared" / "specs", "/work/shared/specs"):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    raise RuntimeError("no OpenAPI specs: set MEDIABOX_SPECS to the folder holding the apps' *.openapi.json")


def servarr_spec(filename: str) -> dict:
    """A Servarr spec with its known defects patched: the bogus "/" path (a StaticResource with a `path`
    parameter that strict validators refuse) is dropped; /ping, which the apps serve without a key (it is the
    health check), gets no security requirement instead of the spec's global one; and every 200 of a POST or
    PUT is also declared as the 201/202 the servers really send."""
    spec = json.loads((specs_dir() / filename).read_text())
    spec["paths"].pop("/", None)
    for operation in spec["paths"].get("/ping", {}).values():
        operation["security"] = []
    for item in spec["paths"].values():
        for method, status in (("post", "201"), ("put", "202")):
            responses = item.get(method, {}).get("responses", {})
            if "200" in responses:
                responses.setdefault(status, copy.deepcopy(responses["200"]))
    return spec


def cookies(headers: dict) -> dict:
    """The request's cookies, by name."""
    return dict(part.strip().split("=", 1) for part in headers.get("Cookie", "").split(";") if "=" in part)


class Refused(Exception):
    """An app's own refusal: status and body, as the app sends them."""

    def __init__(self, status: int, body=None):
        super().__init__(status)
        self.status, self.body = status, body


class SpecFake:
    """Subclasses give `route(method, path, query, body) -> (status, payload)` (or (status, payload, headers), for
    a Set-Cookie) and `authorized(...)`; state that must survive a restart goes in self.state (a JSON-able dict)."""

    name = "app"
    unvalidated: tuple[str, ...] = ()  # paths the app serves outside its spec (a health check); "x/": all below
    not_writes: tuple[str, ...] = ()  # POST paths that change nothing (a login)

    def __init__(self, spec: dict, state_file: str | None = None):
        self.openapi = OpenAPI.from_dict(spec)
        # Requests are checked as sent to the spec's own server (a templated one matches any host).
        server = (spec.get("servers") or [{}])[0].get("url", "")
        self.host_url = server if server.startswith("http") and "{" not in server else "http://localhost"
        self.state_file = state_file
        self.state: dict = self._load() or self.first_run_state()
        self.writes: list[tuple[str, str]] = []
        self.invalid: list[str] = []  # every request or response the spec refused
        self.fault = {"status": 0, "times": 0}
        self._lock = threading.RLock()
        self._verdicts: dict[tuple, str | None] = {}
        self._server: ThreadingHTTPServer | None = None

    # ------------------------------------------------------------------------------ for subclasses

    def first_run_state(self) -> dict:
        return {}

    def authorized(self, path: str, headers: dict, query: dict) -> bool:
        return True

    def route(self, method: str, path: str, query: dict, body):
        raise NotImplementedError

    def new_id(self) -> int:
        self.state["next_id"] = self.state.get("next_id", 0) + 1
        return self.state["next_id"]

    # ------------------------------------------------------------------------------ lifecycle

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve in a thread; returns the base URL."""
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://{host}:{self._server.server_address[1]}"

    def serve_forever(self, port: int) -> None:
        ThreadingHTTPServer(("0.0.0.0", port), _handler(self)).serve_forever()

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    # ------------------------------------------------------------------------------ requests

    def handle(self, method: str, raw_path: str, headers: dict, body: bytes) -> tuple[int, object, dict]:
        """One request: (status, payload, the response's extra headers)."""
        url = urlsplit(raw_path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if url.path.startswith(CONTROL):
            return (*self._control(method, url.path[len(CONTROL):], body), {})
        if not self.authorized(url.path, headers, query):
            return 401, None, {}
        with self._lock:
            if self.fault["times"] and url.path != "/ping":
                self.fault["times"] -= 1
                return self.fault["status"], {"message": "injected fault"}, {}
        validated = not any(url.path == path or (path.endswith("/") and url.path.startswith(path))
                            for path in self.unvalidated)
        request = MockRequest(self.host_url, method.lower(), url.path, args=query, headers=headers,
                              cookies=cookies(headers), data=body or None)
        asked = (method, raw_path, tuple(sorted(headers.items())), body)
        error = validated and self._verdict(asked, lambda: self.openapi.validate_request(request))
        if error:
            self.invalid.append(f"request {method} {url.path}: {error}")
            return 400, [{"propertyName": "", "errorMessage": f"invalid request: {error}", "severity": "error"}], {}
        with self._lock:
            try:
                status, payload, *extra = self.route(method, url.path, query, json.loads(body) if body else None)
            except Refused as refusal:
                return refusal.status, refusal.body, {}
            if method in ("POST", "PUT", "DELETE") and not url.path.endswith(("/test", "/testall")) \
                    and url.path not in self.not_writes:
                self.writes.append((method, url.path))
                self._save()
        if payload is not None and validated:
            response = MockResponse(json.dumps(payload).encode(), status_code=status)
            error = self._verdict((asked, status, response.data),
                                  lambda: self.openapi.validate_response(request, response))
            if error:
                self.invalid.append(f"response {method} {url.path} {status}: {error}")
        return status, payload, (extra[0] if extra else {})

    def _verdict(self, exchange: tuple, validate) -> str | None:
        """The spec's verdict on a request or a response (None: valid, else the error), checked once for each
        distinct one: the same method, URL, headers and body (and status and body back) get the same verdict, and
        a real app spends nothing on validation, so repeating it would only load the lab's cores."""
        if exchange not in self._verdicts:
            try:
                validate()
                verdict = None
            except Exception as error:  # noqa: BLE001 - every refusal is a verdict
                verdict = str(error) or type(error).__name__
            if len(self._verdicts) >= VERDICTS_KEPT:
                self._verdicts.clear()
            self._verdicts[exchange] = verdict
        return self._verdicts[exchange]

    def _control(self, method: str, what: str, body: bytes) -> tuple[int, object]:
        with self._lock:
            if what == "state" and method == "GET":
                return 200, {"writes": self.writes, "invalid": self.invalid, "state": self.state}
            if what == "state" and method == "POST":
                self.state.update(json.loads(body))
                self._save()
                return 200, self.state
            if what == "fault" and method == "POST":
                fault = json.loads(body)
                self.fault = {"status": fault["status"], "times": fault.get("times", -1) if fault["status"] else 0}
                return 200, self.fault
        return 404, None

    # ------------------------------------------------------------------------------ persistence

    def _load(self) -> dict | None:
        if self.state_file and os.path.exists(self.state_file):
            with open(self.state_file) as src:
                return json.load(src)
        return None

    def _save(self) -> None:
        if self.state_file:
            partial = self.state_file + ".partial"
            with open(partial, "w") as out:
                json.dump(self.state, out, indent=1)
            os.replace(partial, self.state_file)


def _handler(fake: SpecFake):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: with Nagle's algorithm on, the body waits for the client's
        # delayed ACK, 40 ms a call that no real app costs.
        disable_nagle_algorithm = True

        def log_message(self, *args):  # quiet
            pass

        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, payload, headers = fake.handle(self.command, self.path, dict(self.headers), body)
            data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

    return Handler
