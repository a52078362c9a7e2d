"""Facts read in one remote command and read once until the run changes something (mediabox.readahead), against
pyinfra's @local connector: the batch is a real shell command and each value is compared with pyinfra's own read."""

from __future__ import annotations

import contextlib
import inspect

import gevent
import pytest
from pyinfra.api import Config, FactBase, FunctionCommand, Inventory, State, StringCommand
from pyinfra.api import host as host_module
from pyinfra.api.connect import connect_all
from pyinfra.api.exceptions import PyinfraError
from pyinfra.api.state import StateStage
from pyinfra.context import ctx_host, ctx_state
from pyinfra.facts.files import File
from typing_extensions import override

from facts.system import FileStates, MaintenanceCheck
from mediabox import readahead
from operations import system


class Fails(FactBase):
    command = "echo partial; exit 3"


class NeedsProgram(FactBase):
    """Answers once pyinfra's guard (requires_command) finds the program."""

    @override
    def command(self, program: str) -> str:
        return "echo installed"

    @override
    def requires_command(self, program: str) -> str:
        return program


class NoNewline(FactBase):
    command = "printf 'one\\ntwo'"

    @override
    def process(self, output):
        return output


class Unparsable(FactBase):
    command = "echo not-a-number"

    @override
    def process(self, output):
        return int(output[0])


class Stateful(FactBase):
    """Like pyinfra's Mounts: command() leaves on the instance what process() needs."""

    @override
    def command(self):
        self.prefix = "seen:"
        return "echo x"

    @override
    def process(self, output):
        return self.prefix + output[0]


class WithPrecondition(FactBase):
    command = "echo checked"

    @override
    def check_preconditions(self, state, host):
        return None


@pytest.fixture
def local(monkeypatch):
    """A connected @local host with readahead installed (undone afterwards), and the commands it runs."""
    monkeypatch.setattr(host_module, "get_fact", host_module.get_fact)
    for kind in readahead.COMMANDS:
        monkeypatch.setattr(kind, "execute", kind.execute)
    readahead.install()
    state = State(Inventory((["@local"], {})), Config())
    connect_all(state)
    host = state.inventory.get_host("@local")
    ran = []
    run_shell_command = host.run_shell_command

    def counted(command, **kwargs):
        ran.append(str(command))
        return run_shell_command(command, **kwargs)

    monkeypatch.setattr(host, "run_shell_command", counted)
    with ctx_state.use(state), ctx_host.use(host):
        yield state, host, ran


def test_declared_reads_are_one_command_and_the_same_values_as_pyinfras(local, tmp_path):
    state, host, ran = local
    (tmp_path / "a").write_text("a\n")
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    wanted = [(FileStates, {"paths": [a, b]}), (File, {"path": a}), (NoNewline, {}), (Stateful, {})]
    pyinfras = [readahead.ORIGINAL["get_fact"](state, host, fact, kwargs=kwargs) for fact, kwargs in wanted]
    ran.clear()
    readahead.will_read(wanted)
    assert [host.get_fact(fact, **kwargs) for fact, kwargs in wanted] == pyinfras
    assert len(ran) == 1
    assert pyinfras[2] == ["one", "two"]  # a last line without a newline is still the part's
    assert pyinfras[3] == "seen:x"


def test_a_value_is_read_once_and_handed_out_as_a_copy(local, tmp_path):
    _, host, ran = local
    (tmp_path / "a").write_text("a\n")
    readahead.will_read([(FileStates, {"paths": [str(tmp_path / "a")]})])
    first = host.get_fact(FileStates, paths=[str(tmp_path / "a")])
    first.clear()
    assert host.get_fact(FileStates, paths=[str(tmp_path / "a")]) != {}
    assert len(ran) == 1


