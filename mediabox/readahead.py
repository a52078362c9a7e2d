"""A host's facts read in one remote command, and read once, for as long as the run has changed nothing.

pyinfra 3 runs one remote command for every fact an operation reads, and reads again what another operation
read: a Docker guest's no-op ran 18 remote commands, `dpkg -l` twice and `docker ps` twice among them (and pyinfra
without `-y` runs every operation body twice: at prepare, then at execute). Here:

- An operation says what it will read with `@reads(...)`, a function of its arguments, when a stage calls it.
  The host's first read of any of them runs all of the host's pending ones in one command, each part in its own
  subshell, its output and exit status told apart by a line with this run's random marker.
- Until the run changes something, a fact is read at most once a host: the same fact with the same arguments
  and connector arguments (`_sudo`, ...) gets a copy of the first answer.
- The first command that any operation executes on any host (a shell command, an upload, a Python callback:
  the API writes) turns batching and keeping off for the rest of the run: every later read is pyinfra's own. So a
  run that changes something reads afresh what follows the change, and a no-op reads each host in a few commands.
- A run without `-y` reads what it showed before asking to go on again (together, as at first) when it goes on:
  the answer may come minutes later.

A part that fails, finds its program missing or cannot be parsed is not kept, nor is a batch that fails as a
whole: the operation's own read runs it again, with pyinfra's own handling of the error. Only batched answers are
kept. Never kept: facts with their own shell or preconditions, facts that say `read_now = True` (a check that
must see the moment it runs), short facts, reads with positional or `_` arguments or arguments that are not plain
data.
"""

from __future__ import annotations

import copy
import functools
import inspect
import json
import logging
import re
import secrets
from collections.abc import Callable
from typing import Any

from gevent.lock import RLock
from paramiko import SSHException
from pyinfra.api import FactBase, StringCommand, arguments, command, facts
from pyinfra.api import host as host_module
from pyinfra.api.arguments import CONNECTOR_ARGUMENT_KEYS, pop_global_arguments
from pyinfra.api.state import StateStage
from pyinfra.context import ctx_host, ctx_state

logger = logging.getLogger(__name__)

Read = tuple[type[FactBase], dict[str, Any]]
# Every kind of command an operation yields; executing any of them is a change.
COMMANDS = (command.StringCommand, command.FileUploadCommand, command.FileDownloadCommand, command.FunctionCommand,
            command.RsyncCommand)
MISSING_COMMAND = "##PYINFRA_NOCMD##"  # pyinfra.api.facts' output for a fact whose program is not installed


class RunReads:
    """One pyinfra run's kept answers and pending reads."""

    def __init__(self) -> None:
        self.changed = False
        self.kept: dict[tuple, Any] = {}
        self.read: dict[tuple, Read] = {}  # what each kept answer was read with
        self.pending: dict[str, dict[tuple, Read]] = {}
        self.read_again_after_asking = False
        self.locks: dict[str, RLock] = {}
        self.marker = f"mediabox-read-{secrets.token_hex(8)}"

    def keep(self, key: tuple, read: Read, value: Any) -> None:
        self.kept[key], self.read[key] = copy.deepcopy(value), read

    def after_asking(self, state) -> None:
        """Once, when a run that asked the user (no -y) starts executing: every kept answer becomes pending again."""
        if self.read_again_after_asking or state.current_stage != StateStage.Execute \
                or not state.should_check_for_changes():
            return
        self.read_again_after_asking = True
        for key, read in self.read.items():
            self.pending.setdefault(key[0], {})[key] = read
        self.kept.clear()


def of(state) -> RunReads:
    if not hasattr(state, "_mediabox_reads"):
        state._mediabox_reads = RunReads()
    return state._mediabox_reads


