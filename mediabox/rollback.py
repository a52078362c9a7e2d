"""What a failed update rolls back, and the report of it: read from the compose project's files and from
`docker inspect`, kept apart from the commands (operations.docker) so it can be tested alone."""

from __future__ import annotations

import json

import yaml

SERVICE_LABEL = "mediabox.service"  # the catalog name, which is also the service's appdata folder
REASON_CHARS = 200


def image_changes(previous: str, current: str) -> dict[str, tuple[str, str, str]]:
    """Services of both compose files whose image differs, by compose name: (appdata folder, old, new)."""
    before = yaml.safe_load(previous).get("services", {})
    after = yaml.safe_load(current).get("services", {})
    return {name: (spec.get("labels", {}).get(SERVICE_LABEL, name), before[name]["image"], spec["image"])
            for name, spec in sorted(after.items())
            if name in before and before[name].get("image") != spec.get("image")}


def failing(inspected: str) -> dict[str, str]:
    """The project's containers that are not running healthy, by compose service, with why (`docker inspect`'s
    JSON): the state, and the last health check's output or the exit code."""
    found = {}
    for container in json.loads(inspected or "[]"):
        service = container["Config"]["Labels"].get("com.docker.compose.service", container["Name"].lstrip("/"))
        status = container["State"]
        health = (status.get("Health") or {}).get("Status")
        if status["Status"] == "running" and health in (None, "healthy"):
            continue
        if health and status["Status"] == "running":
            log = status["Health"].get("Log") or [{}]
            output = " ".join(str(log[-1].get("Output", "")).split())[:REASON_CHARS]
            found[service] = f"{health}" + (f" (last check: {output})" if output else "")
        elif status["Status"] == "exited":
            found[service] = f"exited with code {status.get('ExitCode')}"
        else:
            found[service] = status["Status"]
    return found


def described(failing_services: dict[str, str]) -> str:
    """failing()'s findings as one phrase: "radarr exited with code 1; sonarr unhealthy (...)"."""
    return "; ".join(f"{name} {why}" for name, why in sorted(failing_services.items()))


def report(timeout_s: int, failed: dict[str, str], differs: bool, changed: dict[str, tuple[str, str, str]],
           snapshot: str | None, still_failing: dict[str, str] | None) -> str:
    """The message of a rolled-back update: what did not become healthy and why, what was rolled back (differs:
    the project's files were not the last healthy ones), and whether the previous project is healthy again."""
    what = described(failed) or "docker compose up failed"
    lines = [f"the stack did not become healthy within {timeout_s} s: {what}"]
    moves = ", ".join(f"{name} {old} -> {new}" for name, (_, old, new) in changed.items())
    if differs:
        lines.append("Rolled back to the last healthy project (compose.yaml and env files)"
                     + (f", undoing {moves}" if moves else ""))
    else:
        lines.append("The project's files are the last healthy ones (nothing to roll back): it was brought up again")
    if snapshot:
        folders = ", ".join(sorted({folder for folder, _, _ in changed.values()}))
        lines.append(f"Appdata of {folders} restored from {snapshot}, taken before this run changed it (what it "
                     "replaced is kept in a read-only snapshot named appdata-<now>-before-restore)")
    if still_failing:
        lines.append("The rollback did not become healthy either: "
                     + described(still_failing)
                     + ". Look at `docker compose ps` and `docker compose logs` in the project's folder")
    else:
        lines.append("The previous images run again, healthy" if differs else "It is healthy again")
    lines.append("Fix: pin an image that works (image_overrides, or the catalog's pin) or give it longer "
                 "(stack_health_timeout_s), then run the deploy again")
    return ". ".join(lines) + "."
