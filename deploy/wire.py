"""The wire stage: not built yet (issue #6)."""

from deploy import not_built


def apply(run, settings) -> None:
    not_built("wire", issue=6)
