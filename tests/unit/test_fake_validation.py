"""The app fakes check each distinct request and response against the spec once and keep the verdict: a request
the spec refuses is refused (400, recorded) every time it comes, not only the first; a response that breaks the
spec is recorded every time it is sent; a changed request is checked anew."""

from __future__ import annotations

from lab.fakes.servarr import ServarrFake

KEY = "0123456789abcdef0123456789abcdef"
HEADERS = {"X-Api-Key": KEY, "Content-Type": "application/json"}


def test_a_refused_request_is_refused_every_time():
    fake = ServarrFake("sonarr", api_key=KEY, connection_checks=False)
    bad = b'{"path": 5}'
    first = fake.handle("POST", "/api/v3/rootfolder", HEADERS, bad)
    again = fake.handle("POST", "/api/v3/rootfolder", HEADERS, bad)
    assert first[0] == again[0] == 400
    assert first[1] == again[1]
    assert len(fake.invalid) == 2 and fake.invalid[0] == fake.invalid[1], fake.invalid
    assert fake.state.get("rootfolder", []) == [] and fake.writes == []

    good = fake.handle("POST", "/api/v3/rootfolder", HEADERS, b'{"path": "/data/media/tv"}')
    assert good[0] == 201 and len(fake.invalid) == 2


def test_a_response_that_breaks_the_spec_is_recorded_every_time():
    class Broken(ServarrFake):
        def route(self, method, path, query, body):
            return 200, {"not": "a list of root folders"}

    fake = Broken("sonarr", api_key=KEY, connection_checks=False)
    for _ in range(2):
        assert fake.handle("GET", "/api/v3/rootfolder", HEADERS, b"")[0] == 200
    assert len(fake.invalid) == 2 and fake.invalid[0].startswith("response GET /api/v3/rootfolder 200"), fake.invalid


def test_a_valid_exchange_stays_valid_when_repeated():
    fake = ServarrFake("sonarr", api_key=KEY, connection_checks=False)
    answers = [fake.handle("GET", "/api/v3/downloadclient", HEADERS, b"") for _ in range(3)]
    assert [status for status, *_ in answers] == [200] * 3 and fake.invalid == []
