"""Operations on Audiobookshelf's API: its root user and its libraries. Reads happen in the operation body;
writes go in a FunctionCommand."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import OperationValueError, operation

from mediabox import plan
from mediabox.apps import AppCommand, deferred_while_down, missing_libraries
from mediabox.audiobookshelf import Connection

# Each media type's metadata provider.
PROVIDERS = {"book": "audible", "podcast": "itunes"}


@operation()
@deferred_while_down
def root_user(audiobookshelf: Connection):
    """
    Make Audiobookshelf's root user on a fresh server, with the connection's user name and password; a server
    that has one is left alone (the password is then checked by logging in).

    + audiobookshelf: the connection (mediabox.audiobookshelf.Connection), holding the user and password

    **Example:**

    .. code:: python

        audiobookshelf.root_user(audiobookshelf=connection)
    """
    if not audiobookshelf.username:
        raise OperationValueError("the root user needs a name")
    if audiobookshelf.status().get("isInit"):
        host.noop("Audiobookshelf has its root user")
        return
    plan.note(f"Audiobookshelf: make the root user {audiobookshelf.username}")
    yield AppCommand(_initialize, (audiobookshelf,), {})


def _initialize(audiobookshelf: Connection) -> None:
    audiobookshelf.initialize()


@operation()
@deferred_while_down
def libraries(audiobookshelf: Connection, wanted: dict[str, tuple[str, str]]):
    """
    Ensure Audiobookshelf has these libraries: a missing one is created; one with the name but of another
    media type or without the folder is reported, not rebuilt; libraries not listed are left alone.

    + audiobookshelf: the connection
    + wanted: library name -> (media type ``book`` or ``podcast``, folder in the container), e.g.
      ``{"Audiobooks": ("book", "/audiobooks")}``

    **Example:**

    .. code:: python

        audiobookshelf.libraries(audiobookshelf=connection, wanted={"Podcasts": ("podcast", "/podcasts")})
    """
    if not wanted or any(kind not in PROVIDERS or not path.startswith("/") for kind, path in wanted.values()):
        raise OperationValueError(f"libraries need a media type (book or podcast) and an absolute folder, got "
                                  f"{wanted!r}")
    current = {lib["name"].lower(): (lib["mediaType"], [folder["fullPath"] for folder in lib["folders"]])
               for lib in audiobookshelf.get("/api/libraries")["libraries"]}
    missing = missing_libraries("Audiobookshelf", "Audiobookshelf (Settings > Libraries)", wanted, current)
    if not missing:
        host.noop(f"Audiobookshelf has its libraries {', '.join(wanted)}")
        return
    plan.note(f"Audiobookshelf: add libraries {', '.join(missing)}")
    yield AppCommand(_add_libraries, (audiobookshelf, missing), {})


def _add_libraries(audiobookshelf: Connection, missing: dict[str, tuple[str, str]]) -> None:
    for name, (kind, path) in missing.items():
        audiobookshelf.post("/api/libraries", {"name": name, "folders": [{"fullPath": path}], "mediaType": kind,
                                               "provider": PROVIDERS[kind],
                                               "icon": "audiobookshelf" if kind == "book" else "podcast"})
