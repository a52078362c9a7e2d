"""The stages, in order, and the one validation that comes before any of them.

deploy.py calls `run_stages()` once per host (pyinfra runs deploy files per host): the settings of
the whole inventory are validated on the first call, and every problem is shown at once before any
operation is queued, so a bad setting never changes a host.
"""

from __future__ import annotations

from importlib import import_module

from pyinfra import host, logger
from pyinfra.api.exceptions import PyinfraError
from pyinfra.context import ctx_inventory

from mediabox.run import Run, validate
from mediabox.settings import STAGES, SettingsError


class RunRefused(PyinfraError):
    """A user-facing refusal: pyinfra prints the message without a traceback and exits non-zero."""


def validated_run() -> Run:
    """The run's validated settings, computed once per inventory (failures are remembered too)."""
    inventory = ctx_inventory.get()
    if not hasattr(inventory, "_mediabox_run"):
        try:
            inventory._mediabox_run = validate(inventory)
        except SettingsError as error:
            inventory._mediabox_run = RunRefused("\n" + str(error))
    if isinstance(inventory._mediabox_run, RunRefused):
        raise inventory._mediabox_run
    return inventory._mediabox_run


def run_stages() -> None:
    """Validate, then apply this host's selected stages in order; preflight always runs first."""
    run = validated_run()
    settings = run.settings[host.name]
    for stage in STAGES:
        if stage == "preflight" or stage in settings.stages:
            import_module(f"deploy.{stage}").apply(run, settings)


def not_built(stage: str, issue: int) -> None:
    """The one line an unbuilt stage prints per run; it changes nothing."""
    inventory = ctx_inventory.get()
    said = inventory.__dict__.setdefault("_mediabox_said", set())
    if stage not in said:
        said.add(stage)
        logger.info(f"    stage {stage}: not built yet (issue #{issue}); nothing to do")
