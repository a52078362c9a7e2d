"""autobrr's wiring against its stateful fake (validated against the spec written from autobrr's source): a
fresh autobrr gets its user and its download clients, a second pass sends no write, a redacted secret is never
written back as the redaction, and a client whose stored key fails autobrr's own test (run against the Sonarr
fake for real) is written again; a wrong password names autobrr and the fix."""

from __future__ import annotations

import pytest

from lab.fakes.autobrr import REDACTED, AutobrrFake
from lab.fakes.servarr import ServarrFake
from mediabox.apps import AppError
from mediabox.autobrr import Connection
from operations import autobrr
from tests.unit.test_arr_wiring import apply

SONARR_KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def sonarr():
    fake = ServarrFake("sonarr", api_key=SONARR_KEY, connection_checks=False)
    url = fake.start()
    yield url
    fake.stop()


@pytest.fixture
def autobrr_fake():
    fake = AutobrrFake()  # tests the Sonarr client against the Sonarr fake
    url = fake.start()
    yield fake, Connection(url, "admin", "autobrr-secret", ready_timeout_s=5)
    fake.stop()
    assert fake.invalid == [], fake.invalid


def sonarr_client(url: str, key: str = SONARR_KEY) -> dict:
    return {"type": "SONARR", "enabled": True, "host": url, "settings": {"apikey": key}}


def test_fresh_autobrr_gets_its_user_and_client_then_no_writes(autobrr_fake, sonarr):
    fake, connection = autobrr_fake
    assert apply(autobrr.user, autobrr=connection)[0] == 1
    assert fake.state["user"] == {"username": "admin", "password": "autobrr-secret"}
    assert apply(autobrr.download_client, autobrr=connection, label="Sonarr", wanted=sonarr_client(sonarr))[0] == 1
    (client,) = fake.state["clients"]
    assert client["settings"]["apikey"] == SONARR_KEY and client["host"] == sonarr
    writes = len(fake.writes)
    assert apply(autobrr.user, autobrr=connection) == (0, "autobrr has its user")
    assert apply(autobrr.download_client, autobrr=connection, label="Sonarr", wanted=sonarr_client(sonarr)) == \
        (0, "autobrr has download client Sonarr")
    assert len(fake.writes) == writes


def test_a_stale_stored_key_fails_autobrrs_test_and_is_written_again(autobrr_fake, sonarr):
    fake, connection = autobrr_fake
    apply(autobrr.user, autobrr=connection)
    apply(autobrr.download_client, autobrr=connection, label="Sonarr", wanted=sonarr_client(sonarr))
    fake.state["clients"][0]["settings"]["apikey"] = "f" * 32
    assert apply(autobrr.download_client, autobrr=connection, label="Sonarr", wanted=sonarr_client(sonarr))[0] == 1
    stored = fake.state["clients"][0]
    assert stored["settings"]["apikey"] == SONARR_KEY and REDACTED not in str(stored)
    assert fake.writes[-1] == ("PUT", "/api/download_clients")


def test_a_client_that_cannot_work_stops_the_run_with_autobrrs_reason(autobrr_fake, sonarr):
    fake, connection = autobrr_fake
    apply(autobrr.user, autobrr=connection)
    with pytest.raises(AppError, match="its download client Sonarr is saved, but autobrr's test of it fails: "
                                       "sonarr: connection test failed: .*unauthorized"):
        apply(autobrr.download_client, autobrr=connection, label="Sonarr",
              wanted=sonarr_client(sonarr, key="e" * 32))


def test_a_wrong_password_names_autobrr_and_the_fix(autobrr_fake):
    fake, connection = autobrr_fake
    apply(autobrr.user, autobrr=connection)
    wrong = Connection(connection.url, "admin", "not-the-password", ready_timeout_s=5)
    with pytest.raises(AppError, match="autobrr at .* refuses user admin .*autobrr_password") as refused:
        wrong.get("/api/download_clients")
    assert "not-the-password" not in str(refused.value) and "not-the-password" not in repr(wrong)
