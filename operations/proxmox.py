"""Operations on the Proxmox VE API: reads in the operation body, writes in a FunctionCommand."""

from __future__ import annotations

from proxmoxer import ProxmoxAPI
from pyinfra import host, logger
from pyinfra.api import FunctionCommand, OperationValueError, operation


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
    yield FunctionCommand(_create_storage, (api, params), {})


def _create_storage(api: ProxmoxAPI, params: dict) -> None:
    api.storage.post(**params)
