"""User mistakes and what the engine must say about each: used by the unit tier (validate()) and the
lab tier (the real `pyinfra` CLI against the lab, which also proves no host was changed).

Each case: an id, `--data` overrides, the key the message must name, and the fix it must give.
"""

from dataclasses import dataclass, field
from typing import Any

A = "/dev/disk/by-id/ata-LAB_HDD_2G_LABSN0001"
B = "/dev/disk/by-id/ata-LAB_HDD_2G_LABSN0002"


@dataclass(frozen=True)
class Case:
    id: str
    data: dict[str, Any]
    key: str
    fix: str
    secrets: dict[str, str] | None = None  # secrets file content; None: the lab's own file
    secrets_mode: int = 0o600
    extra: tuple[str, ...] = field(default_factory=tuple)  # more text the message must hold


CASES = [
    Case("unknown-key", {"sonar_enabled": True}, "sonar_enabled", "did you mean 'sonarr_enabled'?"),
    Case("wrong-type", {"guest_cores": "four"}, "guest_cores",
         "set guest_cores to a number of CPU cores, 1 or more"),
    Case("empty-seerr-profile", {"seerr_quality_profile": ""}, "seerr_quality_profile",
         "set seerr_quality_profile to a quality profile name such as 'HD-1080p'"),
    Case("ip-outside-subnet", {"service_ips": {"sonarr": "172.21.0.10"}}, "service_ips['sonarr']",
         "use an address inside 172.20.0.0/16"),
    Case("ip-in-dynamic-range", {"service_ips": {"sonarr": "172.20.200.5"}}, "service_ips['sonarr']",
         "use an address outside 172.20.128.0/17"),
    Case("duplicate-ip", {"service_ips": {"sonarr": "172.20.0.11"}}, "service_ips['sonarr']",
         "give sonarr a free address in service_ips", extra=("sonarr and radarr both use 172.20.0.11",)),
    Case("duplicate-port", {"service_ports": {"radarr": 8989}}, "service_ports['radarr']",
         "give radarr a free port in service_ports"),
    Case("port-out-of-range", {"service_ports": {"sonarr": 70000}}, "service_ports['sonarr']", "use 1 to 65535"),
    Case("disk-listed-twice", {"pool_disks": [A, A]}, "pool_disks", "list two different disks"),
    Case("disk-not-by-id", {"pool_disks": ["/dev/sda", B]}, "pool_disks", "ls -l /dev/disk/by-id/"),
    Case("one-disk", {"pool_disks": [A]}, "pool_disks", "list the two pool disks by /dev/disk/by-id path"),
    Case("wipe-serial-unknown", {"pool_wipe_serials": ["WD-NOPE"]}, "pool_wipe_serials",
         "use one of ['LABSN0001', 'LABSN0002']"),
    Case("memory-below-services", {"guest_memory_mb": 2048}, "guest_memory_mb",
         "raise guest_memory_mb, lower service_memory_mb, or disable services", extra=("jellyfin", "total")),
    Case("memory-below-one-service", {"service_memory_mb": {"jellyfin": 100}}, "service_memory_mb['jellyfin']",
         "give it 512 MB or more, or disable it"),
    Case("over-commit-8gb", {"tubearchivist_enabled": True, "tubearchivist_es_enabled": True,
                             "tubearchivist_redis_enabled": True}, "guest_memory_mb",
         "raise guest_memory_mb, lower service_memory_mb, or disable services",
         extra=("the enabled services need 7424 MB", "tubearchivist_es", "available")),
    Case("requirement-missing", {"tubearchivist_enabled": True}, "tubearchivist_es_enabled",
         "set tubearchivist_es_enabled = True, or tubearchivist_enabled = False"),
    Case("bad-timezone", {"timezone": "Mars/Olympus"}, "timezone", "use an IANA name"),
    Case("nas-in-8gb-profile", {"nas_enabled": None}, "nas_enabled",
         "set nas_enabled = True, or take the host out of the nas_guests group"),
    Case("nas-share-outside-data", {"nas_shares": {"media": "../../etc"}}, "nas_shares['media']",
         "give a relative path such as 'media' or 'media/movies'"),
    Case("raw-lxc-line-malformed", {"guest_lxc_raw": ["cores: 4"]}, "guest_lxc_raw",
         "write it as in /etc/pve/lxc/<vmid>.conf: 'lxc.key: value'"),
    Case("vmid-too-low", {"guest_vmid": 42}, "guest_vmid", "a free Proxmox guest id, 100 or more"),
    Case("export-into-appdata", {"export_target": "/mnt/storage/appdata/backup"}, "export_target",
         "export to another disk's mount point"),
    Case("export-relative", {"export_target": "backup"}, "export_target", "e.g. '/mnt/backup'"),
    Case("export-keep-zero", {"export_keep": 0}, "export_keep", "1 or more"),
    Case("unknown-stage", {"stages": "host,gests"}, "stages", "choose from preflight,host,guests"),
    Case("unknown-profile", {"profile": "4gb"}, "profile", "'8gb' or '16gb'"),
    Case("gateway-outside-lan", {"guest_gateway": "10.99.0.1"}, "guest_gateway",
         "use the router's address in 10.213.0.0/24"),
    Case("ip-range-outside-subnet", {"docker_ip_range": "10.20.0.0/24"}, "docker_ip_range",
         "use a part of 172.20.0.0/16"),
    Case("unknown-service-override", {"service_ports": {"sonar": 8990}}, "service_ports['sonar']",
         "did you mean 'sonarr'?"),
    Case("missing-secret", {}, "secrets_file", "add a line `pve_password: <value>`",
         secrets={"pve_token_id": "root@pam!lab", "vpn_wireguard_private_key": "x"}),
    Case("missing-vpn-secret", {}, "secrets_file", "add a line `vpn_wireguard_private_key: <value>`",
         secrets={"pve_password": "x"}),
    Case("secrets-world-readable", {}, "secrets_file", "chmod 600", secrets={"pve_password": "x"},
         secrets_mode=0o644),
]
