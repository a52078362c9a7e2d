"""The inventory of a real box: copy this file, fill in your addresses and disks, then run
`pyinfra inventory.py deploy.py`.

Everything not set here takes its default from group_data/all.py. Check what pyinfra sees with
`pyinfra inventory.py debug-inventory`.
"""

# The Proxmox VE host: its LAN address, and the two pool disks by id
# (run `ls -l /dev/disk/by-id/` on the host; use the ata-... or nvme-... names, not /dev/sdX).
proxmox = [
    ("pve", {
        "ssh_hostname": "192.168.1.10",
        "pve_node": "pve",
        # Copy /etc/pve/pve-root-ca.pem from the host, so the API's certificate is verified:
        #   scp root@192.168.1.10:/etc/pve/pve-root-ca.pem ~/.config/mediabox/pve-root-ca.pem
        "pve_ca_file": "~/.config/mediabox/pve-root-ca.pem",
        "pool_disks": [
            "/dev/disk/by-id/ata-CHANGE_ME_SERIAL1",
            "/dev/disk/by-id/ata-CHANGE_ME_SERIAL2",
        ],
    }),
]

# The Docker guest the engine creates on that host: a free static address on your LAN.
docker_guests = [
    ("media", {
        "ssh_hostname": "192.168.1.20",
        "guest_ip": "192.168.1.20/24",
        "guest_gateway": "192.168.1.1",
    }),
]

# The optional NAS guest (Samba sharing the data subvolume on your LAN): uncomment to have it made.
# The 8gb profile leaves it off unless nas_enabled is True; the 16gb profile allows it.
# nas_guests = [
#     ("nas", {
#         "ssh_hostname": "192.168.1.21",
#         "guest_ip": "192.168.1.21/24",
#         "guest_gateway": "192.168.1.1",
#     }),
# ]
