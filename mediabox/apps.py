"""What the wiring shares across apps: its error, bounded waits and retries, and operations planned before
the apps run.

Without -y, pyinfra runs every operation body once at prepare, before anything is changed, and again at
execute. On a fresh box the apps are not up at prepare (the stack stage starts them later in the same run),
so a connection refuses to wait then: it raises NotUpYet at once, and `deferred_while_down` turns that into
one "will change" command. At execute the body runs again and reads, diffs and writes for real. An AppError
is the user's message (a wrong key, an app that never answers): it is printed alone, never as a traceback.
"""

from __future__ import annotations

import copy
import functools
import time

import requests
from pyinfra import context, logger
from pyinfra.api import FunctionCommand, OperationError
from pyinfra.api.exceptions import NestedOperationError


class AppError(OperationError):
    """An app the wiring talks to failed: the message names the app and what to do."""


class AppCommand(FunctionCommand):
    """A write to an app's API, or any function command whose failure is the user's to read. pyinfra prints a
    traceback for any exception a FunctionCommand raises; an AppError is a message for the user (a wrong key,
    an app down, an update rolled back), so it is printed alone, in red, and the operation fails as a nested
    operation does."""

    def execute(self, state, host, connector_arguments):
        try:
            return super().execute(state, host, connector_arguments)
        except AppError as error:
            host.log_styled(str(error), fg="red", log_func=logger.error)
            raise NestedOperationError(str(error)) from None


class NotUpYet(Exception):
    """The app does not answer while pyinfra prepares: it is wired at execute, after the stack is up."""


def preparing() -> bool:
    """True while pyinfra detects changes (operation bodies run before anything is executed)."""
    state = context.ctx_state.get()
    return state is not None and not state.is_executing


def deferred_while_down(body):
    """For an operation body that talks to an app: an app down at prepare means "will change"; an AppError
    (a wrong key, an app that never answers) becomes a command that fails with its message, which pyinfra
    then prints alone instead of a greenlet's traceback."""
    @functools.wraps(body)
    def wrapper(*args, **kwargs):
        try:
            yield from body(*args, **kwargs)
        except NotUpYet as down:
            yield AppCommand(_fail, (f"{down}: it was down while pyinfra prepared, and the operation should have "
                                     "read it again at execute",), {})
        except AppError as error:
            yield refusal(str(error))
    return wrapper


def _fail(message: str) -> None:
    raise AppError(message)


def refusal(message: str) -> AppCommand:
    """A command that stops its operation with this message for the user, printed alone: for a refusal found while
    reading (pyinfra prints a traceback for an error raised in an operation body under -y)."""
    return AppCommand(_fail, (message,), {})


SERVER_ERROR_WAIT_S = 30  # how long an app answering 5xx gets to recover (it may still be migrating its database)


def send(session, method: str, url: str, shown: str, title: str, container: str, timeout_s: int,
         answers: tuple[int, ...] = (), **kwargs):
    """One API call: no answer is an AppError naming the app; a 5xx is retried for up to 30 s (never longer
    than timeout_s), then an AppError with what to look at. Any other answer is returned as it is, and so are
    the 5xx statuses in `answers`, which are the app's answer to this call, not a failure (autobrr: 503 "a user
    exists", 500 "the test failed")."""
    wait_s = min(SERVER_ERROR_WAIT_S, timeout_s)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            response = session.request(method, url, timeout=30, **kwargs)
        except requests.RequestException as error:
            raise AppError(f"{title}: {shown} got no answer ({error}). See `docker logs {container}` in the "
                           "guest.") from None
        if response.status_code < 500 or response.status_code in answers:
            return response
        if time.monotonic() >= deadline:
            raise AppError(f"{title}: {shown} still failed with {response.status_code} after {wait_s} s: "
                           f"{response.text[:300]}. See `docker logs {container}` in the guest.")
        time.sleep(3)


def missing_libraries(title: str, fix_where: str, wanted: dict[str, tuple[str, str]],
                      current: dict[str, tuple[str | None, list[str]]]) -> dict[str, tuple[str, str]]:
    """The wanted libraries (name -> (kind, folder)) an app lacks, given what it has (lower-cased name ->
    (kind, folders)). A library with the name but another kind or without the folder is reported, never
    rebuilt: that would drop what the app knows of its media."""
    for name, (kind, path) in wanted.items():
        found = current.get(name.lower())
        if not found:
            continue
        found_kind, folders = found[0], [folder.rstrip("/") for folder in found[1]]
        if found_kind != kind or path.rstrip("/") not in folders:
            raise AppError(f"{title}'s library {name!r} is a {found_kind} library of "
                           f"{', '.join(folders) or 'no folder'}, not a {kind} library of {path}. Fix it in "
                           f"{fix_where}, or delete it and run the deploy again.")
    return {name: spec for name, spec in wanted.items() if name.lower() not in current}


def lan_session() -> requests.Session:
    """An HTTP session for the apps, which the deploy reaches directly at the addresses its settings give: without
    requests' reading of the environment on every call (HTTP_PROXY and NO_PROXY, ~/.netrc, CA bundle variables), so
    a proxy meant for the internet never carries a call to the box and netrc never adds credentials to it; it is
    also ~0.4 ms of CPU less a call (~54 calls a Docker guest in a no-op run)."""
    session = requests.Session()
    session.trust_env = False
    return session


