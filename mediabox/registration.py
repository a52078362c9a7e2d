"""What pyinfra recomputes for every operation on every host, made cheap: both are the same values, so the same
operations, order and names.

- Operation order: pyinfra orders and names an operation by the line numbers of its call stack, which
  pyinfra.api.util takes from `inspect.stack()` and `inspect.getframeinfo()`. Those also find each frame's source
  file and read its line (a stat and a linecache lookup a frame, twice a frame; for the exec'd deploy file
  `inspect.getmodule` walked all ~1,250 loaded modules), and pyinfra uses nothing of that but each frame's file
  name and line number: ~0.9 ms an operation, 0.04 s of CPU a Docker guest in a no-op run. `frames_for_pyinfra()`
  hands pyinfra.api.util the frames' own names and numbers instead (~0.02 ms).
- Global arguments: pyinfra lists them (`_sudo`, `_if`, ...) with `typing.get_type_hints(AllArguments)` for every
  operation and every fact it reads, ~0.3 ms each time for a list that never changes (~0.02 s a Docker guest).
  `global_arguments_once()` keeps the first answer.
"""

from __future__ import annotations

import functools
import inspect
import sys
from types import FrameType
from typing import NamedTuple

from pyinfra.api import arguments, facts, util


class FrameLine(NamedTuple):
    """What pyinfra reads of an inspect.FrameInfo: [0] the frame, .filename and .lineno."""

    frame: FrameType
    filename: str
    lineno: int


def line_of(frame: FrameType) -> FrameLine:
    """inspect.getframeinfo(frame)'s file name and line number, without reading the source."""
    return FrameLine(frame, frame.f_code.co_filename, frame.f_lineno)


def stack(context: int = 1) -> list[FrameLine]:
    """inspect.stack()'s frames, file names and line numbers, the caller's frame first."""
    lines, frame = [], sys._getframe(1)
    while frame is not None:
        lines.append(line_of(frame))
        frame = frame.f_back
    return lines


def frames_for_pyinfra() -> None:
    """Give pyinfra.api.util these in place of inspect's (idempotent; a pyinfra whose util no longer takes
    inspect's two functions is left as it is)."""
    if util.stack is inspect.stack and util.getframeinfo is inspect.getframeinfo:
        util.stack, util.getframeinfo = stack, line_of


def global_arguments_once() -> None:
    """Keep pyinfra's list of global arguments after its first reading (idempotent; left alone when pyinfra's
    facts no longer read the list from pyinfra.api.arguments)."""
    if facts.all_global_arguments is arguments.all_global_arguments and not hasattr(facts.all_global_arguments,
                                                                                      "cache_info"):
        arguments.all_global_arguments = facts.all_global_arguments = functools.cache(arguments.all_global_arguments)


def tuned() -> None:
    """Both of the above."""
    frames_for_pyinfra()
    global_arguments_once()
