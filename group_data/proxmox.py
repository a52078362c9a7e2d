"""The Proxmox host group: how the engine reaches it. Every setting is described in all.py.

The host stage formats disks, mounts the pool and edits guest configs: it needs root over SSH,
with a key (`ssh_key` in the inventory, or your SSH agent).
"""

ssh_user = "root"