def wait_ready(session, probe_url: str, title: str, url: str, timeout_s: int, container: str) -> None:
    """Wait until probe_url answers 200: a bounded wait at execute, one look while preparing."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if session.get(probe_url, timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        if preparing():  # the stack may start later in this run
            raise NotUpYet(f"{title} at {url}")
        if time.monotonic() >= deadline:
            raise AppError(f"{title} at {url} did not answer within {timeout_s} s. Check `docker compose ps` and "
                           f"`docker logs {container}` in the guest.")
        time.sleep(2)


class SharedReads:
    """For a connection: a read that several operations make alike (a provider list, public settings) asks the
    app once; the others get a copy of its answer. A write through the connection (not a test) forgets them all,
    and so does the move from preparing to executing, so each read still sees what the run changed before it."""

    _shared: dict | None = None

    def shared(self, path: str, read=None):
        """GET path (with `read(path)`, else the connection's get), or a copy of this phase's answer to it."""
        key = (preparing(), path)
        if self._shared is None:
            self._shared = {}
        if key not in self._shared:
            self._shared[key] = (read or self.get)(path)
        return copy.deepcopy(self._shared[key])

    def _written(self, method: str, path: str) -> None:
        if method != "GET" and not path.endswith("/test") and self._shared:
            self._shared.clear()


class Sealed(dict):
    """A request body that holds a secret: pyinfra shows a FunctionCommand's arguments in debug output."""

    def __repr__(self) -> str:
        return f"<request body with secrets ({len(self)} keys)>"


class LoginApi(SharedReads):
    """An app the wiring reaches as a user who logs in (Jellyfin, Audiobookshelf): a session made on first use,
    a bounded wait on a public probe, and errors that name the app, the call and where to look. Subclasses give
    title, container, probe_path and `_log_in()`, which sets the session's token."""

    title = container = probe_path = ""

    def __init__(self, url: str, username: str, password: str, ready_timeout_s: int = 120):
        self.url, self.username, self._password = url.rstrip("/"), username, password
        self.ready_timeout_s = ready_timeout_s
        self._session = lan_session()
        self._ready = self._logged_in = False

    def __repr__(self) -> str:  # never the password
        return f"{self.container}.Connection({self.url}, user={self.username})"

    def get(self, path: str, **params):
        return self._authenticated("GET", path, params=params)

    def post(self, path: str, body: dict | None = None, **params):
        return self._authenticated("POST", path, json=body, params=params)

    def delete(self, path: str, **params):
        return self._authenticated("DELETE", path, params=params)

    def _authenticated(self, method: str, path: str, **kwargs):
        self._logged_in_once()
        return self._request(method, path, **kwargs)

    def _logged_in_once(self) -> None:
        if not self._logged_in:
            self._log_in()
            self._logged_in = True

    def _log_in(self) -> None:
        raise NotImplementedError

    def _require_setup(self, done: bool, missing: str) -> None:
        """Before a login: the app's first-run setup (its user, its wizard) is done; while preparing, an app not
        set up yet is one the wire stage sets up first in this run."""
        if done:
            return
        if preparing():
            raise NotUpYet(f"{self.title} at {self.url} ({missing})")
        raise AppError(f"{self.title} at {self.url}: {missing}; the wire stage sets that up first: see that "
                       "operation's output.")

    def _password_login(self, path: str, body: dict, refused: int, when_set: str, where: str):
        """POST the user's name and password (body, in the app's field names) to its login, once: apps limit
        attempts. A refusal (status `refused`) names the user, the secrets file's entry and where to set the
        password. Returns the answer."""
        self._wait_ready()
        response = send(self._session, "POST", f"{self.url}{path}", "login", f"{self.title} at {self.url}",
                        self.container, self.ready_timeout_s, json=body)
        if response.status_code == refused:
            raise AppError(f"{self.title} at {self.url} refuses user {self.username} with the password in the "
                           f"secrets file ({self.container}_password). {when_set}; set the same password in {where}, "
                           "or change the secrets file. Nothing was retried.")
        if response.status_code >= 400:
            raise AppError(f"{self.title} at {self.url}: login failed with {response.status_code}: "
                           f"{response.text[:300]}")
        return response

    def _accepts(self, path: str, headers: dict) -> bool:
        """Whether a GET of path answers 200 with these headers: another credential than the session's (an API
        key), checked with one call."""
        self._wait_ready()
        return send(self._session, "GET", f"{self.url}{path}", f"GET {path}", f"{self.title} at {self.url}",
                    self.container, self.ready_timeout_s, headers=headers).status_code == 200

    def _wait_ready(self) -> None:
        if not self._ready:
            wait_ready(self._session, f"{self.url}{self.probe_path}", self.title, self.url, self.ready_timeout_s,
                       self.container)
            self._ready = True

    def _request(self, method: str, path: str, **kwargs):
        self._wait_ready()
        self._written(method, path)
        response = send(self._session, method, f"{self.url}{path}", f"{method} {path}", f"{self.title} at {self.url}",
                        self.container, self.ready_timeout_s, **kwargs)
        if response.status_code >= 400:
            raise AppError(f"{self.title} at {self.url}: {method} {path} failed with {response.status_code}: "
                           f"{response.text[:300]}")
        return response.json() if response.content and "json" in response.headers.get("Content-Type", "") else None
