"""mediabox.pve against fakepve (in-process): logins, TLS by CA file or fingerprint, retries, tasks, auth limits.

Every fault is injected in the fake; time_scale is 0 (tasks end before the request returns) unless a test
needs a slow task. The ssh backend cannot run here (fakepve has no pvesh): only its construction is checked.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from mediabox import pve
from mediabox.secrets import Secrets
from mediabox.settings import defaults, parse

TEMPLATE = "debian-12-standard_12.7-1_amd64.tar.zst"
OSTEMPLATE = f"local:vztmpl/{TEMPLATE}"
SECRETS = {"pve_password": "secret", "pve_token_id": "root@pam!ci", "pve_token_secret": "tok-en"}
FIELDS = {"memory": "guest_memory_mb", "cores": "guest_cores", "net0": "guest_ip"}
WRONG_FINGERPRINT = ":".join(["AB"] * 32)
FAST = {"wait_s": 0.3, "delay_s": 0.05}


@pytest.fixture(autouse=True)
def no_kept_clients():
    pve.forget_clients()
    yield
    pve.forget_clients()


@pytest.fixture
def box(fakepve, fakepve_cafile):
    """fakepve with the template on 'local' and a root@pam token; returns a connect(name, **target) helper."""
    fakepve.store_file("local", TEMPLATE, 100, content="vztmpl")
    fakepve.apitokens[SECRETS["pve_token_id"]] = SECRETS["pve_token_secret"]

    def connect(name="pve-a", **overrides):
        target = pve.Target(**{"host": fakepve.host, "port": fakepve.port, "ca_file": fakepve_cafile, **overrides})
        return pve.connect(name, target, SECRETS)

    return connect


@pytest.fixture
def unused_port():
    """A local TCP port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fingerprint_of(cafile: str) -> str:
    certificate = x509.load_pem_x509_certificate(Path(cafile).read_bytes())
    return certificate.fingerprint(hashes.SHA256()).hex(":")  # lower case: the setting is case-insensitive


def count(fake, method: str, suffix: str) -> int:
    return sum(1 for m, path, _ in fake.requests if m == method and path.endswith(suffix))


def logins(fake) -> int:
    return count(fake, "POST", "/access/ticket")


def settings(**changes):
    """The documented defaults with changes (model_copy: also values the model does not take yet, e.g. 'ssh')."""
    s, problems = parse(defaults())
    assert not problems
    return s.model_copy(update=changes)


def create(api, **params):
    """A create request: CT 200 from the template on local-lvm, with params added."""
    return lambda: api.nodes("pve1").lxc.post(vmid=200, ostemplate=OSTEMPLATE, rootfs="local-lvm:8", **params)


def configure(api, vmid=200, **params):
    return lambda: api.nodes("pve1").lxc(vmid).config.put(**params)


def start(api, vmid):
    return lambda: api.nodes("pve1").lxc(vmid).status.start.post()


def later(secs: float, action) -> threading.Timer:
    timer = threading.Timer(secs, action)
    timer.start()
    return timer


# --------------------------------------------------------------------------- logins

def test_client_from_settings_is_kept_per_host_name(fakepve, fakepve_cafile):
    s = settings(pve_api_host=fakepve.host, pve_api_port=fakepve.port, pve_ca_file=fakepve_cafile)
    secrets = Secrets(Path("unused"), SECRETS)
    api = pve.client("pve-a", s, secrets, "192.0.2.1")
    assert pve.client("pve-a", s, secrets, "192.0.2.1") is api
    assert api.version.get()["version"] and api.version.get()
    assert logins(fakepve) == 1 and count(fakepve, "GET", "/version") == 2  # answers are never cached
    assert pve.client("pve-b", s, secrets, "192.0.2.1") is not api
    assert logins(fakepve) == 2


def test_token_auth_sends_the_token_and_never_logs_in(box, fakepve):
    api = box(auth="token")
    assert [n["node"] for n in api.nodes.get()] == ["pve1"]
    assert logins(fakepve) == 0


