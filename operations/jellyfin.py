"""Operations on Jellyfin's API: the startup wizard (an administrator with the secrets file's password),
libraries, and hardware acceleration. Reads happen in the operation body; writes go in a FunctionCommand."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import OperationValueError, operation

from mediabox import plan
from mediabox.apps import AppCommand, deferred_while_down, missing_libraries
from mediabox.jellyfin import Connection

COLLECTION_TYPES = ("movies", "tvshows", "music", "musicvideos", "homevideos", "boxsets", "books", "mixed")


@operation()
@deferred_while_down
def startup_wizard(jellyfin: Connection, culture: str = "en-US", country: str = "US", language: str = "en"):
    """
    Complete Jellyfin's startup wizard on a fresh server: language and metadata country, the first user
    renamed to the connection's user with its password (an administrator), remote access on without UPnP.
    A server whose wizard is done is left alone (the password is then checked by logging in).

    + jellyfin: the connection (mediabox.jellyfin.Connection), holding the administrator's name and password
    + culture, country, language: the wizard's first page, e.g. ``en-US``, ``US``, ``en``

    **Example:**

    .. code:: python

        jellyfin.startup_wizard(jellyfin=connection, culture="de-DE", country="DE", language="de")
    """
    if not culture or len(country) != 2 or not language:
        raise OperationValueError(f"the startup wizard needs a culture, a two-letter country and a language, got "
                                  f"{culture!r}, {country!r}, {language!r}")
    if jellyfin.public_info().get("StartupWizardCompleted"):
        host.noop("Jellyfin's startup wizard is done")
        return
    plan.note(f"Jellyfin: run the startup wizard ({culture}, {country}, {language})")
    yield AppCommand(_run_wizard, (jellyfin, culture, country, language), {})


def _run_wizard(jellyfin: Connection, culture: str, country: str, language: str) -> None:
    jellyfin.startup("POST", "Configuration", {"UICulture": culture, "MetadataCountryCode": country,
                                               "PreferredMetadataLanguage": language})
    jellyfin.startup("GET", "User")  # the server makes its first user here
    jellyfin.startup("POST", "User", jellyfin.administrator())
    jellyfin.startup("POST", "RemoteAccess", {"EnableRemoteAccess": True, "EnableAutomaticPortMapping": False})
    jellyfin.startup("POST", "Complete")


@operation()
@deferred_while_down
def libraries(jellyfin: Connection, wanted: dict[str, tuple[str, str]]):
    """
    Ensure Jellyfin has these libraries: a missing one is created (without a scan: Jellyfin scans on its
    schedule); one with the name but without the folder or of another type is reported, not rebuilt (that
    would drop its metadata); libraries not listed are left alone.

    + jellyfin: the connection
    + wanted: library name -> (collection type, folder in the container), e.g.
      ``{"Movies": ("movies", "/data/media/movies")}``

    **Example:**

    .. code:: python

        jellyfin.libraries(jellyfin=connection, wanted={"Shows": ("tvshows", "/data/media/tv")})
    """
    if not wanted or any(kind not in COLLECTION_TYPES or not path.startswith("/") for kind, path in wanted.values()):
        raise OperationValueError(f"libraries need a collection type ({', '.join(COLLECTION_TYPES)}) and an "
                                  f"absolute folder, got {wanted!r}")
    current = {lib["Name"].lower(): (lib.get("CollectionType"), lib.get("Locations", []))
               for lib in jellyfin.shared("/Library/VirtualFolders")}
    missing = missing_libraries("Jellyfin", "Jellyfin's dashboard (Libraries)", wanted, current)
    if not missing:
        host.noop(f"Jellyfin has its libraries {', '.join(wanted)}")
        return
    plan.note(f"Jellyfin: add libraries {', '.join(missing)}")
    yield AppCommand(_add_libraries, (jellyfin, missing), {})


def _add_libraries(jellyfin: Connection, missing: dict[str, tuple[str, str]]) -> None:
    for name, (kind, path) in missing.items():
        jellyfin.post("/Library/VirtualFolders", {"LibraryOptions": {}}, name=name, collectionType=kind,
                      paths=path, refreshLibrary="false")


@operation()
@deferred_while_down
def encoding(jellyfin: Connection, wanted: dict):
    """
    Ensure Jellyfin's transcoding settings (the named configuration ``encoding``) have these values: read
    whole, posted back whole with only these keys changed.

    + jellyfin: the connection
    + wanted: e.g. ``{"HardwareAccelerationType": "qsv", "EnableHardwareEncoding": True}``

    **Example:**

    .. code:: python

        jellyfin.encoding(jellyfin=connection, wanted={"HardwareAccelerationType": "vaapi",
                          "VaapiDevice": "/dev/dri/renderD128"})
    """
    if not wanted:
        raise OperationValueError("encoding needs at least one key")
    current = jellyfin.get("/System/Configuration/encoding")
    differs = sorted(key for key, value in wanted.items() if current.get(key) != value)
    if not differs:
        host.noop(f"Jellyfin's transcoding settings match ({len(wanted)} keys)")
        return
    plan.show("Jellyfin transcoding", {key: (current.get(key), wanted[key]) for key in differs})
    yield AppCommand(_post_encoding, (jellyfin, {**current, **wanted}), {})


def _post_encoding(jellyfin: Connection, body: dict) -> None:
    jellyfin.post("/System/Configuration/encoding", body)
