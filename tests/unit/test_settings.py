"""Settings validation: every user mistake gives the key, the bad value and the fix; all at once."""

from __future__ import annotations

import pytest

import lab.state as lab_state
from lab import topology
from mediabox.run import validate
from mediabox.settings import STAGES, SettingsError
from tests.settings_cases import CASES


def problems_of(inventory):
    with pytest.raises(SettingsError) as raised:
        validate(inventory)
    return raised.value.problems, str(raised.value)


def lab_docker_guests() -> list[str]:
    """lab-docker, and lab-docker2/3 while `python -m lab up --docker-guests 3` (make bench) has them."""
    return [guest["name"] for guest in topology.docker_guests(lab_state.docker_guest_count())]


def test_lab_settings_are_valid(lab_inventory):
    run = validate(lab_inventory())
    assert run.hosts_in("proxmox") == ["lab-pve"]
    assert run.hosts_in("docker_guests") == lab_docker_guests()
    guest = run.settings["lab-docker"]
    assert str(guest.guest_ip) == "10.213.0.10/24"
    assert guest.stages == STAGES


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_setting_names_key_and_fix(lab_inventory, case):
    problems, message = problems_of(lab_inventory(case.data, case.secrets, case.secrets_mode))
    named = [p for p in problems if p.key == case.key]
    assert named, f"no problem names {case.key!r}:\n{message}"
    assert any(case.fix in p.fix for p in named), message
    for text in case.extra:
        assert text in message
    assert "Traceback" not in message
    assert "nothing was changed on any host" in message


def test_every_problem_is_listed_at_once(lab_inventory):
    data = {}
    for case in CASES:
        if case.secrets is None and case.id not in ("wrong-type", "one-disk", "disk-not-by-id"):
            data.update(case.data)
    problems, message = problems_of(lab_inventory(data))
    keys = {p.key for p in problems}
    assert {"sonar_enabled", "guest_vmid", "timezone", "stages", "profile", "pool_disks",
            "service_ips['sonarr']", "docker_ip_range", "guest_gateway"} <= keys, message


def test_problem_on_every_host_is_one_line_naming_them(lab_inventory):
    problems, _ = problems_of(lab_inventory({"timezone": "Nowhere/Land"}))
    assert len(problems) == 1
    assert problems[0].hosts == ["lab-pve", *lab_docker_guests(), "lab-nas"]


def test_secret_values_never_appear_in_messages(lab_inventory):
    problems, message = problems_of(lab_inventory({"guest_vmid": 1}, {"pve_password": "hunter2-secret"}))
    assert "hunter2-secret" not in message


def test_guest_must_be_reached_at_its_own_address(lab_inventory):
    problems, _ = problems_of(lab_inventory({"ssh_hostname": "10.213.0.99"}))
    assert any(p.key == "ssh_hostname" and "differs from guest_ip 10.213.0.10" in p.message for p in problems)


def test_docker_subnet_may_not_overlap_the_lan(lab_inventory):
    problems, _ = problems_of(lab_inventory({"docker_subnet": "10.213.0.0/16", "docker_ip_range": "10.213.128.0/17"}))
    assert any(p.key == "docker_subnet" and "overlaps the LAN" in p.message for p in problems)


def test_profile_16gb_sizes_the_guest_and_fits(lab_inventory):
    run = validate(lab_inventory({"profile": "16gb"}))
    guest = run.settings["lab-docker"]
    assert guest.enabled("tubearchivist") and guest.enabled("ipfs")
    assert guest.memory_plan().total_mb <= guest.guest_memory == 12288


def test_tubearchivist_on_8gb_is_refused_with_the_table(lab_inventory):
    data = {f"{name}_enabled": True for name in ("tubearchivist", "tubearchivist_es", "tubearchivist_redis")}
    problems, message = problems_of(lab_inventory(data))
    (memory,) = [p for p in problems if p.key == "guest_memory_mb"]
    for line in ("tubearchivist_es", "guest system + docker", "total", "available"):
        assert line in memory.message
    assert "6144 MB" in memory.message
