"""What keeps a run's CPU per host small: values several hosts' stages share are made once per run; the
qBittorrent hash only when its file is written; pyinfra's naming of operations does not scan every module; a read
several operations make alike asks the app once per phase, until a write; reads from several hosts run together."""

from __future__ import annotations

import inspect
import os

import gevent
import pytest
from pyinfra.context import ctx_host, ctx_state

from lab.fakes.servarr import ServarrFake
from mediabox import arr
from mediabox.callstack import known_deploy_file
from mediabox.run import Run, at_once
from mediabox.secrets import Secrets
from operations import qbittorrent
from tests.test_operations import FakeHost, empty_state

CONF = "/appdata/qbittorrent/qBittorrent/qBittorrent.conf"


def a_run(tmp_path) -> Run:
    return Run(settings={}, roles={}, secrets=Secrets(tmp_path / "secrets.yml", {}))


def test_once_makes_a_value_once_per_key_even_for_hosts_asking_at_the_same_time(tmp_path):
    run, made = a_run(tmp_path), []

    def make(value):
        made.append(value)
        gevent.sleep(0.01)  # a remote read: the other hosts' greenlets run meanwhile
        return value

    asks = [gevent.spawn(run.once, ("gid", "lab-docker"), lambda: make(104)) for _ in range(3)]
    gevent.joinall(asks, raise_error=True)
    assert [ask.value for ask in asks] == [104, 104, 104] and made == [104]
    assert run.once(("gid", "lab-docker2"), lambda: make(105)) == 105 and made == [104, 105]


def test_the_password_hash_is_made_only_when_qbittorrent_conf_is_written():
    hashed = []

    def password_hash():
        hashed.append(1)
        return "@ByteArray(c2FsdA==:a2V5)"

    def commands(conf_exists: bool) -> list:
        fake = FakeHost({"files.File": {f"path={CONF}": {"mode": 600} if conf_exists else None}})
        with ctx_state.use(empty_state()), ctx_host.use(fake):
            return list(qbittorrent.seed_config._inner(path=CONF, username="admin", password_pbkdf2=password_hash,
                                                       webui_port=8080, listen_port=6881, owner="1000:1000"))

    assert commands(conf_exists=True) == [] and hashed == []
    written = commands(conf_exists=False)
    assert hashed == [1]
    assert 'WebUI\\Password_PBKDF2="@ByteArray(c2FsdA==:a2V5)"' in written[1].src.getvalue()


def test_a_known_deploy_file_keeps_its_frames_and_ends_the_module_scan(tmp_path, monkeypatch):
    deploy_file = tmp_path / "deploy.py"
    deploy_file.write_text("import inspect\nframe = inspect.currentframe()\n")
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(deploy_file.read_text(), "deploy.py", "exec"), scope)  # as pyinfra's exec_file runs it
    scans = []
    real_ismodule = inspect.ismodule
    monkeypatch.setattr(inspect, "ismodule", lambda obj: scans.append(obj) or real_ismodule(obj))

    before = inspect.getframeinfo(scope["frame"])
    scanned, scans[:] = len(scans), []
    known_deploy_file("deploy.py")
    after = inspect.getframeinfo(scope["frame"])
    assert scanned > 100 and len(scans) < 5, "getmodule walks sys.modules for an exec'd file until it is known"
    assert (after.filename, after.lineno, after.code_context) == (before.filename, before.lineno, before.code_context)
    inspect.modulesbyfile.pop(os.path.abspath("deploy.py"))


def test_a_shared_read_asks_once_per_phase_until_a_write():
    key = "0123456789abcdef0123456789abcdef"
    fake = ServarrFake("sonarr", api_key=key, connection_checks=False)
    sonarr = arr.Connection("Sonarr", fake.start(), key, "v3", ready_timeout_s=5)
    sonarr._wait_ready()
    asked = []
    sonarr._session.hooks["response"].append(lambda response, **_: asked.append(response.request.method))
    state = empty_state()
    try:
        with ctx_state.use(state):
            first = sonarr.shared("/downloadclient")
            first.append({"name": "changed by the caller"})
            assert sonarr.shared("/downloadclient") == [] and asked == ["GET"]  # a copy each, one read

            sonarr.passes_test("downloadclient", {"name": "x", "implementation": "QBittorrent", "fields": []})
            sonarr.shared("/downloadclient")
            assert asked == ["GET", "POST"]  # a test changes nothing

            sonarr.post("/rootfolder", {"path": "/data/media/tv"})
            sonarr.shared("/downloadclient")
            assert asked == ["GET", "POST", "POST", "GET"]  # a write: read again

            state.is_executing = True
            sonarr.shared("/downloadclient")
            assert asked[-1] == "GET" and len(asked) == 5  # from preparing to executing: read again
    finally:
        fake.stop()


def test_reads_from_several_hosts_start_together_keep_the_host_and_raise_the_first_error():
    events, fake_host = [], FakeHost({})

    def read(name):
        events.append(f"start {name}")
        gevent.sleep(0.01)  # a remote read: the others start meanwhile
        events.append(f"end {name}")
        return name, ctx_host.get()

    with ctx_host.use(fake_host):
        answers = at_once(read, ["a", "b", "c"])
    assert answers == [("a", fake_host), ("b", fake_host), ("c", fake_host)]
    assert events[:3] == ["start a", "start b", "start c"]

    def failing(name):
        if name == "b":
            raise ValueError("no answer from b")
        return name

    with pytest.raises(ValueError, match="no answer from b"):
        at_once(failing, ["a", "b", "c"])
    assert at_once(failing, []) == []
