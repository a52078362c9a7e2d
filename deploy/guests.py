"""The guests stage: not built yet (issue #4)."""

from deploy import not_built


def apply(run, settings) -> None:
    not_built("guests", issue=4)