def test_ssh_auth_runs_pvesh_as_root_with_the_key(monkeypatch):
    made = []
    monkeypatch.setattr(pve, "ProxmoxAPI", lambda *args, **kwargs: made.append((args, kwargs)) or "api")
    s = settings(pve_auth="ssh", pve_api_host="pve.lan")
    assert pve.client("pve-a", s, SECRETS, "192.0.2.10", ssh_key="/keys/id_ed25519") == "api"
    assert made == [(("192.0.2.10",), {"backend": "ssh_paramiko", "user": "root",
                                       "private_key_file": "/keys/id_ed25519", "port": 22, "timeout": 15})]


def test_ssh_auth_without_a_key_is_refused():
    with pytest.raises(pve.PveError, match="needs a private key") as caught:
        pve.connect("pve-a", pve.Target("192.0.2.10", 22, auth="ssh"), {})
    assert caught.value.setting == "pve_auth"


def test_ssh_host_that_does_not_answer_is_a_pve_error(tmp_path, unused_port):
    with pytest.raises(pve.PveError, match="over SSH as root") as caught:
        pve.connect("pve-a", pve.Target("127.0.0.1", unused_port, auth="ssh", ssh_key_file=str(tmp_path / "k")), {})
    assert isinstance(caught.value.__cause__, OSError)


def test_unknown_auth_mode_is_refused():
    with pytest.raises(pve.PveError, match="pve_auth is 'kerberos'"):
        pve.connect("pve-a", pve.Target("192.0.2.10", auth="kerberos", ca_file="/ca.pem"), SECRETS)


# --------------------------------------------------------------------------- TLS

def test_ca_file_wins_over_requests_ca_bundle(box, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    assert box().version.get()["version"]


@pytest.mark.parametrize("auth", ["password", "token"])
def test_pinned_fingerprint_replaces_the_ca(box, fakepve, fakepve_cafile, auth, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    api = box(auth=auth, ca_file=None, fingerprint=fingerprint_of(fakepve_cafile))
    assert api.version.get()["version"]
    assert pve.call(create(api), "create CT 200").startswith("UPID:pve1:")  # a write: the CSRF token for tickets
    assert logins(fakepve) == (1 if auth == "password" else 0)


@pytest.mark.parametrize("auth", ["password", "token"])
def test_wrong_fingerprint_fails_before_anything_is_sent(box, fakepve, fakepve_cafile, auth):
    with pytest.raises(pve.FingerprintMismatch) as caught:
        api = box(auth=auth, ca_file=None, fingerprint=WRONG_FINGERPRINT)
        api.version.get()
    real = pve.normalise_fingerprint(fingerprint_of(fakepve_cafile))
    assert (caught.value.expected, caught.value.presented) == (WRONG_FINGERPRINT, real)
    assert f"presented a certificate with SHA-256 fingerprint {real}, not the pinned" in str(caught.value)
    assert fakepve.requests == []  # neither the password nor the token went out
    problem = pve.connection_problem(caught.value, settings(), "192.0.2.1")
    assert (problem.key, problem.value) == ("pve_tls_fingerprint", WRONG_FINGERPRINT)


def test_wrong_fingerprint_is_not_retried(box, fakepve):
    api = box(auth="token", ca_file=None, fingerprint=WRONG_FINGERPRINT)
    with pytest.raises(pve.FingerprintMismatch):
        pve.call(lambda: api.version.get(), "read the version", connection_tries=3, delay_s=0)
    assert fakepve.requests == []


class _ConnectProxy(socketserver.BaseRequestHandler):
    """A bare HTTPS proxy (CONNECT), to show the pin holds through HTTPS_PROXY too."""

    def handle(self):
        self.request.settimeout(20)  # a stuck client or server ends this thread instead of holding it forever
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        host, port = head.split()[1].decode().rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)), timeout=20)
        self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        back = threading.Thread(target=_pipe, args=(upstream, self.request), daemon=True)
        back.start()
        _pipe(self.request, upstream)
        back.join(5)


def _pipe(source, sink):
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        pass


