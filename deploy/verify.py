"""The verify stage: not built yet (issue #7)."""

from deploy import not_built


def apply(run, settings) -> None:
    not_built("verify", issue=7)
