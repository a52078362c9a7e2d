"""What a failed update rolls back and how it reports it (mediabox.rollback), from compose files and
`docker inspect` output as Docker prints them."""

import json

from mediabox import rollback

PREVIOUS = """name: mediabox
services:
  sonarr:
    image: lscr.io/linuxserver/sonarr:4.0.15
    labels: {mediabox.service: sonarr}
  radarr:
    image: lscr.io/linuxserver/radarr:5.26.2
    labels: {mediabox.service: radarr}
"""
CURRENT = PREVIOUS.replace("sonarr:4.0.15", "sonarr:4.1.0") + """  lidarr:
    image: lscr.io/linuxserver/lidarr:2.12.4
    labels: {mediabox.service: lidarr}
"""


def container(service, status, health=None, log=(), exit_code=0):
    state = {"Status": status, "ExitCode": exit_code}
    if health:
        state["Health"] = {"Status": health, "Log": [{"Output": line} for line in log]}
    return {"Name": f"/{service}", "Config": {"Labels": {"com.docker.compose.service": service}}, "State": state}


def test_only_services_in_both_projects_whose_image_moved_are_rolled_back():
    assert rollback.image_changes(PREVIOUS, CURRENT) == {
        "sonarr": ("sonarr", "lscr.io/linuxserver/sonarr:4.0.15", "lscr.io/linuxserver/sonarr:4.1.0")}
    assert rollback.image_changes(PREVIOUS, PREVIOUS) == {}


def test_failing_names_each_container_not_running_healthy_with_why():
    inspected = json.dumps([
        container("sonarr", "running", "unhealthy", ["first", "curl: (7) Failed to connect to localhost port 8989"]),
        container("radarr", "running", "healthy"),
        container("redis", "running"),
        container("lidarr", "exited", exit_code=137),
        container("prowlarr", "created"),
        container("readarr", "running", "starting"),  # compose's --wait-timeout ran out: exit code 0 all the same
    ])
    assert rollback.failing(inspected) == {
        "sonarr": "unhealthy (last check: curl: (7) Failed to connect to localhost port 8989)",
        "lidarr": "exited with code 137", "prowlarr": "created", "readarr": "starting"}
    assert rollback.failing("") == {}


def test_the_report_says_why_what_was_rolled_back_and_whether_it_runs_again():
    changed = rollback.image_changes(PREVIOUS, CURRENT)
    text = rollback.report(60, {"sonarr": "unhealthy"}, True, changed, "appdata-2026-12-04T200000", None)
    assert "did not become healthy within 60 s: sonarr unhealthy" in text
    assert "sonarr lscr.io/linuxserver/sonarr:4.0.15 -> lscr.io/linuxserver/sonarr:4.1.0" in text
    assert "Appdata of sonarr restored from appdata-2026-12-04T200000" in text
    assert "The previous images run again, healthy" in text and "Fix:" in text
    worse = rollback.report(60, {"sonarr": "unhealthy"}, True, {}, None, {"radarr": "exited with code 1"})
    assert "Appdata" not in worse and "The rollback did not become healthy either: radarr exited with code 1" in worse
    same = rollback.report(60, {"radarr": "exited with code 1"}, False, {}, None, None)
    assert "nothing to roll back" in same and "It is healthy again" in same and "undoing" not in same
