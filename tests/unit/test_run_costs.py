"""What keeps a run's CPU per host small: values several hosts' stages share are made once per run; the
qBittorrent hash only when its file is written; pyinfra names operations from the frames, reading no source; a read
several operations make alike asks the app once per phase, until a write; reads from several hosts run together."""

from __future__ import annotations

import inspect
from types import SimpleNamespace

import gevent
import pyinfra
import pytest
from pyinfra.api import arguments, facts, util
from pyinfra.context import ctx_host, ctx_state

from lab.fakes.servarr import ServarrFake
from mediabox import arr, registration
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


def test_pyinfra_gets_the_same_frames_and_so_the_same_operation_order(tmp_path, monkeypatch):
    """pyinfra.api.util's operation order, from inspect's frames and from registration's, for a stack through an
    exec'd deploy file (as pyinfra's exec_file runs it, by its relative name)."""
    (tmp_path / "deploy.py").write_text("def stage():\n    return look()\n\n\nfound = stage()\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(pyinfra, "is_cli", True)
    state = SimpleNamespace(current_deploy_filename="deploy.py", current_op_file_number=3)

    def order_with(stack, getframeinfo):
        monkeypatch.setattr(util, "stack", stack)
        monkeypatch.setattr(util, "getframeinfo", getframeinfo)
        return util.get_operation_order_from_stack(state)

    def look():
        frames = inspect.stack(), registration.stack()  # one line: the same line numbers
        orders = [order_with(*pair) for pair in ((inspect.stack, inspect.getframeinfo),
                                                 (registration.stack, registration.line_of))]
        return frames, orders

    scope = {"look": look}
    exec(compile((tmp_path / "deploy.py").read_text(), "deploy.py", "exec"), scope)
    (inspected, ours), (by_inspect, by_frames) = scope["found"]
    assert [(i.frame, i.filename, i.lineno) for i in inspected] == [(f[0], f.filename, f.lineno) for f in ours]
    assert by_frames == by_inspect and by_inspect[:3] == [3, 5, 2] and len(by_inspect) > 4


def test_frames_for_pyinfra_replaces_inspects_functions_only(monkeypatch):
    monkeypatch.setattr(util, "stack", inspect.stack)
    monkeypatch.setattr(util, "getframeinfo", inspect.getframeinfo)
    registration.frames_for_pyinfra()
    registration.frames_for_pyinfra()
    assert (util.stack, util.getframeinfo) == (registration.stack, registration.line_of)

    def changed_by_pyinfra():
        return []

    monkeypatch.setattr(util, "stack", changed_by_pyinfra)
    monkeypatch.setattr(util, "getframeinfo", inspect.getframeinfo)
    registration.frames_for_pyinfra()
    assert (util.stack, util.getframeinfo) == (changed_by_pyinfra, inspect.getframeinfo)


def test_global_arguments_are_listed_once_and_the_same(monkeypatch):
    original = getattr(arguments.all_global_arguments, "__wrapped__", arguments.all_global_arguments)
    monkeypatch.setattr(arguments, "all_global_arguments", original)
    monkeypatch.setattr(facts, "all_global_arguments", original)
    listed = original()
    readings = []
    real_hints = arguments.get_type_hints
    monkeypatch.setattr(arguments, "get_type_hints", lambda cls: readings.append(cls) or real_hints(cls))
    registration.global_arguments_once()
    registration.global_arguments_once()
    assert arguments.all_global_arguments is facts.all_global_arguments is not original
    assert [arguments.all_global_arguments() for _ in range(3)] == [listed] * 3 and len(readings) == 1
    assert ("_sudo", bool) in listed and len(listed) > 20

    def changed_by_pyinfra():
        return []

    monkeypatch.setattr(facts, "all_global_arguments", changed_by_pyinfra)
    monkeypatch.setattr(arguments, "all_global_arguments", original)
    registration.global_arguments_once()
    assert (arguments.all_global_arguments, facts.all_global_arguments) == (original, changed_by_pyinfra)


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
