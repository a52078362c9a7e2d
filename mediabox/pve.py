"""The Proxmox VE API client: one per host per run, TLS always verified.

Reads happen in deploy code and operation bodies; writes go through FunctionCommand (see operations/).
"""

from __future__ import annotations

import os

import requests
from proxmoxer import ProxmoxAPI
from proxmoxer.backends.https import AuthenticationError
from proxmoxer.core import ResourceException

from mediabox.secrets import Secrets
from mediabox.settings import Problem, Settings

# What talking to the API can raise besides a bug: network, TLS, login and API errors.
API_ERRORS = (requests.exceptions.RequestException, AuthenticationError, ResourceException)

_clients: dict[str, ProxmoxAPI] = {}


def api_url(s: Settings, address: str) -> str:
    return f"https://{s.pve_api_host or address}:{s.pve_api_port}"


def client(host_name: str, s: Settings, secrets: Secrets, address: str) -> ProxmoxAPI:
    """The host's API client, logged in on first use (a ticket for 'password', else a token)."""
    if host_name not in _clients:
        common = {
            "host": s.pve_api_host or address,
            "port": s.pve_api_port,
            # Passing the CA file also beats REQUESTS_CA_BUNDLE, which would override verify=False.
            "verify_ssl": os.path.expanduser(s.pve_ca_file),
            "timeout": 15,
        }
        if s.pve_auth == "password":
            _clients[host_name] = ProxmoxAPI(user=s.pve_user, password=secrets["pve_password"], **common)
        else:
            user, token_name = secrets["pve_token_id"].split("!", 1)
            _clients[host_name] = ProxmoxAPI(user=user, token_name=token_name,
                                             token_value=secrets["pve_token_secret"], **common)
    return _clients[host_name]


def connection_problem(error: Exception, s: Settings, address: str) -> Problem:
    """What went wrong talking to the API, as a problem the user can act on."""
    url = api_url(s, address)
    if isinstance(error, AuthenticationError):
        secret = "pve_password" if s.pve_auth == "password" else "pve_token_id / pve_token_secret"
        return Problem("pve_user", s.pve_user, f"the Proxmox API at {url} refused the login",
                       f"check {secret} in the secrets file and the user's realm")
    if isinstance(error, requests.exceptions.SSLError):
        return Problem("pve_ca_file", s.pve_ca_file, f"the certificate of {url} does not match this CA",
                       "copy /etc/pve/pve-root-ca.pem from this host again")
    if isinstance(error, ResourceException):
        return Problem("pve_api_host", s.pve_api_host or address,
                       f"the Proxmox API answered {error.status_code} {error.status_message}: {error.content}",
                       "check the user's permissions on the host")
    return Problem("pve_api_host", s.pve_api_host or address,
                   f"cannot reach the Proxmox API at {url} ({type(error).__name__})",
                   "check pve_api_host and pve_api_port, and that pveproxy runs on the host")
