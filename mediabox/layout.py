"""The pool's layout: three subvolumes, and ONE data subvolume holding downloads and media, so
imports are hard links (they fail across subvolumes and mounts)."""

from __future__ import annotations

SUBVOLUMES = ("appdata", "data", "snapshots")
MOUNT_OPTIONS = ["noatime", "compress=zstd:3", "space_cache=v2"]  # as the kernel reports them back
MAINTENANCE_JOBS = ("scrub", "snapshot", "diskcheck")  # each a mediabox-<job>.timer on the host
CATEGORIES = ("tv", "movies", "music", "books", "comics")  # download client categories
LIBRARIES = ("movies", "tv", "music", "books", "audiobooks", "podcasts", "comics", "youtube")
# An opt-in app that none of those suits gets a category and a library folder of its own, only when enabled.
OPT_IN = {"whisparr": "adult"}


def categories(services) -> list[str]:
    """The download categories for these enabled services (names)."""
    return [*CATEGORIES, *(folder for name, folder in OPT_IN.items() if name in services)]


def data_dirs(mount: str, services=()) -> list[str]:
    """data/ and its tree for these enabled services (names), parents first."""
    data = f"{mount}/data"
    downloads = [f"{data}/downloads", f"{data}/downloads/incomplete", f"{data}/downloads/complete"]
    downloads += [f"{data}/downloads/complete/{c}" for c in categories(services)]
    libraries = [*LIBRARIES, *(folder for name, folder in OPT_IN.items() if name in services)]
    return [data, *downloads, f"{data}/media", *[f"{data}/media/{lib}" for lib in libraries]]


def appdata_dirs(mount: str, services: list[str]) -> list[str]:
    """appdata/ and one folder per service, parents first."""
    return [f"{mount}/appdata", *[f"{mount}/appdata/{name}" for name in sorted(services)]]
