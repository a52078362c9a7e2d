"""Operations on the Proxmox VE API: reads in the operation body, writes in a FunctionCommand."""

from __future__ import annotations

import itertools
import shlex

from proxmoxer import ProxmoxAPI
from pyinfra import host, logger
from pyinfra.api import FunctionCommand, OperationError, OperationValueError, QuoteString, StringCommand, operation
from pyinfra.facts.files import FileContents

from facts.proxmox import TemplateGroupId
from mediabox import lxc, plan, pve
from mediabox.readahead import reads


@operation()
def storage_dir(api: ProxmoxAPI, storage: str, path: str, content: str, mountpoint: str):
    """
    Ensure a directory storage is registered with Proxmox, only when no storage has that id.
    An existing storage is never changed: a different path is reported, not rewritten.

    + api: the host's API client (mediabox.pve.client)
    + storage: the storage id, e.g. ``mediabox-backup``
    + path: the directory, e.g. ``/mnt/storage/backups``
    + content: what it holds, e.g. ``backup``
    + mountpoint: the mount the path lives on; Proxmox writes nothing there while it is not mounted

    **Example:**

    .. code:: python

        proxmox.storage_dir(api=api, storage="mediabox-backup", path="/mnt/storage/backups",
                            content="backup", mountpoint="/mnt/storage")
    """
    if not path.startswith(mountpoint.rstrip("/") + "/"):
        raise OperationValueError(f"{path} is not inside {mountpoint}")
    existing = {entry["storage"]: entry for entry in api.storage.get()}
    if storage in existing:
        if existing[storage].get("path") not in (None, path):
            logger.warning(f"{host.print_prefix}Proxmox storage {storage} points at {existing[storage]['path']}, "
                           f"not {path}; left as it is")
        host.noop(f"Proxmox storage {storage} exists")
        return
    params = {"storage": storage, "type": "dir", "path": path, "content": content,
              "is_mountpoint": mountpoint, "create-base-path": 1}
    plan.note(f"Proxmox storage {storage}: add it ({path}, {content})")
    yield FunctionCommand(_create_storage, (api, params), {})


def _create_storage(api: ProxmoxAPI, params: dict) -> None:
    pve.call(lambda: api.storage.post(**params), what=f"register storage {params['storage']}")


@operation()
def template_present(api: ProxmoxAPI, node: str, storage: str, template: str, url: str | None = None,
                     sha512: str | None = None):
    """
    Ensure a container template is in a storage: downloaded through the API only when absent.

    + api: the host's API client
    + node: the node name
    + storage: a storage that holds templates (``local``)
    + template: the file name, e.g. ``debian-12-standard_12.7-1_amd64.tar.zst``
    + url: download from this URL (download-url, checksummed with ``sha512`` when given);
      None: Proxmox's own template index (aplinfo)

    **Example:**

    .. code:: python

        proxmox.template_present(api=api, node="pve", storage="local",
                                 template="debian-12-standard_12.7-1_amd64.tar.zst")
    """
    if "/" in template or not template.endswith((".tar.zst", ".tar.gz", ".tar.xz")):
        raise OperationValueError(f"a template is a file name ending in .tar.zst/.tar.gz/.tar.xz, got {template!r}")
    volid = f"{storage}:vztmpl/{template}"
    present = {item["volid"] for item in api.nodes(node).storage(storage).content.get(content="vztmpl")}
    if volid in present:
        host.noop(f"template {volid} is present")
        return
    plan.note(f"template {volid}: download it from {url or 'the appliance index'}")
    if url:
        params = {"content": "vztmpl", "filename": template, "url": url}
        if sha512:
            params.update({"checksum": sha512, "checksum-algorithm": "sha512"})
        yield FunctionCommand(_download, (api, node, ["storage", storage, "download-url"], params,
                                          f"download template {template}"), {})
    else:
        yield FunctionCommand(_download, (api, node, ["aplinfo"], {"storage": storage, "template": template},
                                          f"download template {template}"), {})


def _download(api: ProxmoxAPI, node: str, path: list[str], params: dict, what: str) -> None:
    endpoint = api.nodes(node)
    for part in path:
        endpoint = endpoint(part)
    pve.run_task(api, lambda: endpoint.post(**params), what, timeout_s=900)


