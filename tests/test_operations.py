"""JSON fixture tests for operations/, as pyinfra's own: tests/operations/<module>.<operation>/<case>.json
gives the arguments and the facts the host reports, and the exact commands the operation must yield,
or the no-op it must report, or the error it must raise. Every operation has a change, a no-change and
an invalid-argument case; an action that always changes (a restore) has a refusal in place of the no-change."""

from __future__ import annotations

import importlib
import inspect
import json
import logging
from pathlib import Path

import pytest
from pyinfra.api import Config, FileUploadCommand, FunctionCommand, Inventory, StringCommand
from pyinfra.api.exceptions import OperationError
from pyinfra.api.state import State
from pyinfra.context import ctx_host, ctx_state

from mediabox import apps, plan, readahead
from mediabox.apps import AppError
from mediabox.secrets import Secrets

FIXTURES = Path(__file__).parent / "operations"
# Operations that only check (they pass, or stop the run with the fix) and never change anything.
CHECKS_ONLY = {"docker.runtime_supported", "system.check_passes"}
CASES = sorted(FIXTURES.glob("*/*.json"))
# Reads whose arguments come from an earlier read, so no operation can declare them ahead (mediabox.readahead).
READ_AFTER_A_READ = {"system.sysctl_at_least": "FindInFile looks for the value that the Sysctl read decides"}
# Operations whose changes a --dry run lists item by item (mediabox.plan): a change case says its plan lines.
PLANNED = {"proxmox", "docker", "qbittorrent", "arr", "jellyfin", "seerr", "autobrr", "audiobookshelf", "apps"}


class FakeHost:
    """Serves facts from the fixture by "<module>.<Fact>" (the facts/ package's as "facts.<module>.<Fact>")
    and "arg=value,..." keys; a fact the fixture lacks is a KeyError."""

    name = "testhost"
    print_prefix = "[testhost] "
    current_op_global_arguments: dict = {}

    def __init__(self, facts: dict):
        self.facts = facts
        self.noop_description: str | None = None
        self.data: dict = {}
        self.read: list[tuple] = []

    def get_fact(self, fact_cls, *args, **kwargs):
        self.read.append(read_key(fact_cls, kwargs))
        module = fact_cls.__module__.removeprefix("pyinfra.facts.")
        value = self.facts[f"{module}.{fact_cls.__name__}"]
        if kwargs:
            key = ",".join(f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in sorted(kwargs.items()))
            return value[key]
        return value

    def get_temp_filename(self, hash_key: str | None = None, **kwargs) -> str:
        return f"/tmp/pyinfra-{hash_key}"

    def noop(self, description: str) -> None:
        self.noop_description = description


class RecordedApi:
    """Answers proxmoxer-style reads (api.nodes("pve1").lxc.get()) from responses recorded from fakepve,
    keyed "nodes/pve1/lxc" or "...?param=value"; any write here is a bug (writes go in FunctionCommands)."""

    def __init__(self, responses: dict, path: tuple[str, ...] = ()):
        self._responses, self._path = responses, path

    def __getattr__(self, name: str) -> RecordedApi:
        return RecordedApi(self._responses, (*self._path, name))

    def __call__(self, *parts) -> RecordedApi:
        return RecordedApi(self._responses, (*self._path, *map(str, parts)))

    def get(self, **params):
        query = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        return self._responses["/".join(self._path) + (f"?{query}" if query else "")]

    def _write(self, **params):
        raise AssertionError(f"write to {'/'.join(self._path)} in an operation body")

    post = put = delete = _write


class RecordedQbt:
    """A mediabox.qbt.Connection whose client answers reads from responses recorded from the lab's real
    qBittorrent ({"app_preferences": {...}, ...}); any other client call is a bug in an operation body."""

    url = "http://10.213.0.10:8080"

    def __init__(self, responses: dict):
        self.client = type("RecordedClient", (), {name: staticmethod(lambda value=value: value)
                                                  for name, value in responses.items()})()

    def call(self, what: str, function, *args, **kwargs):
        return function(*args, **kwargs)