def reads(declare: Callable[..., list[Read]]):
    """Decorate a pyinfra operation (above its @operation()) with the facts its body reads, as a function of its
    arguments (with their defaults): they are read with the host's next read, in one command. The function runs
    when a stage calls the operation, before the operation checks its arguments or its `_if`: it may only name
    read-only facts, and none for arguments the operation would refuse.

    .. code:: python

        @reads(lambda names: [(DebPackages, {})])
        @operation()
        def packages(names: list[str]): ...
    """

    def decorate(op):
        parameters = inspect.signature(op._inner)

        @functools.wraps(op)
        def declared(*args, **kwargs):
            if ctx_state.isset() and ctx_host.isset():
                will_read(_declared(declare, parameters, args, kwargs))
            return op(*args, **kwargs)

        declared.declared_reads = declare
        return declared

    return decorate


def _declared(declare, parameters: inspect.Signature, args, kwargs) -> list[Read]:
    if any(name in CONNECTOR_ARGUMENT_KEYS for name in kwargs):
        return []  # read as another user or with another shell: the body's own reads, one by one
    global_names = {name for name, _ in arguments.all_global_arguments()}
    try:
        bound = parameters.bind_partial(*args, **{k: v for k, v in kwargs.items() if k not in global_names})
        bound.apply_defaults()
        return declare(**bound.arguments)
    except (TypeError, ValueError, AttributeError) as error:  # arguments the operation refuses when it runs
        logger.debug("no reads declared: %s", error)
        return []


def will_read(wanted: list[Read], host=None) -> None:
    """Reads that the current host (or this one: a Host) will make, for its next read to make with it."""
    state, host = ctx_state.get(), host or ctx_host.get()
    run = of(state)
    if run.changed:
        return
    pending = run.pending.setdefault(host.name, {})
    for cls, kwargs in wanted:
        key = _key(state, host, cls, kwargs)
        if key is not None and key not in run.kept:
            pending.setdefault(key, (cls, json.loads(key[2])))  # the key holds the command's arguments, filled in


def get_fact(state, host, cls, args=None, kwargs=None, ensure_hosts=None, apply_failed_hosts=True):
    """pyinfra.api.facts.get_fact, answered from what this run has read when it has changed nothing since."""
    run = of(state)
    run.after_asking(state)
    key = None if run.changed or args else _key(state, host, cls, kwargs or {})
    if key is None:
        return ORIGINAL["get_fact"](state, host, cls, args=args, kwargs=kwargs, ensure_hosts=ensure_hosts,
                                    apply_failed_hosts=apply_failed_hosts)
    with _lock(run, host):
        if not run.changed and key not in run.kept and key in run.pending.get(host.name, {}):
            _read_pending(state, host, run, executor=key[-1])
        if not run.changed and key in run.kept:
            return copy.deepcopy(run.kept[key])
    return ORIGINAL["get_fact"](state, host, cls, args=args, kwargs=kwargs, ensure_hosts=ensure_hosts,
                                apply_failed_hosts=apply_failed_hosts)


def _lock(run: RunReads, host) -> RLock:
    return run.locks.setdefault(host.name, RLock())


def _read_pending(state, host, run: RunReads, executor: str) -> None:
    """Every pending read of this host with these connector arguments, in one remote command."""
    pending = run.pending.get(host.name, {})
    batch = [(key, read) for key, read in pending.items() if key[-1] == executor]
    for key, _ in batch:
        del pending[key]
    # A read declared again while its batch was in flight (another host's greenlet) is already kept.
    batch = [(key, read) for key, read in batch if key not in run.kept]
    if not batch:
        return
    if not host.connected:
        return  # pyinfra's own read connects, and says why it could not
    try:
        with ctx_host.use(host):  # a fact's command may read this host's other facts (Mounts reads Kernel)
            made, parts = _parts(batch, run.marker)
    except Exception as error:  # noqa: BLE001 - raised again by the operation's own read of that fact
        logger.debug("%s: a batched fact could not make its command (%s); each fact is read on its own", host.name,
                     error)
        return
    try:
        status, output = host.run_shell_command(StringCommand(*parts), print_output=state.print_fact_output,
                                                print_input=state.print_fact_input, **json.loads(executor))
    except (TimeoutError, OSError, SSHException) as error:
        logger.debug("%s: batched read failed (%s); each fact is read on its own", host.name, error)
        return
    if not status or run.changed:
        return
    answers = split(output.stdout_lines, run.marker)
    for index, ((key, read), fact) in enumerate(zip(batch, made, strict=True)):
        exit_status, lines = answers.get(index, (None, []))
        if exit_status != 0 or lines == [MISSING_COMMAND]:
            continue
        try:
            run.keep(key, read, fact.process(lines) if lines else fact.default())
        except Exception:  # noqa: BLE001 - not kept: the operation's own read says what went wrong
            logger.debug("%s: %s not kept from the batched read", host.name, type(fact).__name__)
    logger.debug("%s: %d facts read in one command", host.name, len(batch))