@reads(lambda template_path, **_: [(TemplateGroupId, {"path": template_path, "group": "render"})] * bool(template_path))
@operation()
def container(api: ProxmoxAPI, node: str, config: dict, restart: bool = False, template_path: str | None = None):
    """
    Ensure a managed container exists with this config: created with every key, then on later
    runs only the keys that differ are PUT (with the config digest as a lock). Keys a running
    container takes only on restart are reported as pending. A container with the same id or host
    name that lacks the ``mediabox`` tag is never touched.

    + api: the host's API client
    + node: the node name
    + config: the create parameters (mediabox.lxc.wanted), vmid included
    + restart: reboot a running container whose changes apply only at restart; False reports them
    + template_path: the template file on the host; the render group's id inside it goes into the
      /dev/dri passthrough (read at execute too, so a template downloaded earlier in the run counts)

    **Example:**

    .. code:: python

        proxmox.container(api=api, node="pve", config=lxc.wanted(guest, host_settings, public_key),
                          template_path="/var/lib/vz/template/cache/debian-12-standard_12.7-1_amd64.tar.zst")
    """
    vmid = config.get("vmid")
    if not isinstance(vmid, int) or vmid < 100 or not config.get("hostname"):
        raise OperationValueError(f"a container config needs a vmid of 100 or more and a hostname, got {vmid!r}")
    if template_path:
        config = lxc.with_render_gid(config, host.get_fact(TemplateGroupId, path=template_path, group="render"))
    listed = {ct["vmid"]: ct for ct in api.nodes(node).lxc.get()}
    mine = listed.get(vmid)
    if mine is None:
        clash = [ct["vmid"] for ct in listed.values() if ct.get("name") == config["hostname"]]
        if clash:
            raise OperationError(f"container {clash[0]} on {node} already uses the host name {config['hostname']}: "
                                 "choose another guest_hostname. Nothing was changed.")
        plan.note(f"container {vmid} ({config['hostname']}) on {node}: create it")
        yield FunctionCommand(_create, (api, node, config), {})
        return
    if lxc.MANAGED_TAG not in lxc.normalise("tags", mine.get("tags", "")):
        raise OperationError(f"container {vmid} on {node} ({mine.get('name')}) was not made by mediabox (no "
                             f"'{lxc.MANAGED_TAG}' tag): it is left untouched. Choose a free guest_vmid.")
    current, waiting = lxc.effective(api.nodes(node).lxc(vmid).pending.get())
    update = lxc.changes(current, config)
    pending = lxc.needs_restart(waiting | set(update)) if mine.get("status") == "running" else []
    if pending and not restart:
        logger.warning(f"{host.print_prefix}container {vmid}: {', '.join(pending)} apply at its next restart "
                       "(guest_restart_for_changes = True restarts it)")
    if not update and not (pending and restart):
        host.noop(f"container {vmid} matches its settings")
        return
    if update:
        plan.show(f"container {vmid}", _config_changes(current, update))
        yield FunctionCommand(_update, (api, node, vmid, update), {})
    if pending and restart:
        plan.note(f"container {vmid}: reboot it for {', '.join(pending)}")
        yield FunctionCommand(_reboot, (api, node, vmid), {})


def _config_changes(current: dict, update: dict) -> dict:
    """The plan of a config update: an option list (net0, mp0, features, ...) by its options that differ."""
    found = {}
    for key, new in update.items():
        old_options, new_options = lxc.normalise(key, current.get(key)), lxc.normalise(key, new)
        if isinstance(old_options, dict) and isinstance(new_options, dict):
            differ = plan.diff(old_options, new_options) | plan.removed(old_options, new_options)
            found |= {f"{key}.{option or 'volume'}": change for option, change in differ.items()}
        else:
            found[key] = (current.get(key, plan.UNSET), new)
    return found


def _create(api: ProxmoxAPI, node: str, config: dict) -> None:
    pve.run_task(api, lambda: api.nodes(node).lxc.post(**config), f"create container {config['vmid']}",
                 fields=lxc.SETTING_OF)


