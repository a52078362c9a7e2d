"""The stages, in order, and the one validation that comes before any of them.

deploy.py calls `run_stages()` once per host (pyinfra runs deploy files per host): the settings of
the whole inventory are validated on the first call, and every problem is shown at once before any
operation is queued, so a bad setting never changes a host.
"""

from __future__ import annotations

from importlib import import_module

# Aliased: importing the stage module deploy.host rebinds the name `host` in this package.
from pyinfra import host as current_host
from pyinfra.api.exceptions import PyinfraError
from pyinfra.context import ctx_inventory

from mediabox import pve, readahead, registration
from mediabox.connection import no_delay
from mediabox.run import Run, validate
from mediabox.settings import STAGES, Settings, SettingsError
from operations import system


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
    settings = run.settings[current_host.name]
    no_delay(current_host)
    registration.tuned()
    readahead.install()
    # pyinfra names an operation by the line numbers of its call stack alone: host.loop adds the stage's index,
    # so that operations on the same line of two stage modules stay apart.
    for stage in current_host.loop(STAGES):
        if stage == "preflight" or stage in settings.stages:
            import_module(f"deploy.{stage}").apply(run, settings)


def run_restore() -> None:
    """restore.py: validate, preflight, then the restore of settings.restore_service's appdata."""
    run = validated_run()
    settings = run.settings[current_host.name]
    no_delay(current_host)
    registration.tuned()
    readahead.install()
    if settings.restore_service is None:
        raise RunRefused("\nrestore.py needs the service to restore: add `--data restore_service=<service>` (or "
                         "`all`), and `--data restore_snapshot=<name>` for another snapshot than the latest. "
                         "Nothing was changed.")
    import_module("deploy.preflight").apply(run, settings)
    import_module("deploy.restore").apply(run, settings)


def pve_api(run: Run, settings: Settings):
    """This Proxmox host's API client (one per host per run; reads are never cached)."""
    data = current_host.data
    return pve.client(current_host.name, settings, run.secrets, data.get("ssh_hostname") or current_host.name,
                      ssh_key=data.get("ssh_key"), ssh_port=data.get("ssh_port") or 22)


def apt_proxy(settings: Settings) -> None:
    """apt on this host goes through settings.apt_proxy when there is one."""
    path = "/etc/apt/apt.conf.d/00mediabox-proxy"
    if settings.apt_proxy:
        system.files_present(name="apt proxy", files={path: [f'Acquire::http::Proxy "{settings.apt_proxy}";\n', "644"]})
    else:
        system.files_present(name="No apt proxy", files={}, absent=[path])
