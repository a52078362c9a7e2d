"""Operations shared by the apps' APIs: an API key that the app makes itself (Jellyfin, Audiobookshelf, autobrr,
TubeArchivist), kept in the secrets file for what needs it (Homepage's widgets). Reads happen in the operation
body; writes go in a FunctionCommand, which reads the key again there, so no key is ever an argument that
pyinfra could show."""

from __future__ import annotations

from typing import Protocol

from pyinfra import host
from pyinfra.api import OperationValueError, operation

from mediabox import plan
from mediabox.apps import AppCommand, AppError, deferred_while_down
from mediabox.secrets import Secrets


class MakesKeys(Protocol):
    """An app connection that can check, find and make API keys (mediabox.jellyfin, .audiobookshelf, .autobrr,
    .tubearchivist)."""

    title: str

    def accepts_key(self, key: str) -> bool: ...

    def readable_key(self, label: str) -> str | None: ...  # None: the app shows a key only when it makes it

    def make_key(self, label: str) -> str: ...


@operation()
@deferred_while_down
def api_key(app: MakesKeys, label: str, secret: str, secrets: Secrets):
    """
    Ensure the secrets file holds an API key the app accepts, named ``label`` in the app: the stored key is
    checked with one call; if the app refuses it (or there is none), the app's key of that name is stored when
    the app shows keys (Jellyfin, autobrr, TubeArchivist), else a new one is made (Audiobookshelf, which shows a
    key only once, replaces its old one of that name).

    + app: the app's connection
    + label: the key's name in the app, e.g. ``mediabox``
    + secret: its name in the secrets file, e.g. ``jellyfin_api_key``
    + secrets: the run's secrets (mediabox.secrets.Secrets)

    **Example:**

    .. code:: python

        apps.api_key(app=jellyfin, label="mediabox", secret="jellyfin_api_key", secrets=run.secrets)
    """
    if not label or not secret:
        raise OperationValueError(f"an API key needs a name in the app and in the secrets file, got {label!r} and "
                                  f"{secret!r}")
    stored = secrets.get(secret)
    if stored and app.accepts_key(stored):
        host.noop(f"{app.title} accepts its key {label!r} from the secrets file")
        return
    plan.note(f"{app.title}: {'keep its' if app.readable_key(label) else 'make an'} API key {label!r} in the "
              f"secrets file ({secret})")
    if app.readable_key(label):
        yield AppCommand(_keep_readable, (app, label, secret, secrets), {})
    else:
        yield AppCommand(_make, (app, label, secret, secrets), {})


def _keep_readable(app: MakesKeys, label: str, secret: str, secrets: Secrets) -> None:
    _keep(app, secret, secrets, app.readable_key(label) or app.make_key(label))


def _make(app: MakesKeys, label: str, secret: str, secrets: Secrets) -> None:
    _keep(app, secret, secrets, app.make_key(label))


def _keep(app: MakesKeys, secret: str, secrets: Secrets, key: str) -> None:
    try:
        secrets.keep(secret, key)
    except OSError as error:
        raise AppError(f"{app.title}: its new API key could not be stored: {error}") from None
