"""What the wiring shares across apps."""

from __future__ import annotations

from pyinfra.api import OperationError


class AppError(OperationError):
    """An app the wiring talks to failed: the message names the app and what to do."""
