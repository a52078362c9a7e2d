"""The homelab engine's local test lab: a Proxmox-host stand-in, a Docker guest, fake PVE API, disks, apt proxy.

Run from the repository root, as root:  python -m lab up | down | status [--json] | verify-clean | check
See lab/README.md.
"""
