"""Validate a whole pyinfra inventory's settings and secrets at once.

`validate(inventory)` is what deploy.py calls before any stage; `load_inventory(path)` builds the same
inventory pyinfra's CLI would (group_data merged, `--data` overrides on top) for the lab and tests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import gevent
from pyinfra.context import ctx_config, ctx_host

from mediabox import secrets as secrets_file
from mediabox.checks import check_host, check_inventory, merge
from mediabox.secrets import Secrets
from mediabox.settings import ROLES, Problem, Settings, SettingsError, parse

REPO = Path(__file__).resolve().parent.parent
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Run:
    """Everything validated for one run: each host's settings and roles, and the secrets."""

    settings: dict[str, Settings]
    roles: dict[str, frozenset[str]]
    secrets: Secrets
    _made: dict = field(default_factory=dict, compare=False, repr=False)
    _making: dict = field(default_factory=dict, compare=False, repr=False)

    def once(self, key: Hashable, make: Callable[[], T]) -> T:
        """make() the first time this run asks for key, then the same value: for what several hosts' stages read or
        compute alike and no stage changes (a guest's render group, its project rendered from the same secrets).
        Hosts that ask while another makes it wait for that one (pyinfra's hosts are gevent greenlets, and its
        patched threading locks make them yield)."""
        with self._making.setdefault(key, threading.RLock()):
            if key not in self._made:
                self._made[key] = make()
        return self._made[key]

    def hosts_in(self, role: str) -> list[str]:
        return [name for name, roles in self.roles.items() if role in roles]

    def key_scope(self, guest_name: str) -> str | None:
        """How a Docker guest's app-made API keys are told apart in the secrets file (mediabox.secrets.key_name):
        by its host name when the inventory has more than one Docker guest."""
        return self.settings[guest_name].guest_hostname if len(self.hosts_in("docker_guests")) > 1 else None


def at_once(function: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """[function(item) for item in items], the calls started together (pyinfra's hosts are gevent greenlets): for
    reads from several hosts that do not depend on each other, which then take the slowest read's time, not their
    sum. Each call keeps this greenlet's pyinfra host and config; the first error is raised here."""
    host, config = ctx_host.get(), ctx_config.get()

    def call(item: T) -> R:
        with ctx_host.use(host), ctx_config.use(config):
            return function(item)

    calls = [gevent.spawn(call, item) for item in items]
    gevent.joinall(calls)
    return [done.get() for done in calls]


def validate(inventory: Any) -> Run:
    """Every host's data against the model, then across hosts, then the secrets; raises SettingsError
    listing every problem."""
    found: list[tuple[str, Problem]] = []
    parsed = []
    for host in inventory:
        data = host.data.dict()
        roles = frozenset(host.groups) & frozenset(ROLES)
        address = data.get("ssh_hostname") or host.name
        settings, problems = parse(data)
        if settings is not None:
            bad_keys = {p.key for p in problems}
            problems += [p for p in check_host(settings, set(roles), address) if p.key not in bad_keys]
            parsed.append((host.name, settings, set(roles), address))
        found += [(host.name, p) for p in problems]
    found += [("", p) for p in check_inventory(parsed)]
    if found:
        raise SettingsError(merge(found))
    has_nas = any("nas_guests" in roles for _, _, roles, _ in parsed)
    loaded, problems = secrets_file.load([(s, roles) for _, s, roles, _ in parsed], with_nas=has_nas)
    if problems:
        raise SettingsError(problems)
    return Run(
        settings={name: s for name, s, _, _ in parsed},
        roles={name: frozenset(roles) for name, _, roles, _ in parsed},
        secrets=loaded,
    )


def load_inventory(path: str | Path, override_data: dict[str, Any] | None = None) -> Any:
    """The inventory pyinfra's CLI would build from this file, run from the repo root."""
    from pyinfra.api.state import State
    from pyinfra.context import ctx_state
    from pyinfra_cli.inventory import make_inventory

    with ctx_state.use(State()):
        return make_inventory(str(path), cwd=str(REPO), override_data=override_data or {})
