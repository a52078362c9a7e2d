"""Facts about Docker and the compose project in a Docker guest."""

from __future__ import annotations

from pyinfra.api import FactBase, QuoteString, StringCommand
from typing_extensions import override

PROJECT_LABEL = "com.docker.compose.project"


class RuncVersion(FactBase[str]):
    """
    Returns the version runc reports ("1.1.5+ds1"), or None when it is not installed. (Only runc: asking dockerd
    or containerd starts a Go program of tens of MB, ~50 ms a guest on every run.)
    """

    command = "runc --version 2>/dev/null | sed -n 's/^runc version //p'; true"

    @override
    def process(self, output) -> str | None:
        return "".join(output).strip() or None


class ComposePluginVersion(FactBase[str]):
    """
    Returns the version the compose v2 binary at this path reports ("2.40.3"), or None when there is none.
    """

    @override
    def command(self, path: str) -> StringCommand:
        return StringCommand(QuoteString(path), "version --short 2>/dev/null; true")

    @override
    def process(self, output) -> str | None:
        return output[0].strip().lstrip("v") if output and output[0].strip() else None


class ComposeState(FactBase[dict]):
    """
    Returns the SHA-256 of the project's files (compose.yaml and env/*.env) and the state and health
    of each container of the compose project, by compose service.

    .. code:: python

        {"files": {"compose.yaml": "3b1f…", "env/sonarr.env": "9a0c…"},
         "containers": {"sonarr": {"state": "running", "health": "healthy"},
                        "gluetun": {"state": "exited", "health": None}}}
    """

    @override
    def command(self, path: str, project: str) -> StringCommand:
        return StringCommand(
            "cd", QuoteString(path), "2>/dev/null && for f in compose.yaml env/*.env; do "
            '[ -f "$f" ] && echo "file $(sha256sum "$f")"; done; '
            "docker ps -a --filter", QuoteString(f"label={PROJECT_LABEL}={project}"),
            "--format", QuoteString('ctr {{.Label "com.docker.compose.service"}} {{.State}} {{.Status}}'),
            "2>/dev/null; true",
        )

    @staticmethod
    def default() -> dict:
        return {"files": {}, "containers": {}}

    @override
    def process(self, output) -> dict:
        files, containers = {}, {}
        for line in output:
            kind, _, rest = line.partition(" ")
            if kind == "file":
                digest, name = rest.split(None, 1)
                files[name.strip()] = digest
            elif kind == "ctr":
                service, state, *status = rest.split(" ")
                text = " ".join(status)
                health = next((h for h in ("unhealthy", "healthy", "health: starting") if f"({h})" in text), None)
                containers[service] = {"state": state, "health": health and health.replace("health: ", "")}
        return {"files": files, "containers": containers}
