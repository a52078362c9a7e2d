"""The Docker guest group: how the engine reaches each guest. Every setting is described in all.py.

The guests stage puts your SSH public key into each guest it creates; the Docker and stack stages
then log in as root over SSH at the guest's guest_ip.
"""

ssh_user = "root"
