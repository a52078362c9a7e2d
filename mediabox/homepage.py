"""Homepage's services.yaml, rendered from the service catalog: one group per catalog group, a link to each
enabled service's web UI, and its widget where the engine holds what the widget needs: an API key it seeds, or
one the app made and the wire stage kept. Secrets stay out of the file: a widget names
{{HOMEPAGE_VAR_<NAME>_KEY}} (or _PASSWORD), which Homepage fills in from its environment, and the compose stage
puts those variables in Homepage's 0600 env file. Rendering is deterministic, so an unchanged stack writes
nothing."""

from __future__ import annotations

from mediabox import yamltext
from mediabox.catalog import Service
from mediabox.settings import Settings

GROUPS = ("Media", "Requests", "Downloads", "Books", "System")
HEADER = "# Rendered by mediabox from its service catalog; edits are replaced on the next run.\n"
DATA_MOUNT = "/data"  # where Homepage sees the pool's data subvolume (read-only)


def keyed(svc: Service) -> bool:
    """Whether the service's widget takes its API key (seeded by the engine, or made by the app)."""
    return bool(svc.widget) and ("api_key" in svc.secrets or svc.makes_key)


def key_variable(svc: Service) -> str:
    return f"HOMEPAGE_VAR_{svc.name.upper()}_KEY"


PASSWORD_VARIABLE = "HOMEPAGE_VAR_QBITTORRENT_PASSWORD"


def services_yaml(s: Settings) -> str:
    groups: dict[str, list] = {}
    for svc in s.enabled_services():
        if not s.port(svc) or svc.name == "homepage":
            continue
        # siteMonitor: Homepage probes the service from inside the stack and shows it up (with its latency) or down
        entry = {"href": f"http://{s.guest_ip.ip}:{s.port(svc)}", "description": svc.title,
                 "siteMonitor": svc.internal_url}
        widget = _widget(s, svc)
        if widget:
            entry["widget"] = widget
        groups.setdefault(svc.group, []).append({svc.title: entry})
    ordered = [{group: groups[group]} for group in (*GROUPS, *sorted(set(groups) - set(GROUPS))) if group in groups]
    return HEADER + yamltext.dump(ordered, width=120)


def widgets_yaml() -> str:
    """Homepage's top bar: the guest's CPU and memory, and the pool's free space (its data subvolume, mounted
    read-only at /data in Homepage)."""
    widgets = [{"resources": {"label": "Docker guest", "cpu": True, "memory": True}},
               {"resources": {"label": "Pool", "disk": DATA_MOUNT, "expanded": True}}]
    return HEADER + yamltext.dump(widgets)


def _widget(s: Settings, svc: Service) -> dict | None:
    if not svc.widget:
        return None
    widget = {"type": svc.widget, "url": svc.internal_url}
    if keyed(svc):
        return {**widget, "key": f"{{{{{key_variable(svc)}}}}}"}
    if svc.name == "qbittorrent":
        return {**widget, "username": s.apps_admin_user, "password": f"{{{{{PASSWORD_VARIABLE}}}}}"}
    if svc.name == "gluetun":  # its control server needs no credential
        return widget
    return None
