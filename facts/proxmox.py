"""Facts read on the Proxmox host's own files (the API covers the rest)."""

from __future__ import annotations

import shlex

from pyinfra.api import FactBase
from typing_extensions import override


class TemplateGroupId(FactBase):
    """
    Returns a group's id inside a container template (read from the template's /etc/group without
    unpacking it), or None when the template or the group is not there. Device passthrough (devN)
    needs the group id as the container will see it, e.g. the ``render`` group for /dev/dri.

    .. code:: python

        104
    """

    @override
    def requires_command(self, *args, **kwargs) -> str:
        return "tar"

    @override
    def command(self, path: str, group: str) -> str:
        return (f"tar -xOf {shlex.quote(path)} ./etc/group 2>/dev/null "
                f"| awk -F: -v g={shlex.quote(group)} '$1 == g {{print $3}}' || true")

    @override
    def process(self, output):
        text = "".join(output).strip()
        return int(text) if text.isdigit() else None