class RecordedArr:
    """A mediabox.arr.Connection answering GETs from responses recorded from the Servarr fake (keyed by path),
    and the app's test of a stored provider from {"tests": {"downloadclient": true}}."""

    url = "http://10.213.0.10:8989"

    def __init__(self, responses: dict):
        self._responses = responses
        self.title = responses.get("title", "Sonarr")

    def get(self, path: str, **params):
        return self._responses[path]

    def shared(self, path: str, read=None):
        return self.get(path)

    def passes_test(self, resource: str, body: dict) -> bool:
        return self._responses["tests"][resource]

    def _write(self, *args, **kwargs):
        raise AssertionError("write in an operation body")

    post = put = _write


class RecordedJellyfin:
    """A mediabox.jellyfin.Connection answering reads from responses recorded from the Jellyfin fake
    ({"public_info": {...}, "/Library/VirtualFolders": [...]})."""

    title, url = "Jellyfin", "http://10.213.0.10:8096"

    def __init__(self, responses: dict):
        self._responses = responses

    def public_info(self) -> dict:
        return self._responses["public_info"]

    def get(self, path: str, **params):
        return self._responses[path]

    def shared(self, path: str, read=None):
        return self.get(path)

    def _write(self, *args, **kwargs):
        raise AssertionError("write in an operation body")

    post = delete = startup = _write


class RecordedAudiobookshelf(RecordedJellyfin):
    """A mediabox.audiobookshelf.Connection answering reads from responses recorded from its fake
    ({"/status": {...}, "/api/libraries": {...}})."""

    title, url = "Audiobookshelf", "http://10.213.0.10:13378"

    def __init__(self, responses: dict):
        super().__init__(responses)
        self.username = responses.get("username", "admin")

    def status(self) -> dict:
        return self._responses["/status"]


class RecordedSeerr(RecordedArr):
    """A mediabox.seerr.Connection answering reads from responses recorded from the Seerr fake; it behaves as
    at execute: not linked to Jellyfin is an error, not a planned change."""

    url = "http://10.213.0.10:5055"

    def __init__(self, responses: dict):
        super().__init__({"title": "Seerr", **responses})

    def public(self) -> dict:
        return self._responses["/settings/public"]

    def require_linked(self) -> None:
        if self.public().get("mediaServerType") != 2:
            raise AppError(f"Seerr at {self.url} is not linked to Jellyfin")


class RecordedAutobrr(RecordedJellyfin):
    """A mediabox.autobrr.Connection answering reads from responses recorded from the autobrr fake
    ({"onboarding_open": false, "/api/download_clients": [...], "test_failure": null})."""

    title, url = "autobrr", "http://10.213.0.10:7474"

    def __init__(self, responses: dict):
        super().__init__(responses)
        self.username = responses.get("username", "admin")

    def onboarding_open(self) -> bool:
        return self._responses["onboarding_open"]

    def test_failure(self, client: dict) -> str | None:
        return self._responses["test_failure"]

    put = RecordedJellyfin._write


class RecordedKeyedApp:
    """An app connection that makes its own API keys (operations.apps.MakesKeys), from recorded answers:
    {"title": "Jellyfin", "accepted": [keys it takes], "readable": the key it shows for the label, or null}."""

    def __init__(self, responses: dict):
        self._responses = responses
        self.title = responses["title"]

    def accepts_key(self, key: str) -> bool:
        return key in self._responses["accepted"]

    def readable_key(self, label: str) -> str | None:
        return self._responses["readable"]

    def make_key(self, label: str) -> str:
        raise AssertionError("a key made in an operation body")


# An operation's API connection parameter -> what plays it, from the case's recorded responses; "<module>.<name>"
# where a parameter name means another connection in that module.
RECORDED = {"api": RecordedApi, "app": RecordedArr, "jellyfin": RecordedJellyfin,
            "audiobookshelf": RecordedAudiobookshelf, "seerr": RecordedSeerr, "qbt": RecordedQbt,
            "autobrr": RecordedAutobrr, "apps.app": RecordedKeyedApp,
            "secrets": lambda values: Secrets(Path("/nonexistent/secrets.yml"), values)}


def read_key(fact_cls, kwargs: dict) -> tuple:
    return fact_cls, json.dumps(readahead._fact_kwargs(fact_cls, kwargs), sort_keys=True)


def empty_state() -> State:
    """A State with a config and no hosts (State() alone skips init for an empty inventory)."""
    state = State()
    state.init(Inventory(([], {})), Config())
    return state


