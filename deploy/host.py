"""The host stage: the btrfs RAID1 pool, its layout and ownership, and its maintenance, on the
Proxmox host. Runs on hosts of the `proxmox` group; stops, writing nothing, on a disk that is not
blank and not listed for wiping, and on a degraded pool."""

from __future__ import annotations

from pyinfra import host

from deploy import apt_proxy, maintenance, pve_api
from mediabox import layout
from mediabox.run import Run
from mediabox.settings import Settings
from operations import btrfs, proxmox, storage, system


def apply(run: Run, s: Settings) -> None:
    if "proxmox" not in run.roles[host.name]:
        return
    guests = [run.settings[name] for name in run.hosts_in("docker_guests")]
    mount = s.storage_mount

    apt_proxy(s)
    system.packages(name="Storage tools", names=["btrfs-progs", "smartmontools", "rsync", "zstd"])

    btrfs.pool(name="btrfs RAID1 pool", label=s.pool_label, disks=list(s.pool_disks),
               wipe_serials=list(s.pool_wipe_serials))
    storage.fstab_entry(name="fstab line for the pool", path=mount, device=s.pool_disks[0], fstype="btrfs",
                        options=[*layout.MOUNT_OPTIONS, "nofail"])
    storage.mounted(name="Pool mounted", path=mount, fstype="btrfs", options=layout.MOUNT_OPTIONS)
    btrfs.raid1_profiles(name="Pool is RAID1", path=mount, convert=s.pool_convert_to_raid1)
    for subvolume in layout.SUBVOLUMES:
        btrfs.subvolume(name=f"Subvolume {subvolume}", mount=mount, subvolume=subvolume)

    services = sorted({svc.name for guest in guests for svc in guest.enabled_services()})
    owner = {"uid": s.guest_id_offset + s.puid, "gid": s.guest_id_offset + s.pgid, "mode": s.storage_mode}
    storage.directories(name="Data tree", paths=layout.data_dirs(mount, services), inside=mount, **owner)
    storage.directories(name="Appdata folders", paths=layout.appdata_dirs(mount, services), inside=mount, **owner)
    storage.hardlinks_work(name="Hard links from downloads into media", source=f"{mount}/data/downloads",
                           target=f"{mount}/data/media")

    if any(guest.enabled("tubearchivist") for guest in guests):
        system.sysctl_at_least(name="Elasticsearch's vm.max_map_count", key="vm.max_map_count", minimum=262144,
                               persist_file="/etc/sysctl.d/60-mediabox.conf")

    _maintenance(s, mount, run.secrets.get("notify_url"))
    if s.pve_backup_storage:
        api = pve_api(run, s)
        proxmox.storage_dir(name="Backup storage registered with Proxmox", api=api, storage=s.pve_backup_storage,
                            path=f"{mount}/backups", content="backup", mountpoint=mount)


def _maintenance(s: Settings, mount: str, notify_url: str | None) -> None:
    """Timers for scrub, snapshots and the disk check; smartd on disks that report SMART."""
    settings_env = (f"POOL_MOUNT={mount}\nSNAPSHOT_RETENTION_DAYS={s.snapshot_retention_days}\n"
                    f"DISK_SPACE_WARN_PERCENT={s.disk_space_warn_percent}\n"
                    f"EXPORT_TARGET={s.export_target or ''}\nEXPORT_KEEP={s.export_keep}\n")
    calendars = {"scrub": s.scrub_calendar, "snapshot": s.snapshot_calendar, "diskcheck": s.disk_check_calendar,
                 "export": s.export_calendar}
    jobs = [*layout.MAINTENANCE_JOBS, *(["export"] if s.export_target else [])]
    maintenance.timers({job: calendars[job] for job in jobs}, settings_env, notify_url, subject=mount)
    if not s.export_target:
        maintenance.timer_off("export")
    system.smartd(name="smartd watches the pool disks", disks=list(s.pool_disks),
                  notify_command="/usr/local/sbin/mediabox-maintenance")
