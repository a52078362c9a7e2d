"""The Proxmox VE API client: one per host per run, TLS always verified, calls retried only when that can help.

    api = pve.client(host.name, settings, secrets, address, ssh_key=host.data.get("ssh_key"))
    upid = pve.call(lambda: api.nodes(node).lxc.post(**params), what="create CT 200",
                    fields={"memory": "guest_memory_mb"})
    pve.wait_task(api, node, upid, timeout_s=600, what="create CT 200")
    # or both at once, starting the task again while a lock or lost quorum makes it fail:
    pve.run_task(api, lambda: api.nodes(node).lxc(200).status.start.post(), what="start CT 200")

Logins (pve_auth): 'password' logs in for a ticket (root@pam may set anything) and logs in again by itself when
the ticket has expired; 'token' sends an API token, which never counts as root@pam (see auth_limits); 'ssh' runs
pvesh on the host as root over SSH with the host's key.
TLS: the host's CA file (pve_ca_file) or the pinned SHA-256 fingerprint of its certificate (pve_tls_fingerprint);
a client is never made with neither. Only the client (its login) is kept per host; answers are never cached.

Reads happen in deploy code and operation bodies; writes go through FunctionCommand (see operations/).
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import paramiko
import requests
from proxmoxer import ProxmoxAPI
from proxmoxer.backends.https import (
    AuthenticationError,
    JsonSerializer,
    ProxmoxHTTPApiTokenAuth,
    ProxmoxHTTPAuthBase,
    ProxmoxHttpSession,
)
from proxmoxer.core import ProxmoxResource, ResourceException
from proxmoxer.tools import Tasks
from pyinfra import logger
from requests.adapters import HTTPAdapter
from requests.cookies import cookiejar_from_dict

from mediabox import lxc
from mediabox.secrets import Secrets
from mediabox.settings import Problem, Settings

T = TypeVar("T")

AUTH_MODES = ("password", "token", "ssh")
TIMEOUT_S = 15

ROOT_ONLY_FIX = "use pve_auth = 'password' (root@pam) or 'ssh'"
FINGERPRINT_FIX = ("compare it with `pvenode cert info` on the host (pveproxy-ssl.pem when present, else "
                   "pve-ssl.pem) and set pve_tls_fingerprint to the one in use, or use pve_ca_file instead")

# PVE's wording for a guest or config another task holds, and for a cluster without quorum: both pass in time.
_BUSY = re.compile(r"(CT|VM) is locked|can't lock file|no quorum")
# PVE's wording of 5xx answers that come back the same every time: retrying them only delays the error.
_REFUSALS = ("does not exist", "already exists", "already running", "not running", "is running",
             "only allowed for root", "Only root", "content type", "does not allow", "detected modified configuration",
             "protection mode", "no options specified", "unable to", "can't", "cannot", "missing", "not supported",
             "not implemented", "is not", "invalid")
# Lines per page when reading the tail of a task log.
_LOG_PAGE = 500


class PveError(Exception):
    """An API call the engine gave up on, with what to do about it.

    setting: the setting to change, when there is one (e.g. guest_memory_mb for a refused memory value);
    errors: PVE's per-field errors of a 400; exitstatus: the exit status of a failed task.
    """

    def __init__(self, message: str, fix: str = "", setting: str | None = None,
                 errors: dict | None = None, exitstatus: str | None = None):
        super().__init__(f"{message}\nFix: {fix}" if fix else message)
        self.message = message
        self.fix = fix
        self.setting = setting
        self.errors = errors
        self.exitstatus = exitstatus


class FingerprintMismatch(requests.exceptions.SSLError):
    """The server's certificate is not the pinned one; the connection was closed before anything was sent."""

    def __init__(self, url: str, expected: str, presented: str):
        super().__init__(f"{url} presented a certificate with SHA-256 fingerprint {presented}, not the pinned "
                         f"pve_tls_fingerprint {expected}; nothing was sent to it")
        self.expected = expected
        self.presented = presented


# What talking to the API can raise besides a bug: network, TLS, login and API errors.
API_ERRORS = (requests.exceptions.RequestException, AuthenticationError, ResourceException, PveError)


