"""Maintenance jobs on systemd timers, on the Proxmox host (scrub, snapshots, the disk check) and in each
Docker guest (the containers' health): one script, one settings file, and one notifier that posts a failing
job, with the last lines of its journal, to notify_url (from the secrets file, kept 0600) when there is one."""

from __future__ import annotations

from pathlib import Path

from pyinfra.api.util import get_template
from pyinfra.operations import systemd

from operations import system

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "host"
NOTIFY_ENV = "/etc/mediabox/notify.env"


def timers(jobs: dict[str, str], settings_env: str, notify_url: str | None, subject: str) -> None:
    """A mediabox-<job>.timer on each job's calendar (OnCalendar syntax), running the maintenance script."""
    system.packages(name="curl for the failure notifier", names=["curl"])
    files = {
        "/usr/local/sbin/mediabox-maintenance": [(TEMPLATES / "mediabox-maintenance.sh").read_text(), "755"],
        "/etc/mediabox/maintenance.env": [settings_env, "644"],
        "/etc/systemd/system/mediabox-notify@.service": [(TEMPLATES / "mediabox-notify@.service").read_text(), "644"],
    }
    if notify_url:
        files[NOTIFY_ENV] = [f"NOTIFY_URL={notify_url}\n", "600"]
    for job, calendar in jobs.items():
        for kind in ("service", "timer"):
            text = get_template(str(TEMPLATES / f"mediabox-job.{kind}.j2")).render(job=job, subject=subject,
                                                                                  calendar=calendar)
            files[f"/etc/systemd/system/mediabox-{job}.{kind}"] = [text, "644"]
    written = system.files_present(name="Maintenance script, settings and units", files=files,
                                   absent=[] if notify_url else [NOTIFY_ENV])
    systemd.daemon_reload(name="Reload systemd units", _if=written.did_change)
    system.units_on(name="Maintenance timers on", units=[f"mediabox-{job}.timer" for job in jobs])


def timer_off(job: str) -> None:
    """An optional job turned off: its timer stopped and disabled (its units stay, unused)."""
    system.units_off(name=f"mediabox-{job}.timer off", units=[f"mediabox-{job}.timer"])