def _update(api: ProxmoxAPI, node: str, vmid: int, update: dict) -> None:
    digest = api.nodes(node).lxc(vmid).config.get()["digest"]
    pve.call(lambda: api.nodes(node).lxc(vmid).config.put(digest=digest, **update),
             what=f"update container {vmid} ({', '.join(sorted(update))})", fields=lxc.SETTING_OF)


def _reboot(api: ProxmoxAPI, node: str, vmid: int) -> None:
    pve.run_task(api, lambda: api.nodes(node).lxc(vmid).status.reboot.post(), f"restart container {vmid}",
                 timeout_s=300)


@operation()
def container_running(api: ProxmoxAPI, node: str, vmid: int):
    """
    Ensure a managed container is running (it also starts at boot through its onboot key).

    + api: the host's API client
    + node: the node name
    + vmid: the container id

    **Example:**

    .. code:: python

        proxmox.container_running(api=api, node="pve", vmid=200)
    """
    if not isinstance(vmid, int) or vmid < 100:
        raise OperationValueError(f"vmid must be 100 or more, got {vmid!r}")
    listed = {ct["vmid"]: ct for ct in api.nodes(node).lxc.get()}
    if listed.get(vmid, {}).get("status") == "running":
        host.noop(f"container {vmid} is running")
        return
    plan.note(f"container {vmid}: start it")
    yield FunctionCommand(_start, (api, node, vmid), {})


def _start(api: ProxmoxAPI, node: str, vmid: int) -> None:
    pve.run_task(api, lambda: api.nodes(node).lxc(vmid).status.start.post(), f"start container {vmid}",
                 timeout_s=300)


@reads(lambda vmid, **_: [(FileContents, {"path": f"/etc/pve/lxc/{vmid}.conf"})])
@operation()
def container_raw_lxc(vmid: int, lines: list[str]):
    """
    Ensure raw ``lxc.*`` lines the API cannot set are in a container's config on the host
    (/etc/pve/lxc/<vmid>.conf, over SSH), in its main section, before any snapshot section.
    Only missing lines are added; a line is never removed or reordered (take it out by hand with
    ``pct`` or the web UI). They apply at the container's next restart.

    + vmid: the container id
    + lines: ``lxc.key: value`` lines, e.g. ``lxc.cgroup2.devices.allow: c 226:* rwm``

    **Example:**

    .. code:: python

        proxmox.container_raw_lxc(vmid=200, lines=["lxc.cgroup2.devices.allow: c 226:* rwm"])
    """
    bad = [line for line in lines if not lxc.RAW_LXC_RE.match(line)]
    if not isinstance(vmid, int) or vmid < 100 or bad or not lines:
        raise OperationValueError(f"raw lxc lines need a vmid of 100 or more and 'lxc.key: value' lines, got "
                                  f"{vmid!r} and {bad or lines!r}")
    path = f"/etc/pve/lxc/{vmid}.conf"
    current = host.get_fact(FileContents, path=path)
    if current is None:
        raise OperationError(f"{path} does not exist on {host.name}: the container is not on this node "
                             "(check pve_node), or was not created")
    main = itertools.takewhile(lambda line: not line.startswith("["), current)
    present = {line.strip() for line in main}
    missing = [line for line in lines if line not in present]
    if not missing:
        host.noop(f"container {vmid} has its {len(lines)} raw lxc line(s)")
        return
    logger.warning(f"{host.print_prefix}container {vmid}: {len(missing)} raw lxc line(s) apply at its next restart")
    for line in missing:
        plan.note(f"{path}: add {line}")
    # Insert before the first [section] (snapshots, pending), else append; pmxcfs takes a whole-file write.
    script = ('BEGIN { n = split(ENVIRON["ADD"], lines, "\\n") } '
              '/^\\[/ && !done { for (i = 1; i <= n; i++) print lines[i]; done = 1 } '
              '{ print } END { if (!done) for (i = 1; i <= n; i++) print lines[i] }')
    yield StringCommand("tmp=$(mktemp) && ADD=" + shlex.quote("\n".join(missing)), "awk", QuoteString(script),
                        QuoteString(path), '> "$tmp" && cat "$tmp" >', QuoteString(path), '&& rm -f "$tmp"')
