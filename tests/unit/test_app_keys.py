"""The API keys the apps make themselves, against their stateful fakes: a key is made once and kept in the secrets
file (0600, nothing else in it lost), a second pass sends no write, a lost secrets file gets the app's existing
key back without a new one where the app shows its keys (Jellyfin, autobrr, TubeArchivist), and a key the app
no longer takes is replaced (Audiobookshelf, which shows a key only once, deletes the old one first)."""

from __future__ import annotations

import stat

import pytest
import yaml

from lab.fakes.audiobookshelf import AudiobookshelfFake
from lab.fakes.autobrr import AutobrrFake
from lab.fakes.jellyfin import JellyfinFake
from lab.fakes.tubearchivist import TubeArchivistFake
from mediabox import audiobookshelf, autobrr, jellyfin, tubearchivist
from mediabox.secrets import Secrets, write
from operations import apps
from operations import audiobookshelf as audiobookshelf_ops
from operations import autobrr as autobrr_ops
from operations import jellyfin as jellyfin_ops
from tests.unit.test_arr_wiring import apply

PASSWORD = "the-admin-password"


def _jellyfin(url):
    connection = jellyfin.Connection(url, "admin", PASSWORD, ready_timeout_s=5)
    apply(jellyfin_ops.startup_wizard, jellyfin=connection)
    return connection


def _audiobookshelf(url):
    connection = audiobookshelf.Connection(url, "admin", PASSWORD, ready_timeout_s=5)
    apply(audiobookshelf_ops.root_user, audiobookshelf=connection)
    return connection


def _autobrr(url):
    connection = autobrr.Connection(url, "admin", PASSWORD, ready_timeout_s=5)
    apply(autobrr_ops.user, autobrr=connection)
    return connection


def _tubearchivist(url):
    return tubearchivist.Connection(url, "admin", PASSWORD, ready_timeout_s=5)


APPS = {"jellyfin": (JellyfinFake, _jellyfin), "audiobookshelf": (AudiobookshelfFake, _audiobookshelf),
        "autobrr": (AutobrrFake, _autobrr), "tubearchivist": (TubeArchivistFake, _tubearchivist)}
SHOWS_KEYS = ("jellyfin", "autobrr", "tubearchivist")


@pytest.fixture(params=sorted(APPS))
def app(request, monkeypatch, tmp_path):
    monkeypatch.setenv("TA_USERNAME", "admin")
    monkeypatch.setenv("TA_PASSWORD", PASSWORD)
    fake_class, connect = APPS[request.param]
    fake = fake_class()
    url = fake.start()
    path = tmp_path / "secrets.yml"
    write(path, {"pve_password": "kept"})
    yield request.param, fake, connect(url), path
    fake.stop()
    assert fake.invalid == [], fake.invalid


def key_op(connection, name: str, path) -> tuple[int, str | None]:
    values = yaml.safe_load(path.read_text())
    return apply(apps.api_key, app=connection, label="mediabox", secret=f"{name}_api_key",
                 secrets=Secrets(path, values))


def test_a_key_is_made_once_and_kept_in_the_secrets_file(app):
    name, fake, connection, path = app
    assert key_op(connection, name, path)[0] == 1
    stored = yaml.safe_load(path.read_text())
    assert stored["pve_password"] == "kept" and connection.accepts_key(stored[f"{name}_api_key"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    writes = len(fake.writes)
    assert key_op(connection, name, path) == (0, f"{connection.title} accepts its key 'mediabox' from the secrets "
                                                 "file")
    assert len(fake.writes) == writes
    assert stored[f"{name}_api_key"] not in repr(connection)


def test_a_lost_secrets_file_gets_the_key_back_or_a_new_one(app):
    name, fake, connection, path = app
    key_op(connection, name, path)
    first = yaml.safe_load(path.read_text())[f"{name}_api_key"]
    write(path, {"pve_password": "kept"})  # the key is gone from the file, not from the app
    writes = len(fake.writes)
    assert key_op(connection, name, path)[0] == 1
    again = yaml.safe_load(path.read_text())[f"{name}_api_key"]
    assert connection.accepts_key(again)
    if name in SHOWS_KEYS:
        assert again == first and len(fake.writes) == writes  # read back, nothing made
    else:
        assert again != first and not connection.accepts_key(first)  # the old one was deleted, a new one made


def test_a_key_the_app_refuses_is_replaced(app):
    name, fake, connection, path = app
    write(path, {"pve_password": "kept", f"{name}_api_key": "not-a-key-this-app-made"})
    assert key_op(connection, name, path)[0] == 1
    assert connection.accepts_key(yaml.safe_load(path.read_text())[f"{name}_api_key"])
    assert not connection.accepts_key("not-a-key-this-app-made")
