"""The secrets file: a YAML map on the controller, 0600, outside git.

The engine generates what it can invent (app API keys and passwords), keeps what an app makes itself
(the API keys of Jellyfin, Audiobookshelf, autobrr and TubeArchivist, stored by the wire stage), and
requires from the user what it cannot (Proxmox credentials, VPN keys). Values are never printed: Secrets
hides them in repr and problems name only the key and the file.
"""

from __future__ import annotations

import os
import secrets as _random
import stat
from pathlib import Path

import yaml

from mediabox.checks import merge
from mediabox.settings import Problem, Settings

# How each generated kind is made: *arr API keys are 32 lowercase hex characters.
_GENERATORS = {
    "api_key": lambda: _random.token_hex(16),
    "password": lambda: _random.token_urlsafe(18),
}


# The apps that make their API keys themselves (over their APIs): each instance has its own, so with more than one
# Docker guest the key is kept per guest (key_name's scope: the guest's host name).
KEYS_MADE_BY_APPS = ("jellyfin", "audiobookshelf", "autobrr", "tubearchivist")


def key_name(app: str, scope: str | None = None) -> str:
    """The secrets file's name for an app's API key: <app>_api_key, or <app>_api_key_<scope> for a key the app
    made in one of several Docker guests."""
    return f"{app}_api_key_{scope}" if scope and app in KEYS_MADE_BY_APPS else f"{app}_api_key"


class Secrets:
    """Access to the secrets; repr and str never show a value. Only `keep` changes them."""

    def __init__(self, path: Path, values: dict[str, str]):
        self.path = path
        self._values = dict(values)
        self.version = 0  # counts the values kept: what was made from the secrets is stale when it moves

    def __getitem__(self, name: str) -> str:
        return self._values[name]

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._values.get(name, default)

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def keep(self, name: str, value: str) -> None:
        """Remember a value an app made (its API key): for the rest of this run, and in the file, which is
        read again first so that nothing else in it is lost."""
        stored, problems = _read(self.path)
        if problems:
            raise OSError(f"cannot store {name} in {self.path}: {problems[0].message}; {problems[0].fix}")
        self._values[name] = value
        self.version += 1
        write(self.path, {**stored, name: value})

    def __repr__(self) -> str:
        return f"<Secrets {self.path} ({len(self._values)} values)>"

    __str__ = __repr__


def required(s: Settings, roles: set[str]) -> dict[str, str]:
    """Secrets only the user can give, for a host with these settings and roles: name -> what it is."""
    needed = {}
    if "proxmox" in roles and s.pve_auth == "password":
        needed["pve_password"] = f"the password of {s.pve_user} on the Proxmox host"
    elif "proxmox" in roles and s.pve_auth == "token":
        needed["pve_token_id"] = "the API token id, like 'root@pam!mediabox'"
        needed["pve_token_secret"] = "the API token's secret (a UUID)"
    if "docker_guests" in roles and s.enabled("gluetun"):
        if s.vpn_type == "wireguard":
            needed["vpn_wireguard_private_key"] = "your VPN provider's WireGuard private key"
        else:
            needed["vpn_openvpn_user"] = "your VPN provider's OpenVPN user name"
            needed["vpn_openvpn_password"] = "your VPN provider's OpenVPN password"
    return needed


def generated(s: Settings) -> dict[str, str]:
    """Secrets the engine makes for the enabled services: name -> kind."""
    return {f"{svc.name}_{kind}": kind for svc in s.enabled_services() for kind in svc.secrets}


def load(hosts: list[tuple[Settings, set[str]]], with_nas: bool = False) -> tuple[Secrets | None, list[Problem]]:
    """Read the secrets file, add generated values that are missing, report what the user must add.

    The file is written only when generated values are added, atomically and 0600.
    """
    all_settings = [s for s, _ in hosts]
    path = Path(all_settings[0].secrets_file).expanduser()
    values, problems = _read(path)
    if problems:
        return None, problems
    for s, roles in hosts:
        for name, what in required(s, roles).items():
            if not values.get(name):
                problems.append(Problem("secrets_file", str(path), f"lacks {name} ({what})",
                                        f"add a line `{name}: <value>` to {path}"))
    if problems:
        return None, merge([("", p) for p in problems])
    wanted = {name: kind for s in all_settings for name, kind in generated(s).items()}
    if with_nas:
        wanted["nas_password"] = "password"
    missing = {name: kind for name, kind in wanted.items() if name not in values}
    if missing:
        values.update({name: _GENERATORS[kind]() for name, kind in missing.items()})
        write(path, values)
    return Secrets(path, values), []


def _read(path: Path) -> tuple[dict[str, str], list[Problem]]:
    if not path.exists():
        return {}, []
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        return {}, [Problem("secrets_file", str(path), f"readable by other users (mode {mode:04o})",
                            f"run `chmod 600 {path}`")]
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        return {}, [Problem("secrets_file", str(path), f"not valid YAML{where}",
                            "write one `name: value` per line")]
    if not isinstance(data, dict) or not all(isinstance(v, (str, int)) for v in data.values()):
        return {}, [Problem("secrets_file", str(path), "not a map of names to text values",
                            "write one `name: value` per line")]
    return {str(k): str(v) for k, v in data.items()}, []


def write(path: Path, values: dict[str, str]) -> None:
    """Write the whole file atomically, 0600, its folder 0700."""
    write_private(path, "# mediabox secrets: keep this file private (0600) and out of git.\n"
                  + yaml.safe_dump(dict(sorted(values.items())), default_flow_style=False))


def write_private(path: Path, text: str) -> None:
    """Replace a file atomically with text, the file 0600 and its folder 0700: for what holds a credential."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)