@pytest.mark.parametrize("auth", ["password", "token"])
def test_pin_holds_through_an_https_proxy(box, fakepve, fakepve_cafile, auth, monkeypatch):
    proxy = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _ConnectProxy)
    proxy.daemon_threads = True
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
    try:
        assert box(auth=auth, ca_file=None, fingerprint=fingerprint_of(fakepve_cafile)).version.get()["version"]
        before = len(fakepve.requests)
        with pytest.raises(pve.FingerprintMismatch):
            box("pve-b", auth=auth, ca_file=None, fingerprint=WRONG_FINGERPRINT).version.get()
        assert len(fakepve.requests) == before
    finally:
        proxy.shutdown()
        proxy.server_close()


def test_server_fingerprint_reads_the_certificate(fakepve, fakepve_cafile):
    assert pve.server_fingerprint(fakepve.host, fakepve.port) == fingerprint_of(fakepve_cafile).upper()


@pytest.mark.parametrize("tls, message", [
    ({"ca_file": None}, "nothing to verify the certificate"),
    ({"fingerprint": WRONG_FINGERPRINT}, "both pve_ca_file and pve_tls_fingerprint"),
    ({"ca_file": None, "fingerprint": "AB:CD"}, "is not a SHA-256 fingerprint"),
    ({"ca_file": None, "fingerprint": "5" * 40}, "is not a SHA-256 fingerprint"),  # SHA-1 length
])
def test_tls_is_never_left_unverified(box, fakepve, tls, message):
    with pytest.raises(pve.PveError, match=message):
        box(**tls)
    assert fakepve.requests == []


# --------------------------------------------------------------------------- retries

def test_expired_ticket_logs_in_again_once(box, fakepve):
    api = box()
    fakepve.revoke_tickets()
    assert pve.call(lambda: api.nodes.get(), "list nodes")[0]["node"] == "pve1"
    assert logins(fakepve) == 2 and count(fakepve, "GET", "/nodes") == 2
    fakepve.revoke_tickets()
    assert pve.call(create(api), "create CT 200")  # a write after a new login carries the new CSRF token
    assert logins(fakepve) == 3 and count(fakepve, "POST", "/nodes/pve1/lxc") == 2


def test_expired_ticket_is_renewed_for_any_request(box, fakepve):
    api = box()
    fakepve.revoke_tickets()
    assert api.nodes.get()[0]["node"] == "pve1"  # not through call(): wait_task's polls, operation bodies
    assert logins(fakepve) == 2


def test_refused_new_login_is_a_login_error(box, fakepve):
    api = box()
    fakepve.revoke_tickets()
    fakepve.password = "changed"
    with pytest.raises(pve.AuthenticationError):
        pve.call(lambda: api.nodes.get(), "list nodes", **FAST)
    assert logins(fakepve) == 2 and count(fakepve, "GET", "/nodes") == 1


def test_refused_token_is_not_retried(box, fakepve):
    api = box(auth="token")
    fakepve.apitokens[SECRETS["pve_token_id"]] = "rotated"
    with pytest.raises(pve.PveError, match="list nodes: Proxmox refused the login") as caught:
        pve.call(lambda: api.nodes.get(), "list nodes", **FAST)
    assert caught.value.setting == "pve_auth"
    assert count(fakepve, "GET", "/nodes") == 1


def test_one_off_500_is_retried_once(box, fakepve):
    api = box()
    fakepve.fail("GET", "/nodes/pve1/lxc", 500, "boom", times=1)
    assert pve.call(lambda: api.nodes("pve1").lxc.get(), "list CTs", delay_s=0.01) == []
    assert count(fakepve, "GET", "/nodes/pve1/lxc") == 2


def test_500_that_comes_back_is_retried_only_once(box, fakepve):
    api = box()
    fakepve.fail("GET", "/nodes/pve1/lxc", 500, "boom")
    with pytest.raises(pve.PveError, match="list CTs: Proxmox answered 500 boom"):
        pve.call(lambda: api.nodes("pve1").lxc.get(), "list CTs", delay_s=0.01)
    assert count(fakepve, "GET", "/nodes/pve1/lxc") == 2