@dataclass(frozen=True)
class Target:
    """How to reach one host's API. client() makes it from the settings; connect() takes it as it is."""

    host: str  # the API's host name or IP; for 'ssh', the host's SSH address
    port: int = 8006  # the API port; for 'ssh', the SSH port
    auth: str = "password"  # one of AUTH_MODES
    user: str = "root@pam"  # the password login ('token' takes its user from pve_token_id; 'ssh' is root)
    ca_file: str | None = None  # a copy of the host's /etc/pve/pve-root-ca.pem
    fingerprint: str | None = None  # or the SHA-256 fingerprint of its certificate, 'AB:CD:...'
    ssh_key_file: str | None = None  # 'ssh' only: root's private key
    timeout_s: float = TIMEOUT_S


_clients: dict[str, ProxmoxResource] = {}


# --------------------------------------------------------------------------- clients

def api_url(s: Settings, address: str) -> str:
    return f"https://{s.pve_api_host or address}:{s.pve_api_port}"


def target(s: Settings, address: str, ssh_key: str | None = None, ssh_port: int = 22) -> Target:
    """Where and how to reach the host's API, from its settings. address: the host's SSH address."""
    if s.pve_auth == "ssh":
        return Target(host=address, port=ssh_port, auth="ssh", user="root", ssh_key_file=ssh_key)
    return Target(host=s.pve_api_host or address, port=s.pve_api_port, auth=s.pve_auth, user=s.pve_user,
                  ca_file=os.path.expanduser(s.pve_ca_file) if s.pve_ca_file else None,
                  fingerprint=s.pve_tls_fingerprint)


def client(host_name: str, s: Settings, secrets: Secrets, address: str,
           ssh_key: str | None = None, ssh_port: int = 22) -> ProxmoxResource:
    """The host's API client, logged in on first use and kept for the rest of the run."""
    if host_name not in _clients:
        connect(host_name, target(s, address, ssh_key, ssh_port), secrets)
    return _clients[host_name]


def connect(host_name: str, t: Target, secrets: Secrets | Mapping[str, str]) -> ProxmoxResource:
    """Make (or make again) the host's client from a Target, log in, and keep it for client()."""
    _clients[host_name] = _build(t, secrets)
    return _clients[host_name]


def forget_clients() -> None:
    """Drop every kept client (tests; a long-lived process whose settings changed)."""
    _clients.clear()


def _build(t: Target, secrets: Secrets | Mapping[str, str]) -> ProxmoxResource:
    """A logged-in client for the target: pvesh over SSH, or https verified by the CA file or the fingerprint."""
    if t.auth not in AUTH_MODES:
        raise PveError(f"pve_auth is {t.auth!r}", f"use one of {', '.join(map(repr, AUTH_MODES))}", "pve_auth")
    if t.auth == "ssh":
        return _ssh_client(t)
    if not t.ca_file and not t.fingerprint:
        raise PveError(f"nothing to verify the certificate of https://{t.host}:{t.port} with",
                       "set pve_ca_file (a copy of /etc/pve/pve-root-ca.pem) or pve_tls_fingerprint", "pve_ca_file")
    if t.ca_file and t.fingerprint:
        raise PveError("both pve_ca_file and pve_tls_fingerprint are set",
                       "set only one of them to None", "pve_tls_fingerprint")
    return _https_client(t, secrets)


def _credentials(t: Target, secrets: Secrets | Mapping[str, str]) -> dict[str, str]:
    """proxmoxer's login arguments: user and password, or user, token_name and token_value."""
    if t.auth == "password":
        return {"user": t.user, "password": secrets["pve_password"]}
    user, bang, token_name = secrets["pve_token_id"].partition("!")
    if not bang:
        raise PveError("pve_token_id in the secrets file has no '!'", "write it as user@realm!name, "
                       "e.g. 'root@pam!mediabox'", "pve_auth")
    return {"user": user, "token_name": token_name, "token_value": secrets["pve_token_secret"]}


