"""Operations for the host system: packages and kernel settings, changed only where they differ."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import OperationValueError, operation
from pyinfra.facts.deb import DebPackages
from pyinfra.facts.server import Sysctl
from pyinfra.operations import apt, server


@operation()
def packages(names: list[str]):
    """
    Ensure Debian packages are installed; apt's lists are refreshed only when one is missing,
    so a converged host runs nothing.

    + names: package names

    **Example:**

    .. code:: python

        system.packages(names=["btrfs-progs", "smartmontools"])
    """
    if not names:
        raise OperationValueError("packages needs at least one package name")
    installed = host.get_fact(DebPackages)
    missing = [name for name in names if name not in installed]
    if not missing:
        host.noop(f"{', '.join(names)} installed")
        return
    yield from apt.update._inner()
    yield from apt.packages._inner(packages=missing, no_recommends=True)


@operation()
def sysctl_at_least(key: str, minimum: int, persist_file: str):
    """
    Ensure a numeric kernel setting is at least a value, now and after reboot; a higher value is kept.

    + key: the sysctl, e.g. ``vm.max_map_count``
    + minimum: the lowest acceptable value
    + persist_file: the sysctl.d file that keeps it across reboots

    **Example:**

    .. code:: python

        system.sysctl_at_least(key="vm.max_map_count", minimum=262144,
                               persist_file="/etc/sysctl.d/60-mediabox.conf")
    """
    if not persist_file.startswith("/etc/sysctl.d/"):
        raise OperationValueError(f"persist_file must be in /etc/sysctl.d/, got {persist_file!r}")
    current = host.get_fact(Sysctl, keys=[key]).get(key)
    if not isinstance(current, int):
        raise OperationValueError(f"{key} is not a numeric sysctl on {host.name} (read {current!r})")
    yield from server.sysctl._inner(key=key, value=max(current, minimum), persist=True, persist_file=persist_file)
