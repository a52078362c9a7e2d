"""Facts about the host's hardware that pyinfra's own hardware facts do not cover."""

from __future__ import annotations

from pyinfra.api import FactBase
from typing_extensions import override


class GpuRenderNodes(FactBase[list]):
    """
    Returns the GPU render nodes (/dev/dri/renderD*) the host has, for hardware transcoding.

    .. code:: python

        ["/dev/dri/renderD128"]
    """

    @override
    def command(self) -> str:
        return "ls -1d /dev/dri/renderD* 2>/dev/null || true"

    default = list

    @override
    def process(self, output) -> list:
        return sorted(line.strip() for line in output if line.strip())
