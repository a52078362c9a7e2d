"""The readable plan: what an operation is about to change, one line per item, `plan: <what>: <old> -> <new>`.

Operations call show() where they decide to change something, before they yield a command, so `pyinfra --dry`
prints the whole plan (Proxmox config keys, the compose project, the apps' settings) and writes nothing; a
real run prints the same lines as it goes. Values of keys that look secret are never printed.
"""

from __future__ import annotations

import re
from typing import Any

from pyinfra import host, logger

MARK = "plan: "
SECRET = re.compile(r"pass|secret|token|apikey|api_key|key$", re.IGNORECASE)
WIDTH = 80  # a value longer than this is cut, with its length


def show(subject: str, changes: dict[str, tuple[Any, Any]]) -> None:
    """One line per changed key: ``plan: <subject>: <key>: <old> -> <new>``; a key never set reads (unset)."""
    for key, (old, new) in sorted(changes.items()):
        hidden = bool(SECRET.search(key.rsplit(".", 1)[-1]))
        note(f"{subject}: {key}: {_value(old, hidden)} -> {_value(new, hidden)}")


def note(line: str) -> None:
    """One plan line as it is: an item added, a file that differs, a service to start."""
    logger.info(f"{host.print_prefix}{MARK}{line}")


def diff(current: dict, wanted: dict) -> dict[str, tuple[Any, Any]]:
    """The keys of wanted (nested dicts as dotted paths) whose value in current differs, with (old, new)."""
    found = {}
    for key, value in wanted.items():
        old = current.get(key, UNSET) if isinstance(current, dict) else UNSET
        if isinstance(value, dict) and isinstance(old, dict):
            found |= {f"{key}.{inner}": change for inner, change in diff(old, value).items()}
        elif old != value:
            found[key] = (old, value)
    return found


def removed(current: dict, wanted: dict) -> dict[str, tuple[Any, Any]]:
    """The keys of current (nested dicts as dotted paths) that wanted no longer has, with (old, unset)."""
    found = {}
    for key, value in current.items():
        new = wanted.get(key, UNSET)
        if isinstance(value, dict) and isinstance(new, dict):
            found |= {f"{key}.{inner}": change for inner, change in removed(value, new).items()}
        elif new is UNSET:
            found[key] = (value, UNSET)
    return found


class _Unset:
    def __repr__(self) -> str:
        return "(unset)"


UNSET = _Unset()


def _value(value: Any, hidden: bool) -> str:
    if value is UNSET:
        return "(unset)"
    if hidden:
        return "(secret)"
    text = value if isinstance(value, str) and value.strip() == value and value else repr(value)
    return text if len(text) <= WIDTH else f"{text[:WIDTH - 20]}... ({len(text)} chars)"