def _ssh_client(t: Target) -> ProxmoxResource:
    """proxmoxer's ssh_paramiko backend: each call runs `pvesh` on the host as root.

    Caution: proxmoxer's paramiko session accepts any host key (AutoAddPolicy); it does not read known_hosts.
    """
    if not t.ssh_key_file:
        raise PveError(f"pve_auth = 'ssh' needs a private key to log in to {t.host} as root",
                       "set ssh_key for the Proxmox host in the inventory", "pve_auth")
    try:
        return ProxmoxAPI(t.host, backend="ssh_paramiko", user="root", private_key_file=t.ssh_key_file,
                          port=t.port, timeout=t.timeout_s)
    except (paramiko.SSHException, OSError) as error:
        raise PveError(f"cannot log in to {t.host}:{t.port} over SSH as root with {t.ssh_key_file} "
                       f"({type(error).__name__}: {error})",
                       "check ssh_key and that root may log in with it", "pve_auth") from error


# --------------------------------------------------------------------------- TLS by fingerprint

def normalise_fingerprint(text: str) -> str:
    """'ab:cd:…' (any case, colons optional) as 'AB:CD:…'; a PveError unless it is 32 bytes of hex."""
    digits = text.replace(":", "").strip().upper()
    if not re.fullmatch(r"[0-9A-F]{64}", digits):
        raise PveError(f"pve_tls_fingerprint {text!r} is not a SHA-256 fingerprint (32 hex pairs joined by colons)",
                       FINGERPRINT_FIX, "pve_tls_fingerprint")
    return ":".join(digits[i:i + 2] for i in range(0, 64, 2))