def test_after_any_command_every_read_is_fresh(local, tmp_path):
    state, host, ran = local
    target = tmp_path / "a"
    target.write_text("before\n")
    readahead.will_read([(FileStates, {"paths": [str(target)]})])
    before = host.get_fact(FileStates, paths=[str(target)])[str(target)]["sha256"]
    status, _ = StringCommand(f"echo after > {target}").execute(state, host, {})
    assert status
    after = host.get_fact(FileStates, paths=[str(target)])[str(target)]["sha256"]
    assert after != before and len(ran) == 3
    readahead.will_read([(File, {"path": str(target)})])  # nothing is batched once the run has changed
    host.get_fact(File, path=str(target))
    host.get_fact(File, path=str(target))
    assert len(ran) == 5


def test_a_python_callback_counts_as_a_change(local, tmp_path):
    state, host, ran = local
    host.get_fact(FileStates, paths=[str(tmp_path / "a")])
    FunctionCommand(lambda: None, (), {}).execute(state, host, {})
    host.get_fact(FileStates, paths=[str(tmp_path / "a")])
    assert len(ran) == 2


@pytest.mark.parametrize(("fact", "kwargs"), [(Fails, {}), (NeedsProgram, {"program": "mediabox-no-such-program"}),
                                             (Unparsable, {})])
def test_a_part_that_fails_is_read_again_by_pyinfra(local, fact, kwargs):
    state, host, ran = local
    readahead.will_read([(fact, kwargs), (FileStates, {"paths": ["/nonexistent"]})])
    host.get_fact(FileStates, paths=["/nonexistent"])
    assert len(ran) == 1 and readahead.of(state).kept  # the other part is kept
    with contextlib.suppress(ValueError, PyinfraError):  # pyinfra's own read fails the host or raises, as always
        host.get_fact(fact, **kwargs)
    assert len(ran) == 2 and "mediabox-read" not in ran[1]


def test_facts_with_preconditions_or_their_own_shell_are_never_batched(local):
    state, host, ran = local
    readahead.will_read([(WithPrecondition, {}), (FileStates, {"paths": ["/nonexistent"]})])
    host.get_fact(FileStates, paths=["/nonexistent"])
    assert ran[0].count("mediabox-read") == 1  # one part only
    assert host.get_fact(WithPrecondition) == "checked" and len(ran) == 2


def test_a_read_declared_while_its_batch_is_in_flight_is_not_read_again(local, tmp_path, monkeypatch):
    state, host, ran = local
    slow = host.run_shell_command

    def in_flight(command, **kwargs):
        gevent.sleep(0.05)  # the other greenlet declares meanwhile
        return slow(command, **kwargs)

    monkeypatch.setattr(host, "run_shell_command", in_flight)
    wanted = [(FileStates, {"paths": [str(tmp_path / "a")]})]
    readahead.will_read(wanted)

    def declare():  # another host's greenlet, as the stack stage declares a guest's reads
        with ctx_state.use(state):
            readahead.will_read(wanted, host)

    declaring = gevent.spawn(declare)
    host.get_fact(FileStates, paths=[str(tmp_path / "a")])
    declaring.get()
    readahead.will_read([(File, {"path": str(tmp_path / "a")})])
    host.get_fact(File, path=str(tmp_path / "a"))
    assert len(ran) == 2 and ran[1].count("mediabox-read") == 1  # the next batch holds the new read only


def test_an_operation_declares_its_reads_when_a_stage_calls_it(local):
    state, host, ran = local
    meta = system.files_present(files={}, absent=["/nonexistent/a", "/nonexistent/b"])  # without -y pyinfra runs
    # the body now, to show what would change
    assert len(ran) == 1 and "mediabox-read" in ran[0]
    assert [(key[1], key[2]) for key in readahead.of(state).kept] == [
        ("facts.system.FileStates", '{"paths": ["/nonexistent/a", "/nonexistent/b"]}')]
    list(state.get_op_data_for_host(host, meta._hash).command_generator())  # and again at execute
    assert len(ran) == 1


