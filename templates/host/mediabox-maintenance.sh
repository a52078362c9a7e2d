#!/bin/bash
# Maintenance of the mediabox pool (on the Proxmox host) and of its stack (in a Docker guest), run by the
# mediabox-*.timer units. Managed by mediabox: edits are overwritten.
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
containers)
    cd "$STACK_DIR"
    # running and healthy, or running with no health check, or still starting after a restart
    bad=$(docker compose ps -a --format '{{.Service}} {{.State}} {{.Health}}' \
        | awk '$2 != "running" || $3 == "unhealthy" { print $1 " " $2 ($3 ? " " $3 : "") }')
    [ -z "$bad" ] || { echo "not healthy: $(echo "$bad" | paste -sd ',' | sed 's/,/, /g')" >&2; exit 1; }
    echo "$(docker compose ps -q | wc -l) containers running, none unhealthy"
    ;;
notify)
    message="mediabox on $(hostname): ${2:-a maintenance job} failed or warned"
    if [ -n "${2:-}" ] && [ -z "${SMARTD_MESSAGE:-}" ]; then
        run=$(systemctl show -p InvocationID --value "$2" 2>/dev/null || true)
        said=$(journalctl "_SYSTEMD_INVOCATION_ID=$run" -n 3 -o cat --no-pager 2>/dev/null | paste -sd ' ' || true)
        [ -z "$run" ] || [ -z "$said" ] || message="$message: $said"
    fi
    echo "$message"
    if [ -n "${NOTIFY_URL:-}" ]; then
        curl -fsS -m 20 -d "$message" "$NOTIFY_URL" >/dev/null
    fi
    ;;
*)
    echo "usage: $0 scrub|snapshot|diskcheck|containers|notify <unit>" >&2
    exit 2
    ;;
esac
