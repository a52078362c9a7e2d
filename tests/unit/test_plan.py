"""The plan's lines (mediabox.plan): nested keys as dotted paths, what was never set and what goes away, and
no secret's value, ever."""

import logging

from pyinfra.context import ctx_host

from mediabox import plan


class Host:
    print_prefix = "[media] "


def lines(caplog, subject, changes):
    with caplog.at_level(logging.INFO, logger="pyinfra"), ctx_host.use(Host()):
        plan.show(subject, changes)
    return [record.getMessage() for record in caplog.records]


def test_nested_keys_are_dotted_paths_and_unset_is_said():
    current = {"services": {"sonarr": {"restart": "always", "cpus": 1.0}}, "name": "mediabox"}
    wanted = {"services": {"sonarr": {"restart": "unless-stopped", "mem_limit": "384m"}}, "name": "mediabox"}
    changes = plan.diff(current, wanted) | plan.removed(current, wanted)
    assert {key: (str(old), str(new)) for key, (old, new) in changes.items()} == {
        "services.sonarr.restart": ("always", "unless-stopped"),
        "services.sonarr.mem_limit": ("(unset)", "384m"),
        "services.sonarr.cpus": ("1.0", "(unset)")}


def test_each_change_is_one_line_and_secrets_are_never_shown(caplog):
    shown = lines(caplog, "Sonarr download client qBittorrent",
                  {"password": ("old-secret", "new-secret"), "settings.apikey": (None, "k3y"), "port": (8080, 8081),
                   "category": ("", "tv")})
    assert shown == ["[media] plan: Sonarr download client qBittorrent: category: '' -> tv",
                     "[media] plan: Sonarr download client qBittorrent: password: (secret) -> (secret)",
                     "[media] plan: Sonarr download client qBittorrent: port: 8080 -> 8081",
                     "[media] plan: Sonarr download client qBittorrent: settings.apikey: (secret) -> (secret)"]
    assert not any(secret in "".join(shown) for secret in ("old-secret", "new-secret", "k3y"))


def test_a_long_value_is_cut_with_its_length(caplog):
    (line,) = lines(caplog, "x", {"description": ("a" * 300, "b")})
    assert "... (300 chars)" in line and len(line) < 150


def test_a_proxmox_option_list_shows_only_its_options_that_differ():
    from operations.proxmox import _config_changes

    changes = _config_changes({"net0": "name=eth0,bridge=vmbr0,ip=10.0.0.5/24,hwaddr=BC:24:11:00:00:01", "cores": 1},
                              {"net0": "name=eth0,bridge=vmbr0,ip=10.0.0.6/24", "cores": 2, "mp1": "/a,mp=/b"})
    assert {key: (str(old), str(new)) for key, (old, new) in changes.items()} == {
        "net0.ip": ("10.0.0.5/24", "10.0.0.6/24"), "cores": ("1", "2"), "mp1": ("(unset)", "/a,mp=/b")}
