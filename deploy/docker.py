"""The docker stage: not built yet (issue #5)."""

from deploy import not_built


def apply(run, settings) -> None:
    not_built("docker", issue=5)