def test_a_run_that_asked_before_going_on_reads_again_together(local, tmp_path):
    state, host, ran = local  # State() checks for changes, as the CLI without -y
    target = str(tmp_path / "a")
    readahead.will_read([(FileStates, {"paths": [target]}), (File, {"path": target})])
    assert host.get_fact(File, path=target) is None
    (tmp_path / "a").write_text("written while pyinfra asked\n")
    state.set_stage(StateStage.Execute)
    assert host.get_fact(File, path=target)["size"] == 28
    assert host.get_fact(FileStates, paths=[target])[target]["sha256"]
    assert len(ran) == 2 and ran[1].count("mediabox-read") == 2


def test_a_run_with_yes_keeps_what_it_read_while_preparing(local, tmp_path):
    state, host, ran = local
    state.check_for_changes = False  # -y
    readahead.will_read([(File, {"path": str(tmp_path / "a")})])
    host.get_fact(File, path=str(tmp_path / "a"))
    state.set_stage(StateStage.Execute)
    host.get_fact(File, path=str(tmp_path / "a"))
    assert len(ran) == 1


def test_only_batched_answers_are_kept(local, tmp_path):
    _, host, ran = local
    host.get_fact(File, path=str(tmp_path / "a"))  # not declared: pyinfra's own read, every time
    host.get_fact(File, path=str(tmp_path / "a"))
    assert len(ran) == 2


def test_a_fact_whose_program_is_installed_is_kept(local):
    _, host, ran = local
    readahead.will_read([(NeedsProgram, {"program": "sh"})])
    assert host.get_fact(NeedsProgram, program="sh") == "installed"
    assert host.get_fact(NeedsProgram, program="sh") == "installed"
    assert len(ran) == 1


def test_a_batch_that_fails_as_a_whole_leaves_each_read_to_pyinfra(local, tmp_path, monkeypatch):
    state, host, ran = local
    reading = host.run_shell_command

    def times_out(command, **kwargs):
        if "mediabox-read" in str(command):
            raise TimeoutError("the batch took too long")
        return reading(command, **kwargs)

    monkeypatch.setattr(host, "run_shell_command", times_out)
    readahead.will_read([(File, {"path": str(tmp_path)}), (NoNewline, {})])
    assert host.get_fact(NoNewline) == ["one", "two"]
    assert host.get_fact(File, path=str(tmp_path)) is False  # a directory, as pyinfra's File says


class CannotCommand(FactBase):
    @override
    def command(self):
        raise ValueError("no command for this host")


def test_a_fact_that_cannot_make_its_command_fails_in_its_own_read_only(local):
    _, host, ran = local
    readahead.will_read([(CannotCommand, {}), (NoNewline, {})])
    assert host.get_fact(NoNewline) == ["one", "two"]
    with pytest.raises(ValueError, match="no command"):
        host.get_fact(CannotCommand)


class HostNamed(FactBase):
    @override
    def command(self):
        return f"echo {ctx_host.get().name}"


def test_a_batch_another_host_starts_is_made_for_the_host_it_reads(local):
    state, host, _ = local
    with ctx_host.use(type("Other", (), {"name": "lab-pve"})()):  # the Proxmox host's stage reading a guest
        readahead.will_read([(HostNamed, {})], host=host)
        assert host.get_fact(HostNamed) == "@local"


def test_no_reads_are_declared_for_another_user_or_for_a_check():
    declared = readahead._declared(system.files_present.declared_reads, inspect.signature(system.files_present._inner),
                                   (), {"files": {}, "absent": ["/x"], "_sudo": True})
    assert declared == []
    assert not readahead._batchable(MaintenanceCheck)  # a check sees the moment it runs


def test_split_tells_the_parts_apart():
    marker = "mediabox-read-0123"
    lines = ["a", "b", f"{marker} 0 0", f"c{marker} 1 0", f"{marker} 2 1"]
    assert readahead.split(lines, marker) == {0: (0, ["a", "b"]), 1: (0, ["c"]), 2: (1, [])}
