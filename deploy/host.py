"""The host stage: not built yet (issue #3)."""

from deploy import not_built


def apply(run, settings) -> None:
    not_built("host", issue=3)
