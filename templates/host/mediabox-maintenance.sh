#!/bin/bash
# Maintenance of the mediabox pool, run by the mediabox-*.timer units. Managed by mediabox: edits are overwritten.
# Settings: /etc/mediabox/maintenance.env; notify_url: /etc/mediabox/notify.env (0600).
set -euo pipefail
. /etc/mediabox/maintenance.env
if [ -r /etc/mediabox/notify.env ]; then . /etc/mediabox/notify.env; fi
# smartd runs this with its message in the environment and no arguments.
if [ -n "${SMARTD_MESSAGE:-}" ]; then set -- notify "smartd: $SMARTD_MESSAGE"; fi

case "${1:-}" in
scrub)
    mountpoint -q "$POOL_MOUNT"
    btrfs scrub start -B "$POOL_MOUNT"
    btrfs scrub status "$POOL_MOUNT" | grep -q "no errors found" || { echo "scrub found errors" >&2; exit 1; }
    ;;
snapshot)
    mountpoint -q "$POOL_MOUNT"
    btrfs subvolume snapshot -r "$POOL_MOUNT/appdata" "$POOL_MOUNT/snapshots/appdata-$(date +%Y-%m-%dT%H%M%S)"
    # Retention: only this script's read-only snapshots, by the date in their name.
    cutoff="appdata-$(date -d "-$SNAPSHOT_RETENTION_DAYS days" +%Y-%m-%dT%H%M%S)"
    for snap in "$POOL_MOUNT"/snapshots/appdata-*; do
        [ -e "$snap" ] || continue
        if [[ "$(basename "$snap")" < "$cutoff" ]] && btrfs property get -ts "$snap" ro | grep -q "ro=true"; then
            btrfs subvolume delete "$snap"
        fi
    done
    ;;
diskcheck)
    mountpoint -q "$POOL_MOUNT" || { echo "$POOL_MOUNT is not mounted" >&2; exit 1; }
    used=$(df --output=pcent "$POOL_MOUNT" | tail -n 1 | tr -dc '0-9')
    [ "$used" -lt "$DISK_SPACE_WARN_PERCENT" ] || { echo "$POOL_MOUNT is ${used}% full" >&2; exit 1; }
    btrfs device stats -c "$POOL_MOUNT" >/dev/null || { echo "btrfs device errors on $POOL_MOUNT" >&2; exit 1; }
    echo "$POOL_MOUNT: ${used}% used, no device errors"
    ;;
notify)
    message="mediabox on $(hostname): ${2:-a maintenance job} failed or warned"
    echo "$message"
    if [ -n "${NOTIFY_URL:-}" ]; then
        curl -fsS -m 20 -d "$message" "$NOTIFY_URL" >/dev/null
    fi
    ;;
*)
    echo "usage: $0 scrub|snapshot|diskcheck|notify <unit>" >&2
    exit 2
    ;;
esac