def serialise(command) -> object:
    if isinstance(command, str):
        return command
    if isinstance(command, StringCommand):
        stdin = command.connector_arguments.get("_stdin")
        # What goes on stdin (passwords) is shown only as a count: fixtures never hold it.
        return [command.get_raw_value(), f"stdin: {len(stdin)} lines"] if stdin else command.get_raw_value()
    if isinstance(command, FunctionCommand):  # the first argument is the app's connection; others are shown
        return [command.function.__name__, *(a if isinstance(a, (str, int, float, dict, list, tuple, type(None)))
                                             else f"<{a.title} connection>" if hasattr(a, "title") else repr(a)
                                             for a in command.args[1:])]
    if isinstance(command, FileUploadCommand):
        source = command.src
        content = source.getvalue() if hasattr(source, "getvalue") else Path(source).read_text()
        return ["upload", command.dest, content]
    raise AssertionError(f"unexpected command {command!r}")


def test_every_operation_has_change_noop_and_invalid_cases():
    import operations

    for path in Path(operations.__file__).parent.glob("*.py"):
        module = importlib.import_module(f"operations.{path.stem}")
        for name, func in vars(module).items():
            if hasattr(func, "_inner") and func.__module__ == module.__name__:
                cases = (FIXTURES / f"{path.stem}.{name}").glob("*.json")
                kinds = {json.loads(case.read_text()).get("kind") for case in cases}
                # A check never changes anything; an action (not idempotent: a restore) always does, and its
                # refusal stands in for the no-op it cannot have.
                wanted = {"refusal" if f"{path.stem}.{name}" in CHECKS_ONLY else "change", "invalid",
                          "noop" if getattr(func, "is_idempotent", True) else "refusal"}
                assert wanted <= kinds, f"{path.stem}.{name} has only {kinds}"


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.stem}" for c in CASES])
def test_operation(case, caplog):
    spec = json.loads(case.read_text())
    module, name = case.parent.name.rsplit(".", 1)
    operation = getattr(importlib.import_module(f"operations.{module}"), name)
    fake = FakeHost(spec.get("facts", {}))
    for parameter in inspect.signature(operation._inner).parameters:
        recorded = RECORDED.get(f"{module}.{parameter}") or RECORDED.get(parameter)
        if recorded:
            spec.setdefault("kwargs", {})[parameter] = recorded(spec.get(parameter, {}))
    state = empty_state()
    state.is_executing = spec.get("executing", False)  # a body that reads differently while pyinfra prepares
    with ctx_state.use(state), ctx_host.use(fake):
        if "exception" in spec:
            with pytest.raises(OperationError) as raised:
                for command in operation._inner(*spec.get("args", []), **spec.get("kwargs", {})):
                    if isinstance(command, FunctionCommand) and command.function is apps._fail:
                        command.function(*command.args)  # an app's refusal, reported when it runs
            assert type(raised.value).__name__ == spec["exception"]["name"]
            for text in spec["exception"]["contains"]:
                assert text in str(raised.value)
            return
        with caplog.at_level(logging.INFO, logger="pyinfra"):
            commands = [serialise(c) for c in operation._inner(*spec.get("args", []), **spec.get("kwargs", {}))]
    assert commands == spec["commands"]
    shown = [record.getMessage().removeprefix(f"{fake.print_prefix}{plan.MARK}") for record in caplog.records
             if plan.MARK in record.getMessage()]
    if module in PLANNED and spec["kind"] == "change":
        assert shown == spec["plan"], "the plan lines of this change"
    if not commands:
        assert fake.noop_description == spec["noop_description"]
        # A converged host's reads are all declared (mediabox.readahead), as a stage calls the operation (with a
        # name): a no-op run reads them in one command. Facts never kept (a check's) are read on their own.
        declared = readahead._declared(getattr(operation, "declared_reads", lambda **_: []),
                                       inspect.signature(operation._inner), spec.get("args", []),
                                       {**spec.get("kwargs", {}), "name": "as a stage names it"})
        if f"{module}.{name}" not in READ_AFTER_A_READ:
            kept = {read for read in fake.read if readahead._batchable(read[0])}
            assert kept <= {read_key(fact_cls, kwargs) for fact_cls, kwargs in declared}