def test_pve_refusal_500_is_not_retried(box, fakepve):
    api = box()
    no_storage = lambda: api.nodes("pve1").lxc.post(vmid=200, ostemplate=OSTEMPLATE, rootfs="nosuch:8")  # noqa: E731
    with pytest.raises(pve.PveError, match="create CT 200: Proxmox answered 500 storage 'nosuch' does not exist"):
        pve.call(no_storage, "create CT 200", **FAST)
    assert count(fakepve, "POST", "/nodes/pve1/lxc") == 1


def test_bad_parameters_name_the_settings_and_are_never_retried(box, fakepve):
    api = box()
    with pytest.raises(pve.PveError) as caught:
        pve.call(create(api, memory=8, net0="name=eth0,bogus=1"), "create CT 200", fields=FIELDS, **FAST)
    error = caught.value
    assert error.message == (
        "create CT 200: Proxmox refused the parameters (Parameter verification failed.) "
        "memory: value must have a minimum value of 16 (setting guest_memory_mb); "
        "net0: invalid format - invalid key in comma-separated list property: bogus (setting guest_ip)")
    assert error.fix == "change guest_memory_mb, guest_ip" and error.setting == "guest_memory_mb"
    assert set(error.errors) == {"memory", "net0"}
    assert count(fakepve, "POST", "/nodes/pve1/lxc") == 1
    problem = pve.connection_problem(error, settings(), "192.0.2.1")
    assert (problem.key, problem.value) == ("guest_memory_mb", settings().guest_memory_mb)


def test_bad_sub_field_is_named_by_its_parameter(box):
    api = box()
    with pytest.raises(pve.PveError, match=r"mp0: invalid format - format error; mp0.mp: property is missing and "
                                           r"it is not optional \(setting storage_mount\)"):
        pve.call(create(api, mp0="/mnt/storage"), "create CT 200", fields={"mp0": "storage_mount"}, **FAST)


def test_dropped_connection_is_retried(box, fakepve):
    api = box()
    attempts = []

    def version():
        attempts.append(1)
        if len(attempts) == 2:
            fakepve.flaky_network(drop_rate=0.0)
        return api.version.get()

    fakepve.flaky_network(drop_rate=1.0)
    assert pve.call(version, "read the version", delay_s=0.01)["version"]
    assert len(attempts) == 2


def test_unreachable_api_gives_up_after_the_bounded_tries(fakepve_cafile, unused_port):
    target = pve.Target("127.0.0.1", unused_port, auth="token", ca_file=fakepve_cafile)
    api = pve.connect("pve-a", target, SECRETS)
    attempts = []
    with pytest.raises(pve.PveError, match="read the version: the connection to Proxmox failed 3 times"):
        pve.call(lambda: attempts.append(1) or api.version.get(), "read the version", delay_s=0.01)
    assert len(attempts) == 3


# --------------------------------------------------------------------------- locks and quorum

def test_locked_ct_waits_then_says_what_to_do(box, fakepve):
    api = box()
    fakepve.add_ct(200, lock="backup")
    started = time.monotonic()
    with pytest.raises(pve.PveError) as caught:
        pve.call(configure(api, memory=1024), "configure CT 200", **FAST)
    assert time.monotonic() - started < 1.0
    assert caught.value.message == "configure CT 200: CT is locked (backup) (still after waiting 0.3 s)"
    assert "let it finish" in caught.value.fix and "pct unlock <vmid>" in caught.value.fix
    assert count(fakepve, "PUT", "/lxc/200/config") > 2


def test_lock_released_during_the_wait(box, fakepve):
    api = box()
    fakepve.add_ct(200, lock="backup")
    later(0.1, lambda: fakepve.unlock(200))
    pve.call(configure(api, memory=1024), "configure CT 200", wait_s=2, delay_s=0.05)
    assert fakepve.ct(200).config["memory"] == 1024


