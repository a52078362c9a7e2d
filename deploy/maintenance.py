"""Maintenance jobs on systemd timers, on the Proxmox host (scrub, snapshots, the disk check) and in each
Docker guest (the containers' health): one script, one settings file, and one notifier that posts a failing
job, with the last lines of its journal, to notify_url (from the secrets file, kept 0600) when there is one."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

from pyinfra.operations import files, systemd
from pyinfra.operations.util import any_changed

from operations import system

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "host"


def timers(jobs: dict[str, str], settings_env: str, notify_url: str | None, subject: str) -> None:
    """A mediabox-<job>.timer on each job's calendar (OnCalendar syntax), running the maintenance script."""
    system.packages(name="curl for the failure notifier", names=["curl"])
    files.put(name="Maintenance script", src=str(TEMPLATES / "mediabox-maintenance.sh"),
              dest="/usr/local/sbin/mediabox-maintenance", mode="755")
    files.put(name="Maintenance settings", src=StringIO(settings_env), dest="/etc/mediabox/maintenance.env",
              mode="644", create_remote_dir=True)
    if notify_url:
        files.put(name="Failure notifier address", src=StringIO(f"NOTIFY_URL={notify_url}\n"),
                  dest="/etc/mediabox/notify.env", mode="600", create_remote_dir=True)
    else:
        files.file(name="No failure notifier address", path="/etc/mediabox/notify.env", present=False)

    units = [files.put(name="Failure notifier unit", src=str(TEMPLATES / "mediabox-notify@.service"),
                       dest="/etc/systemd/system/mediabox-notify@.service", mode="644")]
    for job, calendar in jobs.items():
        for kind in ("service", "timer"):
            units.append(files.template(
                name=f"mediabox-{job}.{kind}", src=str(TEMPLATES / f"mediabox-job.{kind}.j2"),
                dest=f"/etc/systemd/system/mediabox-{job}.{kind}", mode="644",
                job=job, subject=subject, calendar=calendar))
    systemd.daemon_reload(name="Reload systemd units", _if=any_changed(*units))
    for job in jobs:
        systemd.service(name=f"mediabox-{job}.timer on", service=f"mediabox-{job}.timer", running=True, enabled=True)


def timer_off(job: str) -> None:
    """An optional job turned off: its timer stopped and disabled (its units stay, unused)."""
    systemd.service(name=f"mediabox-{job}.timer off", service=f"mediabox-{job}.timer", running=False, enabled=False)
