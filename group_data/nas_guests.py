"""The NAS guest group: how the engine reaches it, and the guest_* sizes that differ from a Docker
guest's. Every setting is described in all.py; the inventory's host data overrides these.

Samba needs little: one core and 512 MB serve a gigabit LAN. The guests stage makes the guest through
the Proxmox API; the Samba configuration then goes in over SSH as root at its guest_ip.
"""

ssh_user = "root"

guest_vmid = 201  # the Docker guest is 200
guest_hostname = "nas"
guest_cores = 1
guest_memory_mb = 512
guest_disk_gb = 4
guest_start_order = 2  # after the Docker guest
