"""The benchmark's bookkeeping (bench/__main__.py), without the lab: which HTTP calls count as writes, a table
that says what was not measured and which goals were met, and a ratio of paired runs that a drift between pairs
does not move."""

import statistics

import pytest

from bench.__main__ import NotMeasured, changed_operations, kind, paired_ratio, table


def test_only_calls_that_change_state_are_writes():
    assert kind("http GET /api/v3/downloadclient") == "read"
    assert kind("http HEAD ") == "read"
    for post in ("/api2/json/access/ticket", "/api/v2/auth/login", "/Users/AuthenticateByName", "/login",
                 "/api/v3/downloadclient/test", "/api/download_clients/test"):
        assert kind(f"http POST {post}") == "post_changing_nothing", post
    assert kind("http POST /api/v3/downloadclient") == "write"
    assert kind("http PUT /api/v3/config/host/1") == "write"
    assert kind("http DELETE /api/v3/rootfolder/1") == "write"


def test_the_table_marks_goals_and_says_what_was_not_measured():
    results = {"first_converge_s": 64.2, "noop_s": 8.9, "floor_s": 0.9, "ratio": 9.9, "noop_writes": 0,
               "noop_remote_commands": 134, "noop_api_reads": 63, "noop_api_posts_changing_nothing": 16,
               "services_ratio": 1.1, "hosts3_ratio": None, "not_measured": {"hosts3_ratio": "one guest"},
               "machine": "a machine", "date": "2026-12-04"}
    text = table(results)
    assert "| ratio | 9.9 (missed) | <= 3 |" in text and "| noop_writes | 0 (met) | == 0 |" in text
    assert "| hosts3_ratio | not measured: one guest | <= 1.3 |" in text
    assert text.endswith("Measured 2026-12-04 on a machine.\n")


def test_changed_operations_are_read_from_the_results_table_or_not_measured():
    table_text = ("--> Results:\n    Operation   Hosts   Success   Error   No Change\n"
                  "    Grand total                      87      4         -       83\n")
    assert changed_operations(table_text) == 4
    assert changed_operations(table_text.replace(" 4 ", " - ")) == 0
    with pytest.raises(NotMeasured):
        changed_operations("--> Disconnecting from hosts...\n")


def test_a_paired_ratio_cancels_a_drift_between_pairs():
    # The machine slows down by half after the second pair; each pair's ratio stays 1.5.
    pairs = [(2.0, 3.0), (2.0, 3.0), (3.0, 4.5), (3.0, 4.5), (3.0, 4.5)]
    assert paired_ratio(pairs) == pytest.approx(1.5)
    assert statistics.median(b for _, b in pairs) / statistics.median(a for a, _ in pairs) == pytest.approx(1.5)
    drifting = [(2.0, 3.0), (2.0, 3.0), (2.1, 4.5), (3.0, 4.5), (3.0, 4.5)]
    assert paired_ratio(drifting) == pytest.approx(1.5)
    assert statistics.median(b for _, b in drifting) / statistics.median(a for a, _ in drifting) > 2


def test_measured_deploys_run_with_the_products_health_check_interval_not_the_labs(monkeypatch):
    import runpy

    import bench.__main__ as bench
    from inventory import lab as lab_inventory

    runs = []
    monkeypatch.setattr(bench, "pyinfra", lambda *args, data=None: runs.append((args, data)) or {
        "seconds": 1.0, "output": "    Grand total   10   -   -   10", "asked": {}})
    bench.deploy({"sonarr_enabled": True}, limit=("--limit", "lab-docker"))
    default = runpy.run_path("group_data/all.py")["health_check_interval_s"]
    assert runs == [(("--limit", "lab-docker", "deploy.py"),
                     {"health_check_interval_s": default, "sonarr_enabled": True})]
    assert default != lab_inventory.docker_guests[0][1]["health_check_interval_s"]
