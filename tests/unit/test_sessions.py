"""Sessions kept between runs (mediabox.sessions): private like the secrets file, found only by the same app, user
and password, and never trusted from a damaged or shared file. The lab tier (tests/lab/test_wire.py) checks them
against the real qBittorrent."""

import json
import os
import stat
import time

from mediabox.sessions import KEPT_S, Sessions

URL, USER = "http://10.0.0.10:8080", "admin"


def test_kept_cookies_come_back_for_the_same_app_user_and_password_only(tmp_path):
    sessions = Sessions.beside(tmp_path / "secrets.yml")
    sessions.keep(URL, USER, "pw", {"SID": "abc"})
    assert sessions.path == tmp_path / "secrets.sessions.json"
    assert sessions.cookies(URL, USER, "pw") == {"SID": "abc"}
    assert sessions.cookies(f"{URL}/", USER, "pw") == {"SID": "abc"}
    assert sessions.cookies(URL, USER, "another") == {}
    assert sessions.cookies(URL, "root", "pw") == {}
    assert sessions.cookies("http://10.0.0.11:8080", USER, "pw") == {}


def test_the_file_is_private_and_holds_no_password(tmp_path):
    sessions = Sessions(tmp_path / "private" / "s.json")
    sessions.keep(URL, USER, "hunter2-secret", {"SID": "abc"})
    assert stat.S_IMODE(sessions.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(sessions.path.parent.stat().st_mode) == 0o700
    assert "hunter2-secret" not in sessions.path.read_text()


def test_a_second_app_is_kept_beside_the_first_and_a_new_login_replaces_its_own(tmp_path):
    sessions = Sessions(tmp_path / "s.json")
    sessions.keep(URL, USER, "pw", {"SID": "one"})
    sessions.keep("http://10.0.0.11:8080", USER, "pw", {"SID": "two"})
    sessions.keep(URL, USER, "pw", {"SID": "three"})
    assert sessions.cookies(URL, USER, "pw") == {"SID": "three"}
    assert sessions.cookies("http://10.0.0.11:8080", USER, "pw") == {"SID": "two"}


def test_an_entry_older_than_a_day_is_dropped_when_the_file_is_written(tmp_path):
    sessions = Sessions(tmp_path / "s.json")
    sessions.keep(URL, USER, "old", {"SID": "stale"})
    entries = json.loads(sessions.path.read_text())
    for entry in entries.values():
        entry["at"] -= KEPT_S + 1
    sessions.path.write_text(json.dumps(entries))
    sessions.keep(URL, USER, "new", {"SID": "fresh"})
    assert sessions.cookies(URL, USER, "old") == {} and sessions.cookies(URL, USER, "new") == {"SID": "fresh"}
    assert len(json.loads(sessions.path.read_text())) == 1


def test_a_damaged_or_shared_file_keeps_nothing_and_is_written_again_private(tmp_path):
    sessions = Sessions(tmp_path / "s.json")
    assert sessions.cookies(URL, USER, "pw") == {}  # no file yet
    for damaged in ("{not json", "[1, 2]", json.dumps({"k": "v"}),
                    json.dumps({"k": {"cookies": ["SID"], "at": time.time()}}),
                    json.dumps({"k": {"cookies": {"SID": "x"}, "at": "yesterday"}})):
        sessions.path.write_text(damaged)
        os.chmod(sessions.path, 0o600)
        assert sessions.cookies(URL, USER, "pw") == {}
    sessions.keep(URL, USER, "pw", {"SID": "abc"})  # over the last damaged file
    assert sessions.cookies(URL, USER, "pw") == {"SID": "abc"}
    os.chmod(sessions.path, 0o644)
    assert sessions.cookies(URL, USER, "pw") == {}
    sessions.keep(URL, USER, "pw", {"SID": "def"})
    assert stat.S_IMODE(sessions.path.stat().st_mode) == 0o600 and sessions.cookies(URL, USER, "pw") == {"SID": "def"}


def test_a_file_that_cannot_be_written_costs_a_login_not_the_run(tmp_path):
    (tmp_path / "taken").write_text("a file where the sessions' folder would be")
    sessions = Sessions(tmp_path / "taken" / "s.json")
    sessions.keep(URL, USER, "pw", {"SID": "abc"})
    assert sessions.cookies(URL, USER, "pw") == {}
