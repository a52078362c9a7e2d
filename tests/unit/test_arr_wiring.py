"""The Servarr wiring operations against stateful fakes that validate every request and response against
the apps' published OpenAPI specs: a fresh app gets its root folders and qBittorrent client, a second pass
sends no write, drift is healed, the masked password is never written back as a value; Prowlarr's
application is tested by Prowlarr against the Sonarr fake itself, so a wrong stored key is found and
replaced; an app down while pyinfra prepares is "will change", not a wait."""

from __future__ import annotations

import pytest
from pyinfra.api import FunctionCommand
from pyinfra.context import ctx_host, ctx_state

from lab.fakes.servarr import ServarrFake
from mediabox.arr import MASK, Connection
from operations import arr
from tests.test_operations import FakeHost, empty_state

KEY = "0123456789abcdef0123456789abcdef"
FOLDERS = ["/data/media/tv"]
FIELDS = {"host": "gluetun", "port": 8080, "useSsl": False, "username": "admin", "password": "qbt-secret",
          "tvCategory": "tv"}


@pytest.fixture
def sonarr():
    fake = ServarrFake("sonarr", api_key=KEY, connection_checks=False)
    url = fake.start()
    yield fake, Connection("Sonarr", url, KEY, ready_timeout_s=5)
    fake.stop()
    assert fake.invalid == [], fake.invalid


def apply(operation, **kwargs) -> tuple[int, str | None]:
    """Run an operation as pyinfra would: its body, then its FunctionCommands. Returns (commands, noop)."""
    fake_host = FakeHost({})
    state = empty_state()
    state.is_executing = True  # as with -y: the body runs once, at execute
    with ctx_state.use(state), ctx_host.use(fake_host):
        commands = list(operation._inner(**kwargs))
    for command in commands:
        assert isinstance(command, FunctionCommand)
        command.function(*command.args, **command.kwargs)
    return len(commands), fake_host.noop_description


def test_fresh_app_gets_folders_and_client_then_no_writes(sonarr):
    fake, app = sonarr
    assert apply(arr.root_folders, app=app, paths=FOLDERS)[0] == 1
    assert apply(arr.download_client, app=app, label="qBittorrent", fields=FIELDS)[0] == 1
    assert [f["path"] for f in fake.state["rootfolder"]] == FOLDERS
    stored = {f["name"]: f["value"] for f in fake.state["downloadclient"][0]["fields"]}
    assert stored["host"] == "gluetun" and stored["password"] == "qbt-secret" and stored["tvCategory"] == "tv"
    writes = len(fake.writes)
    assert apply(arr.root_folders, app=app, paths=FOLDERS) == (0, "Sonarr has its root folder(s) /data/media/tv")
    assert apply(arr.download_client, app=app, label="qBittorrent", fields=FIELDS)[0] == 0
    assert len(fake.writes) == writes


def test_drift_is_healed_and_the_mask_keeps_the_stored_password(sonarr):
    fake, app = sonarr
    apply(arr.root_folders, app=app, paths=FOLDERS)
    apply(arr.download_client, app=app, label="qBittorrent", fields=FIELDS)
    fake.state["rootfolder"].clear()
    next(f for f in fake.state["downloadclient"][0]["fields"] if f["name"] == "tvCategory")["value"] = "tv-sonarr"
    assert apply(arr.root_folders, app=app, paths=FOLDERS)[0] == 1
    assert apply(arr.download_client, app=app, label="qBittorrent", fields=FIELDS)[0] == 1
    stored = {f["name"]: f["value"] for f in fake.state["downloadclient"][0]["fields"]}
    assert stored["tvCategory"] == "tv" and stored["password"] == "qbt-secret"
    assert fake.writes[-1][0] == "PUT" and MASK not in str(stored)


def test_deleted_client_is_created_again(sonarr):
    fake, app = sonarr
    apply(arr.download_client, app=app, label="qBittorrent", fields=FIELDS)
    fake.state["downloadclient"].clear()
    assert apply(arr.download_client, app=app, label="qBittorrent", fields=FIELDS)[0] == 1
    assert len(fake.state["downloadclient"]) == 1


def test_wrong_key_and_silent_app_name_the_app(sonarr):
    fake, _ = sonarr
    wrong = Connection("Sonarr", f"http://127.0.0.1:{fake.port}", "f" * 32, ready_timeout_s=5)
    with pytest.raises(Exception, match="Sonarr at .* refuses the API key"):
        apply(arr.root_folders, app=wrong, paths=FOLDERS)
    silent = Connection("Radarr", "http://127.0.0.1:9", KEY, ready_timeout_s=1)
    with pytest.raises(Exception, match="Radarr at http://127.0.0.1:9 did not answer within 1 s"):
        apply(arr.root_folders, app=silent, paths=FOLDERS)
    assert KEY not in repr(wrong)


@pytest.fixture
def prowlarr():
    fake = ServarrFake("prowlarr", api_key=KEY[::-1])  # tests applications against the Sonarr fake for real
    url = fake.start()
    yield fake, Connection("Prowlarr", url, KEY[::-1], "v1", ready_timeout_s=5)
    fake.stop()
    assert fake.invalid == [], fake.invalid


def test_prowlarr_application_tested_against_the_app_and_a_wrong_stored_key_replaced(sonarr, prowlarr):
    sonarr_fake, _ = sonarr
    fake, app = prowlarr
    fields = {"prowlarrUrl": "http://gluetun:9696", "baseUrl": f"http://127.0.0.1:{sonarr_fake.port}", "apiKey": KEY}
    kwargs = {"app": app, "implementation": "Sonarr", "label": "Sonarr", "fields": fields,
              "top": {"syncLevel": "fullSync"}}
    assert apply(arr.application, **kwargs)[0] == 1
    assert apply(arr.application, **kwargs) == (0, "Prowlarr has application Sonarr")
    writes = len(fake.writes)
    next(f for f in fake.state["applications"][0]["fields"] if f["name"] == "apiKey")["value"] = "f" * 32
    assert apply(arr.application, **kwargs)[0] == 1  # the masked key failed Prowlarr's test against Sonarr
    assert len(fake.writes) == writes + 1
    assert next(f["value"] for f in fake.state["applications"][0]["fields"] if f["name"] == "apiKey") == KEY


def test_an_app_down_while_preparing_is_a_change_not_a_wait():
    silent = Connection("Radarr", "http://127.0.0.1:9", KEY, ready_timeout_s=300)
    fake_host = FakeHost({})
    with ctx_state.use(empty_state()), ctx_host.use(fake_host):  # prepare: not executing
        commands = list(arr.root_folders._inner(app=silent, paths=FOLDERS))
    assert len(commands) == 1 and isinstance(commands[0], FunctionCommand)