def server_fingerprint(host: str, port: int, timeout_s: float = TIMEOUT_S) -> str:
    """The SHA-256 fingerprint of the certificate the server presents, 'AB:CD:…' (read without verifying it).
    A plain handshake rather than ssl.get_server_certificate, whose timeout gevent's ssl (pyinfra's CLI
    patches the standard library) does not take."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection((host, port), timeout=timeout_s) as raw, \
            context.wrap_socket(raw, server_hostname=host) as tls:
        der = tls.getpeercert(binary_form=True)
    return normalise_fingerprint(hashlib.sha256(der).hexdigest())


class FingerprintAdapter(HTTPAdapter):
    """Trusts exactly one certificate, by its SHA-256 fingerprint, instead of a CA chain and a host name.

    urllib3 compares the fingerprint right after the TLS handshake, before any byte of the request is sent; that
    is why the chain check is off in send(). A mismatch raises FingerprintMismatch, never an unverified request.
    """

    def __init__(self, fingerprint: str):
        self.fingerprint = normalise_fingerprint(fingerprint)
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, assert_fingerprint=self.fingerprint, **kwargs)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        # Through a proxy (HTTPS_PROXY), the tunnelled connection to the host is checked the same way.
        return super().proxy_manager_for(proxy, assert_fingerprint=self.fingerprint, **proxy_kwargs)

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None,
             verify: Any = True, cert: Any = None, proxies: Any = None) -> requests.Response:
        try:
            return super().send(request, stream=stream, timeout=timeout, verify=False, cert=cert, proxies=proxies)
        except requests.exceptions.SSLError as error:
            presented = _presented_fingerprint(request.url or "")
            if presented is not None and presented != self.fingerprint:
                url = urlsplit(request.url or "")
                raise FingerprintMismatch(f"{url.scheme}://{url.netloc}", self.fingerprint, presented) from error
            raise


def _presented_fingerprint(url: str) -> str | None:
    """The fingerprint the server at url presents, or None when it cannot be read (for error messages only)."""
    parts = urlsplit(url)
    try:
        return server_fingerprint(parts.hostname or "", parts.port or 443)
    except (OSError, ValueError):
        return None


class TicketAuth(ProxmoxHTTPAuthBase):
    """A password login for a ticket that logs in again, once per request, when PVE answers 401.

    Like proxmoxer's ProxmoxHTTPAuth, with two differences: the login goes through the same TLS check as the calls
    (proxmoxer's is a bare requests.post, which would send the password past a pinned fingerprint), and a 401 (the
    ticket expired, or was revoked) means a new login and the same request sent once more.
    """

    def __init__(self, base_url: str, username: str, password: str, verify: str | bool,
                 fingerprint: str | None, timeout: float):
        super().__init__(timeout=timeout, verify_ssl=verify)
        self.base_url = base_url
        self.username = username
        self.password = password
        self.fingerprint = fingerprint
        self.login()

    def login(self) -> None:
        """POST /access/ticket: a new ticket and CSRF token, or AuthenticationError."""
        with requests.Session() as session:
            if self.fingerprint:
                session.mount("https://", FingerprintAdapter(self.fingerprint))
            response = session.post(f"{self.base_url}/access/ticket", verify=self.verify_ssl, timeout=self.timeout,
                                    data={"username": self.username, "password": self.password})
        if response.status_code != 200:
            raise AuthenticationError(f"Couldn't authenticate user: {self.username} to {self.base_url}/access/ticket "
                                      f"code: {response.status_code}")
        data = response.json()["data"]
        if data.get("NeedTFA"):
            raise AuthenticationError(f"{self.username} has a second factor (TFA), which the engine cannot give")
        self.ticket = data["ticket"]
        self.csrf_prevention_token = data["CSRFPreventionToken"]

    def get_cookies(self) -> Any:
        return cookiejar_from_dict({"PVEAuthCookie": self.ticket})

    def get_tokens(self) -> tuple[str, str]:
        return self.ticket, self.csrf_prevention_token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if request.method != "GET":
            request.headers["CSRFPreventionToken"] = self.csrf_prevention_token
        request.register_hook("response", self._login_again_on_401)
        return request

    def _login_again_on_401(self, response: requests.Response, **send_kwargs: Any) -> requests.Response:
        """The hook requests runs on each answer (as HTTPDigestAuth's): on a 401, a new login and the request again.

        The request is sent again through the adapter, which runs no hooks, so this happens once per request; a
        second 401 goes back to the caller.
        """
        if response.status_code != 401:
            return response
        response.content  # noqa: B018 - read the answer so its connection can be used again
        response.close()
        logger.info(f"Proxmox answered 401 to {response.request.method} {response.request.path_url}; "
                    f"logging in again as {self.username}")
        self.login()
        retry = response.request.copy()
        retry.headers.pop("Cookie", None)
        retry.prepare_cookies(self.get_cookies())
        if retry.method != "GET":
            retry.headers["CSRFPreventionToken"] = self.csrf_prevention_token
        answer = response.connection.send(retry, **send_kwargs)
        answer.history.append(response)
        answer.request = retry
        return answer


def _https_client(t: Target, secrets: Secrets | Mapping[str, str]) -> ProxmoxResource:
    """proxmoxer's https client (session, serializer, resources) with a login and TLS check of our own."""
    fingerprint = normalise_fingerprint(t.fingerprint) if t.fingerprint else None
    # The CA file as a path beats REQUESTS_CA_BUNDLE, which would override a session's own verify; with a
    # fingerprint, the FingerprintAdapter ignores verify.
    verify: str | bool = t.ca_file or True
    host = f"[{t.host}]" if ":" in t.host and not t.host.startswith("[") else t.host
    base_url = f"https://{host}:{t.port}/api2/json"
    credentials = _credentials(t, secrets)
    if t.auth == "token":
        auth: ProxmoxHTTPAuthBase = ProxmoxHTTPApiTokenAuth(
            credentials["user"], credentials["token_name"], credentials["token_value"],
            verify_ssl=verify, timeout=t.timeout_s)
    else:
        auth = TicketAuth(base_url, credentials["user"], credentials["password"], verify, fingerprint, t.timeout_s)
    session = ProxmoxHttpSession()
    session.auth = auth
    session.headers["accept"] = JsonSerializer().get_accept_types()
    if fingerprint:
        session.mount("https://", FingerprintAdapter(fingerprint))
    return ProxmoxResource(base_url=base_url, session=session, serializer=JsonSerializer())


# --------------------------------------------------------------------------- calls and retries

def call(request: Callable[[], T], what: str, *, fields: Mapping[str, str] | None = None,
         wait_s: float = 30.0, delay_s: float = 1.0, connection_tries: int = 3) -> T:
    """request(), e.g. lambda: api.nodes(n).lxc.post(**params), and its answer; a PveError when it cannot be had.

    Retried: a one-off 5xx that is not one of PVE's refusals (once, after delay_s); a lock or lost quorum (every
    delay_s for up to wait_s); a dropped connection (up to connection_tries attempts). An expired ticket is renewed
    by the client itself (TicketAuth), once per request. Never retried: 400 (PVE's per-field errors are passed on,
    each with its setting from fields, API field -> setting name), 401, 403, PVE's refusals, TLS and login errors.
    """
    deadline = time.monotonic() + wait_s
    retried_5xx = False
    attempts = 0
    while True:
        attempts += 1
        try:
            return request()
        except ResourceException as error:
            message = _message(error)
            if _BUSY.search(message) and time.monotonic() + delay_s <= deadline:
                logger.info(f"{what}: {message}; trying again in {delay_s:g} s")
                time.sleep(delay_s)
                continue
            if _is_transient(error) and not retried_5xx:
                logger.warning(f"{what}: {error.status_code} {message}; trying once more in {delay_s:g} s")
                retried_5xx = True
                time.sleep(delay_s)
                continue
            raise _refusal(error, what, fields or {}, wait_s) from error
        except requests.exceptions.SSLError:
            raise  # a certificate does not get better by asking again (SSLError is a ConnectionError)
        except requests.exceptions.ConnectionError as error:
            if attempts >= connection_tries:
                raise PveError(f"{what}: the connection to Proxmox failed {attempts} times "
                               f"({type(error).__name__}: {error})",
                               "check that the host is up and pveproxy runs on it, then run again",
                               "pve_api_host") from error
            logger.warning(f"{what}: the connection to Proxmox failed ({type(error).__name__}); "
                           f"trying again in {delay_s:g} s")
            time.sleep(delay_s)


def _message(error: ResourceException) -> str:
    """PVE's message of an API error (the https backend puts it in content; pvesh over SSH prints it)."""
    return str(error.content).strip()


def _is_transient(error: ResourceException) -> bool:
    """A 5xx that may not come again: not 501 (not implemented), not a lock or lost quorum (they have their own
    wait), and not worded as one of PVE's refusals."""
    message = _message(error)
    return (error.status_code >= 500 and error.status_code != 501 and not _BUSY.search(message)
            and not any(refusal in message for refusal in _REFUSALS))


def _busy_fix(message: str) -> str:
    if "quorum" in message:
        return ("the cluster has lost quorum, so /etc/pve is read-only: check `pvecm status` on the host, bring "
                "the other nodes back, then run again")
    return ("another task holds the lock: let it finish (Datacenter > Tasks in the web UI, or `pvenode task list` "
            "on the host) and run again; a lock left by a crashed task is cleared with `pct unlock <vmid>` "
            "(`qm unlock <vmid>` for a VM)")


def _refusal(error: ResourceException, what: str, fields: Mapping[str, str], wait_s: float) -> PveError:
    """The PveError for an API error that is not (or no longer) retried."""
    message = _message(error)
    if _BUSY.search(message):
        return PveError(f"{what}: {message} (still after waiting {wait_s:g} s)", _busy_fix(message))
    if error.status_code == 400:
        return _bad_parameters(error, what, fields)
    if error.status_code == 401:
        return PveError(f"{what}: Proxmox refused the login ({message})",
                        "check pve_password, or pve_token_id and pve_token_secret, in the secrets file", "pve_auth")
    if "only allowed for root@pam" in message or "Only root can" in message:
        return PveError(f"{what}: Proxmox allows this only to root@pam logged in with a password: {message}",
                        ROOT_ONLY_FIX, "pve_auth")
    return PveError(f"{what}: Proxmox answered {error.status_code} {message}")


def _bad_parameters(error: ResourceException, what: str, fields: Mapping[str, str]) -> PveError:
    """A 400 "Parameter verification failed.": PVE's reason for each field, named with its setting when known."""
    errors = error.errors if isinstance(error.errors, dict) else {}
    lines, settings = [], []
    for field, reason in sorted(errors.items()):
        setting = fields.get(field) or fields.get(field.split(".")[0])
        reason_text = "; ".join(line.strip() for line in str(reason).splitlines() if line.strip())
        lines.append(f"{field}: {reason_text}" + (f" (setting {setting})" if setting else ""))
        if setting and setting not in settings:
            settings.append(setting)
    detail = "; ".join(lines) or str(error.errors or "")
    fix = (f"change {', '.join(settings)}" if settings
           else "the engine sent a value Proxmox does not take: report this message as a bug")
    return PveError(f"{what}: Proxmox refused the parameters ({_message(error)}) {detail}", fix,
                    settings[0] if settings else None, errors)


# --------------------------------------------------------------------------- tasks

def wait_task(api: ProxmoxResource, node: str, upid: str, timeout_s: float, what: str) -> dict:
    """Wait up to timeout_s for the task to stop; its last status if it ended "OK", else a PveError naming what,
    the task's type and the last lines of its log (GET /nodes/{node}/tasks/{upid}/log)."""
    kind = _task_type(upid)
    deadline = time.monotonic() + timeout_s
    poll_s = 0.05
    while True:
        status = api.nodes(node).tasks(upid).status.get()
        if status.get("status") == "stopped":
            break
        left = deadline - time.monotonic()
        if left <= 0:
            raise PveError(f"{what}: task {kind} still running after {timeout_s:g} s ({upid})"
                           + _log_text(api, node, upid),
                           "it goes on in Proxmox: follow it under Tasks in the web UI (or `pvenode task status "
                           "<UPID>` on the host) and run again once it has ended")
        time.sleep(min(poll_s, left))
        poll_s = min(poll_s * 2, 2.0)
    exitstatus = status.get("exitstatus")
    if exitstatus == "OK":
        return status
    fix = (_busy_fix(str(exitstatus)) if _BUSY.search(str(exitstatus))
           else "see the task log above; the whole log: `pvenode task log <UPID>` on the host")
    raise PveError(f"{what}: task {kind} failed: {exitstatus} ({upid})" + _log_text(api, node, upid), fix,
                   exitstatus=str(exitstatus))


def run_task(api: ProxmoxResource, request: Callable[[], str], what: str, *, timeout_s: float = 600.0,
             wait_s: float = 30.0, delay_s: float = 1.0, fields: Mapping[str, str] | None = None) -> dict:
    """call() a request that starts a task, then wait_task() for it with api (the node comes from the UPID).

    A task that failed on a lock or lost quorum (e.g. "CT is locked (backup)") is started again every delay_s
    for up to wait_s; any other failure, and the last one, is a PveError.
    """
    deadline = time.monotonic() + wait_s
    while True:
        left = max(0.0, deadline - time.monotonic())
        upid = call(request, what, fields=fields, wait_s=left, delay_s=delay_s)
        try:
            return wait_task(api, _task_node(upid), upid, timeout_s, what)
        except PveError as error:
            if not (error.exitstatus and _BUSY.search(error.exitstatus)) or time.monotonic() + delay_s > deadline:
                raise
            logger.info(f"{what}: {error.exitstatus}; starting it again in {delay_s:g} s")
            time.sleep(delay_s)


def task_log_tail(api: ProxmoxResource, node: str, upid: str, lines: int = 5) -> list[str]:
    """The last lines of a task's log, read page by page (the API starts at the first line)."""
    tail: list[str] = []
    start = 0
    for _ in range(100):  # at most 50,000 lines
        page = api.nodes(node).tasks(upid).log.get(start=start, limit=_LOG_PAGE)
        tail = (tail + [entry.get("t", "") for entry in page])[-lines:]
        if len(page) < _LOG_PAGE:
            break
        start += len(page)
    return tail


def _log_text(api: ProxmoxResource, node: str, upid: str) -> str:
    """The log tail for an error message; never hides the error it explains."""
    try:
        tail = task_log_tail(api, node, upid)
    except API_ERRORS as error:
        return f"\n  (the task log could not be read: {error})"
    return "".join(f"\n  | {line}" for line in tail)


def _task_type(upid: str) -> str:
    try:
        return Tasks.decode_upid(upid)["type"]
    except AssertionError:
        return "(unknown)"


def _task_node(upid: str) -> str:
    return Tasks.decode_upid(upid)["node"]


# --------------------------------------------------------------------------- what a login may do

def root_only_fields(params: Mapping[str, Any]) -> list[str]:
    """The create/config parameters only root@pam logged in with a password may set (proxmox.md §1), as
    'key=value': bind mounts (mpN or rootfs with a host path), devN passthrough, features other than nesting."""
    needed = []
    for key, value in params.items():
        family = key.rstrip("0123456789")
        text = str(value)
        if family in ("mp", "rootfs") and text.split(",")[0].startswith("/"):
            needed.append(f"{key}={text}")
        elif family == "dev" and family != key:
            needed.append(f"{key}={text}")
        elif key == "features":
            extra = [item for item in text.split(",") if item and item.partition("=")[0] != "nesting"]
            if extra:
                needed.append(f"features {','.join(extra)}")
    return needed


def auth_limits(s: Settings, guests: list[Settings] | None = None) -> list[Problem]:
    """Why the chosen login cannot make the Docker guest(s), as one problem; [] when it can.

    An API token (root@pam's too) or a password login other than root@pam cannot set bind mounts, devices or
    keyctl. guests: the Docker guests' settings; None takes the host's own settings for its guest.
    """
    if s.pve_auth == "ssh" or (s.pve_auth == "password" and s.pve_user == "root@pam"):
        return []
    needed: list[str] = []
    for guest in guests if guests is not None else [s]:
        for field in root_only_fields(lxc.wanted(guest, s, None)):
            if field not in needed:
                needed.append(field)
    if not needed:
        return []
    who = ("an API token, even one of root@pam," if s.pve_auth == "token"
           else f"a password login as {s.pve_user}, not root@pam,")
    return [Problem("pve_auth", s.pve_auth,
                    f"with {who} Proxmox refuses what the Docker guest needs: {'; '.join(needed)} (bind mounts, "
                    "device passthrough and features other than nesting are for root@pam with a password only)",
                    ROOT_ONLY_FIX)]


# --------------------------------------------------------------------------- problems for the user

def connection_problem(error: Exception, s: Settings, address: str) -> Problem:
    """What went wrong talking to the API, as a problem the user can act on."""
    url = api_url(s, address)
    if isinstance(error, PveError):
        key = error.setting or "pve_api_host"
        value = getattr(s, key, None) if error.setting else (s.pve_api_host or address)
        return Problem(key, value, error.message, error.fix or "see the message")
    if isinstance(error, AuthenticationError):
        secret = "pve_password" if s.pve_auth == "password" else "pve_token_id / pve_token_secret"
        return Problem("pve_user", s.pve_user, f"the Proxmox API at {url} refused the login",
                       f"check {secret} in the secrets file and the user's realm")
    if isinstance(error, FingerprintMismatch):
        return Problem("pve_tls_fingerprint", error.expected,
                       f"{url} presented a certificate with SHA-256 fingerprint {error.presented}", FINGERPRINT_FIX)
    if isinstance(error, requests.exceptions.SSLError):
        return Problem("pve_ca_file", s.pve_ca_file, f"the certificate of {url} does not match this CA",
                       "copy /etc/pve/pve-root-ca.pem from this host again")
    if isinstance(error, ResourceException):
        return Problem("pve_api_host", s.pve_api_host or address,
                       f"the Proxmox API answered {error.status_code} {error.status_message}: {error.content}",
                       "check the user's permissions on the host")
    return Problem("pve_api_host", s.pve_api_host or address,
                   f"cannot reach the Proxmox API at {url} ({type(error).__name__})",
                   "check pve_api_host and pve_api_port, and that pveproxy runs on the host")
