"""Sessions kept between runs, for an app whose only credential is a password it checks with a deliberately slow
hash on every login (qBittorrent before 5.2: PBKDF2-HMAC-SHA512, 100,000 rounds; ~0.1 s of CPU on the lab's Xeon,
more on an N3450). The session cookies it gave are kept in a file next to the secrets file, 0600 like
it (a session is a credential), under a digest of the app's URL, the user and the password: another app, another
user or a changed password never finds them. A run within the app's session timeout (qBittorrent: an hour since the
session was last used) goes on with them instead of logging in; an entry not written for a day is dropped."""

from __future__ import annotations

import hashlib
import json
import stat
import time
from pathlib import Path

from mediabox.secrets import write_private

KEPT_S = 86_400


class Sessions:
    def __init__(self, path: Path):
        self.path = path

    @classmethod
    def beside(cls, secrets_file: Path) -> Sessions:
        """The sessions kept next to a secrets file: secrets.yml -> secrets.sessions.json."""
        return cls(secrets_file.with_name(f"{secrets_file.stem}.sessions.json"))

    def cookies(self, url: str, username: str, password: str) -> dict[str, str]:
        """The cookies kept for this app, user and password, or {}."""
        kept = self._read().get(_key(url, username, password), {}).get("cookies")
        return {str(name): str(value) for name, value in kept.items()} if isinstance(kept, dict) else {}

    def keep(self, url: str, username: str, password: str, cookies: dict[str, str]) -> None:
        now = int(time.time())
        entries = {key: entry for key, entry in self._read().items() if entry["at"] > now - KEPT_S}
        entries[_key(url, username, password)] = {"cookies": dict(cookies), "at": now}
        try:
            write_private(self.path, json.dumps(entries, indent=1, sort_keys=True) + "\n")
        except OSError:
            pass  # a session not kept costs the next run one login, nothing else

    def _read(self) -> dict[str, dict]:
        """The kept entries; a missing, unreadable or damaged file, or one others may read, keeps none (it is
        written again, 0600, at the next login)."""
        try:
            if stat.S_IMODE(self.path.stat().st_mode) & 0o077:
                return {}
            entries = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        if not isinstance(entries, dict):
            return {}
        return {key: entry for key, entry in entries.items()
                if isinstance(entry, dict) and isinstance(entry.get("at"), (int, float))}


def _key(url: str, username: str, password: str) -> str:
    return hashlib.sha256("\0".join((url.rstrip("/"), username, password)).encode()).hexdigest()