def _parts(batch: list[tuple[tuple, Read]], marker: str) -> tuple[list[FactBase], list]:
    """The facts, each one instance that makes its command and parses its output (as in pyinfra: Mounts keeps
    state between them), and the batch's command pieces."""
    made, parts = [], []
    for index, (_, (cls, kwargs)) in enumerate(batch):
        fact = cls()
        made.append(fact)
        part = fact.command(**kwargs) if callable(fact.command) else fact.command
        needs = fact.requires_command(**kwargs)
        if needs:
            part = StringCommand("if command -v", needs, ">/dev/null 2>&1; then (", part, "); else echo",
                                 f"'{MISSING_COMMAND}';", "fi")
        parts += ["(", part, ") </dev/null 2>/dev/null; echo", f'"{marker} {index} $?";']
    return made, parts


def split(lines: list[str], marker: str) -> dict[int, tuple[int, list[str]]]:
    """Each part's exit status and output lines, by part, from a batch's output."""
    end = re.compile(rf"^(.*){re.escape(marker)} (\d+) (\d+)$")
    answers, current = {}, []
    for line in lines:
        match = end.match(line)
        if not match:
            current.append(line)
            continue
        if match.group(1):
            current.append(match.group(1))  # the part's last line had no newline
        answers[int(match.group(2))] = (int(match.group(3)), current)
        current = []
    return answers


def _batchable(cls) -> bool:
    return (isinstance(cls, type) and issubclass(cls, FactBase) and cls.shell_executable is None
            and cls.check_preconditions is FactBase.check_preconditions and not getattr(cls, "read_now", False))


def _fact_kwargs(cls, kwargs: dict) -> dict:
    """The fact command's arguments, defaults filled in, as pyinfra passes them."""
    fact = cls()
    if not callable(fact.command):
        return {}
    bound = inspect.signature(fact.command).bind(**kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)


def _key(state, host, cls, kwargs: dict) -> tuple | None:
    """(host, fact, its arguments, connector arguments), or None for a read that is never kept."""
    if not _batchable(cls) or any(name.startswith("_") for name in kwargs):
        return None
    try:
        arguments = json.dumps(_fact_kwargs(cls, kwargs), sort_keys=True)
        context = dict(host.current_op_global_arguments or {})
        global_arguments, _ = pop_global_arguments(state, host, context)
        executor = json.dumps({k: v for k, v in global_arguments.items() if k in CONNECTOR_ARGUMENT_KEYS},
                              sort_keys=True)
    except (TypeError, ValueError):  # arguments that are not plain data
        return None
    return host.name, f"{cls.__module__}.{cls.__qualname__}", arguments, executor


def _counting(execute):
    @functools.wraps(execute)
    def execute_and_note(self, state, *args, **kwargs):
        run = of(state)
        run.changed = True
        run.kept.clear()
        run.pending.clear()
        return execute(self, state, *args, **kwargs)

    execute_and_note.notes_changes = True
    return execute_and_note


ORIGINAL: dict[str, Callable] = {}


def install() -> None:
    """Route pyinfra hosts' fact reads through get_fact, and note the first command executed (idempotent; a
    pyinfra whose Host no longer reads facts through pyinfra.api.host.get_fact is left as it is)."""
    if host_module.get_fact is not facts.get_fact:
        return
    ORIGINAL["get_fact"] = facts.get_fact
    host_module.get_fact = get_fact
    for kind in COMMANDS:
        if "execute" in vars(kind) and not getattr(kind.execute, "notes_changes", False):
            kind.execute = _counting(kind.execute)
