"""qBittorrent: its password hash (to seed qBittorrent.conf before the first start), and a connection
for the wiring stage that goes on with the session an earlier run kept (mediabox.sessions) or logs in once,
waits a bounded time for the WebUI, and never probes passwords (five failures ban the address for an hour)."""

from __future__ import annotations

import base64
import hashlib
import os
import time

import qbittorrentapi
import requests

from mediabox.apps import AppError, NotUpYet, preparing
from mediabox.sessions import Sessions

# src/base/utils/password.cpp: PBKDF2-HMAC-SHA512, 100000 rounds, 16-byte salt, 64-byte key.
ROUNDS, SALT_BYTES, KEY_BYTES = 100_000, 16, 64


def password_hash(password: str, salt: bytes | None = None) -> str:
    """The WebUI\\Password_PBKDF2 value qBittorrent keeps for a password: '@ByteArray(<salt>:<key>)'."""
    salt = salt if salt is not None else os.urandom(SALT_BYTES)
    key = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, ROUNDS, KEY_BYTES)
    return f"@ByteArray({base64.b64encode(salt).decode()}:{base64.b64encode(key).decode()})"


class Connection:
    """A logged-in qBittorrent WebUI client, made on first use (so the deploy can hand it to operations
    before the app runs). With `sessions`, a session kept by an earlier run is used while qBittorrent still
    accepts it, and a new login's session is kept. repr() never shows the password."""

    def __init__(self, url: str, username: str, password: str, ready_timeout_s: int = 120,
                 sessions: Sessions | None = None):
        self.url, self.username, self._password, self.ready_timeout_s = url, username, password, ready_timeout_s
        self.sessions = sessions
        self._client: qbittorrentapi.Client | None = None

    def __repr__(self) -> str:
        return f"qbt.Connection({self.url}, user={self.username})"

    @property
    def client(self) -> qbittorrentapi.Client:
        if self._client is None:
            self._client = self._log_in()
        return self._client

    def _log_in(self) -> qbittorrentapi.Client:
        client = qbittorrentapi.Client(host=self.url, username=self.username, password=self._password,
                                       REQUESTS_ARGS={"timeout": 15}, DISABLE_LOGGING_DEBUG_OUTPUT=True,
                                       FORCE_SCHEME_FROM_HOST=True)
        kept = self.sessions.cookies(self.url, self.username, self._password) if self.sessions else {}
        _cookie_jar(client).update(kept)
        deadline = time.monotonic() + self.ready_timeout_s
        while True:
            try:
                if kept:
                    # One read. qBittorrent answers a session it no longer knows with a 403, which is no failed
                    # login (no step toward a ban); qbittorrent-api then logs in, in a new HTTP session.
                    client.app_version()
                else:
                    client.auth_log_in()
                cookies = requests.utils.dict_from_cookiejar(_cookie_jar(client))
                if self.sessions and cookies != kept:
                    self.sessions.keep(self.url, self.username, self._password, cookies)
                return client
            except qbittorrentapi.LoginFailed:
                raise AppError(f"qBittorrent at {self.url} refuses user {self.username} with the password in the "
                               "secrets file (qbittorrent_password). It was seeded into qBittorrent.conf only if that "
                               "file did not exist yet. Fix: set the same password in qBittorrent's WebUI, or stop "
                               "qbittorrent, delete the WebUI\\Password_PBKDF2 line from "
                               "/appdata/qbittorrent/qBittorrent/qBittorrent.conf and run the deploy again. "
                               "Nothing was retried: five failed logins ban this address for an hour.") from None
            except qbittorrentapi.Forbidden403Error:
                raise AppError(f"qBittorrent at {self.url} refuses this address (403 on login: it bans an address "
                               "for an hour after five failed logins). Wait for the ban to end, or restart the "
                               "qbittorrent container, then run the deploy again.") from None
            except qbittorrentapi.APIConnectionError as error:
                if preparing():
                    raise NotUpYet(f"qBittorrent at {self.url}") from None
                if time.monotonic() >= deadline:
                    raise AppError(f"qBittorrent at {self.url} did not answer within {self.ready_timeout_s} s "
                                   f"({error}). Check `docker compose ps` and `docker logs qbittorrent` in the guest; "
                                   "the gluetun container must be healthy for it to be reachable.") from None
                time.sleep(2)

    def call(self, what: str, function, *args, **kwargs):
        """An API call whose failure names qBittorrent and the call."""
        try:
            return function(*args, **kwargs)
        except qbittorrentapi.APIError as error:
            raise AppError(f"qBittorrent at {self.url}: {what} failed: {error!r}") from None


def _cookie_jar(client: qbittorrentapi.Client) -> requests.cookies.RequestsCookieJar:
    """The cookies of the client's HTTP session. qbittorrent-api (pinned) has no public way to hand it a session
    cookie: it keeps its requests.Session as `_session` and replaces it when it first builds its URL (with
    FORCE_SCHEME_FROM_HOST, without a request), so the URL is built first."""
    client._url.build_base_url(headers={}, requests_kwargs={})
    return client._session.cookies
