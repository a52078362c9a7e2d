"""Inventories: inventory.py at the repo root is the template for a real box; lab.py targets the lab.

Groups: `proxmox` (the Proxmox VE host) and `docker_guests` (the LXC guests that run Docker).
"""