def run_now(coro):
    """Drive a fakepve scenario that needs no event loop (time_scale 0) to its end. The test process runs
    gevent-patched, as pyinfra's CLI does, so asyncio.run() would see fakepve's loop as running here."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    raise AssertionError("the scenario waited on the event loop")


def test_config_lock_timeout_waits_then_says_what_to_do(box, fakepve):
    api = box()
    fakepve.add_ct(200)
    run_now(fakepve.hold_config_lock(200, None))  # at time_scale 0 this takes the lock without waiting
    with pytest.raises(pve.PveError, match=r"can't lock file '/run/lock/lxc/pve-config-200.lock' - got timeout "
                                           r"\(still after waiting 0.3 s\)"):
        pve.call(configure(api, memory=1024), "configure CT 200", **FAST)
    later(0.1, lambda: fakepve.release_config_lock(200))
    pve.call(configure(api, memory=1024), "configure CT 200", wait_s=2, delay_s=0.05)
    assert fakepve.ct(200).config["memory"] == 1024


def test_lost_quorum_waits_then_says_what_to_do(box, fakepve):
    api = box()
    fakepve.lose_quorum()
    with pytest.raises(pve.PveError, match=r"cluster not ready - no quorum\? \(still after waiting 0.3 s\)") as caught:
        pve.call(create(api), "create CT 200", **FAST)
    assert "pvecm status" in caught.value.fix
    later(0.1, fakepve.regain_quorum)
    assert pve.run_task(api, create(api), "create CT 200", wait_s=2, delay_s=0.05)["exitstatus"] == "OK"


def test_task_failing_on_a_lock_is_started_again(box, fakepve):
    api = box()
    fakepve.add_ct(201, lock="backup")
    with pytest.raises(pve.PveError) as caught:
        pve.run_task(api, start(api, 201), "start CT 201", **FAST)
    assert caught.value.exitstatus == "CT is locked (backup)"
    assert "start CT 201: task vzstart failed: CT is locked (backup)" in str(caught.value)
    assert "| TASK ERROR: CT is locked (backup)" in str(caught.value) and "pct unlock" in caught.value.fix
    assert count(fakepve, "POST", "/lxc/201/status/start") > 2
    later(0.1, lambda: fakepve.unlock(201))
    pve.run_task(api, start(api, 201), "start CT 201", wait_s=2, delay_s=0.05)
    assert fakepve.ct(201).status == "running"


# --------------------------------------------------------------------------- tasks

def test_task_error_carries_the_log_tail(box, fakepve):
    api = box()
    fakepve.add_ct(201)
    fakepve.ct(201).start_error = "startup for container '201' failed"
    upid = pve.call(start(api, 201), "start CT 201")
    with pytest.raises(pve.PveError) as caught:
        pve.wait_task(api, "pve1", upid, 5, "start CT 201")
    assert caught.value.message == (
        f"start CT 201: task vzstart failed: startup for container '201' failed ({upid})\n"
        "  | startup for container '201' failed\n  | TASK ERROR: startup for container '201' failed")
    assert "pvenode task log" in caught.value.fix
    with pytest.raises(pve.PveError):
        pve.run_task(api, start(api, 201), "start CT 201", **FAST)
    assert count(fakepve, "POST", "/status/start") == 2  # run_task did not start it again: not a lock


def test_create_from_a_missing_template_fails_in_the_task(box, fakepve):
    api = box()
    missing = lambda: api.nodes("pve1").lxc.post(vmid=200, ostemplate="local:vztmpl/nope.tar.zst",  # noqa: E731
                                                 rootfs="local-lvm:8")
    with pytest.raises(pve.PveError, match=r"create CT 200: task vzcreate failed: unable to create CT 200 - "
                                           r"volume 'local:vztmpl/nope.tar.zst' does not exist") as caught:
        pve.run_task(api, missing, "create CT 200", **FAST)
    assert str(caught.value).count("\n  | ") == 2
    assert fakepve.ct(200) is None


def test_log_tail_is_the_last_lines_of_a_long_log(box, fakepve, monkeypatch):
    api = box()
    fakepve.add_ct(201)
    upid = api.nodes("pve1").lxc(201).status.start.post()
    fakepve.tasks[upid]["log"] = [f"line {n}" for n in range(1, 13)]
    monkeypatch.setattr(pve, "_LOG_PAGE", 5)
    assert pve.task_log_tail(api, "pve1", upid) == [f"line {n}" for n in range(8, 13)]


@pytest.mark.fakepve(time_scale=0.05)
def test_slow_task_wait_is_bounded(box, fakepve):
    api = box()
    fakepve.ct_secs["create"] = 10  # 0.5 s of wall time
    upid = pve.call(create(api), "create CT 200")
    started = time.monotonic()
    with pytest.raises(pve.PveError, match=r"create CT 200: task vzcreate still running after 0.15 s") as caught:
        pve.wait_task(api, "pve1", upid, 0.15, "create CT 200")
    assert time.monotonic() - started < 0.4
    assert "pvenode task status" in caught.value.fix
    assert pve.wait_task(api, "pve1", upid, 5, "create CT 200")["exitstatus"] == "OK"
    assert time.monotonic() - started < 1.5
    assert fakepve.ct(200).config["memory"] == 512


# --------------------------------------------------------------------------- what a login may do

def test_token_cannot_bind_mount_even_as_root_pam(box, fakepve):
    api = box(auth="token")
    fakepve.grant("automation@pve", "/", "VM.Audit")  # permission rules switch on with the first grant
    with pytest.raises(pve.PveError) as caught:
        pve.call(create(api, mp0="/mnt/storage,mp=/data"), "create CT 200", **FAST)
    assert caught.value.message == ("create CT 200: Proxmox allows this only to root@pam logged in with a password: "
                                    "Permission check failed (mount point type bind is only allowed for root@pam)")
    assert (caught.value.setting, caught.value.fix) == ("pve_auth", pve.ROOT_ONLY_FIX)
    assert count(fakepve, "POST", "/nodes/pve1/lxc") == 1
    ticket = box("pve-b", auth="password")
    assert pve.run_task(ticket, create(ticket, mp0="/mnt/storage,mp=/data"), "create CT 200")["exitstatus"] == "OK"


def test_token_limits_name_every_root_only_field():
    problems = pve.auth_limits(settings(pve_auth="token", jellyfin_hwaccel="qsv", jellyfin_enabled=True,
                                        gluetun_enabled=True))
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.key, problem.value, problem.fix) == ("pve_auth", "token", pve.ROOT_ONLY_FIX)
    for field in ("mp0=/mnt/storage/appdata,mp=/appdata", "mp1=/mnt/storage/data,mp=/data", "dev0=/dev/net/tun",
                  "dev1=/dev/dri/renderD128", "features keyctl=1"):
        assert field in problem.message
    assert "even one of root@pam" in problem.message


def test_no_device_is_needed_without_hardware_transcoding_or_vpn():
    message = pve.auth_limits(settings(pve_auth="token", jellyfin_hwaccel="none", gluetun_enabled=False))[0].message
    assert "dev0=" not in message and "mp0=" in message and "keyctl=1" in message


def test_password_login_other_than_root_pam_has_the_same_limits():
    problems = pve.auth_limits(settings(pve_auth="password", pve_user="automation@pve"))
    assert len(problems) == 1 and "automation@pve, not root@pam" in problems[0].message


@pytest.mark.parametrize("auth, user", [("password", "root@pam"), ("ssh", "automation@pve")])
def test_root_logins_have_no_limits(auth, user):
    assert pve.auth_limits(settings(pve_auth=auth, pve_user=user)) == []


def test_root_only_fields():
    assert pve.root_only_fields({"mp0": "local-lvm:8,mp=/x", "rootfs": "local-lvm:8", "features": "nesting=1",
                                 "memory": 512, "dev": "x"}) == []
    assert pve.root_only_fields({"rootfs": "/srv/ct,size=0", "dev3": "/dev/ttyUSB0",
                                 "features": "nesting=1,fuse=1,mknod=1"}) == [
        "rootfs=/srv/ct,size=0", "dev3=/dev/ttyUSB0", "features fuse=1,mknod=1"]
