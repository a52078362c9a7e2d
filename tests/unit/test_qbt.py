"""qBittorrent's password hash, as qBittorrent.conf keeps it (the lab tier logs in with a seeded one)."""

import base64
import hashlib
import hmac

from mediabox.qbt import KEY_BYTES, ROUNDS, Connection, password_hash


def password_matches(password: str, stored: str) -> bool:
    """Check a password against a stored hash the way qBittorrent does (src/base/utils/password.cpp)."""
    inner = stored.strip('"').removeprefix("@ByteArray(").removesuffix(")")
    salt, _, key = inner.partition(":")
    try:
        expected = hashlib.pbkdf2_hmac("sha512", password.encode(), base64.b64decode(salt), ROUNDS, KEY_BYTES)
        return hmac.compare_digest(expected, base64.b64decode(key))
    except ValueError:
        return False


def test_hash_has_qbittorrents_shape_and_verifies():
    stored = password_hash("s3cret", salt=b"\x00" * 16)
    salt, key = stored.removeprefix("@ByteArray(").removesuffix(")").split(":")
    assert len(base64.b64decode(salt)) == 16 and len(base64.b64decode(key)) == 64
    assert password_matches("s3cret", stored) and password_matches("s3cret", f'"{stored}"')
    assert not password_matches("S3cret", stored) and not password_matches("s3cret", "@ByteArray(garbage)")


def test_every_hash_has_its_own_salt():
    assert password_hash("same") != password_hash("same")


def test_connection_never_shows_the_password():
    connection = Connection("http://10.0.0.1:8080", "admin", "hunter2-secret")
    assert "hunter2-secret" not in repr(connection) and "hunter2-secret" not in str(connection)


def test_a_banned_address_is_told_so_at_once():
    """qBittorrent answers 403 to a login from an address it banned: one attempt, and the message says why."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    import pytest

    from mediabox.apps import AppError

    logins = []

    class Banned(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            logins.append(self.path)
            self.send_response(403)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST

    server = HTTPServer(("127.0.0.1", 0), Banned)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        connection = Connection(f"http://127.0.0.1:{server.server_address[1]}", "admin", "pw", ready_timeout_s=60)
        with pytest.raises(AppError, match="refuses this address .* bans an address"):
            _ = connection.client
        assert logins == ["/api/v2/auth/login"]
    finally:
        server.shutdown()
        server.server_close()
