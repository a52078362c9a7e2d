"""`python3 -m fakes` in the lab's appfake image: serve the app named by FAKE_APP on FAKE_PORT, its state and
config.xml in FAKE_CONFIG_DIR (default /config, the app's own volume)."""

import os
import signal
import sys

from .audiobookshelf import AudiobookshelfFake
from .autobrr import AutobrrFake
from .jellyfin import JellyfinFake
from .seerr import SeerrFake
from .servarr import PROFILES, ServarrFake
from .tubearchivist import TubeArchivistFake

OTHERS = {"jellyfin": JellyfinFake, "seerr": SeerrFake, "audiobookshelf": AudiobookshelfFake, "autobrr": AutobrrFake,
          "tubearchivist": TubeArchivistFake}
APPS = (*PROFILES, *OTHERS)


def main() -> int:
    app, port = os.environ.get("FAKE_APP", ""), os.environ.get("FAKE_PORT", "")
    if app not in APPS or not port.isdigit():
        print(f"fakes: set FAKE_APP (one of {', '.join(APPS)}) and FAKE_PORT", file=sys.stderr)
        return 2
    # PID 1 gets no default signal actions: without these `docker stop` waits its full timeout.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: os._exit(0))
    config_dir = os.environ.get("FAKE_CONFIG_DIR", "/config")
    fake = OTHERS[app](config_dir) if app in OTHERS else ServarrFake(app, config_dir=config_dir)
    print(f"fakes: {fake.name} on port {port}", file=sys.stderr, flush=True)
    fake.serve_forever(int(port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
