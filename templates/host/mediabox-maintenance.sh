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
export)
    mountpoint -q "$POOL_MOUNT"
    [ -n "$EXPORT_TARGET" ] || { echo "export_target is not set" >&2; exit 2; }
    mountpoint -q "$EXPORT_TARGET" || [ -d "$EXPORT_TARGET" ] || { echo "$EXPORT_TARGET does not exist" >&2; exit 1; }
    snaps="$POOL_MOUNT/snapshots"
    snap=$(ls -1 "$snaps" | grep '^appdata-' | grep -v -- '-before-restore$' | tail -n 1 || true)
    [ -n "$snap" ] || { echo "no snapshot of appdata to export yet" >&2; exit 1; }
    if [ "$(stat -f -c %T "$EXPORT_TARGET")" = btrfs ]; then
        if [ -e "$EXPORT_TARGET/$snap" ]; then echo "$snap is already in $EXPORT_TARGET"; exit 0; fi
        # incremental from the newest snapshot both sides hold
        parent=$(ls -1 "$EXPORT_TARGET" | grep '^appdata-' | grep -v -- '-before-restore$' | tail -n 1 || true)
        if [ -n "$parent" ] && [ -d "$snaps/$parent" ]; then
            btrfs send -q -p "$snaps/$parent" "$snaps/$snap" | btrfs receive -q "$EXPORT_TARGET"
            echo "exported $snap to $EXPORT_TARGET, incremental from $parent"
        else
            btrfs send -q "$snaps/$snap" | btrfs receive -q "$EXPORT_TARGET"
            echo "exported $snap to $EXPORT_TARGET, whole"
        fi
        old=$(ls -1 "$EXPORT_TARGET" | grep '^appdata-' | grep -v -- '-before-restore$' \
            | head -n "-$EXPORT_KEEP" || true)
        for name in $old; do
            if btrfs property get -ts "$EXPORT_TARGET/$name" ro | grep -q "ro=true"; then
                btrfs subvolume delete -c "$EXPORT_TARGET/$name" >/dev/null
            fi
        done
    else
        file="$EXPORT_TARGET/$snap.btrfs.zst"
        if [ -e "$file" ]; then echo "$file exists"; exit 0; fi
        btrfs send -q "$snaps/$snap" | zstd -q -T0 -o "$file.partial" || { rm -f "$file.partial"; exit 1; }
        mv "$file.partial" "$file"
        echo "exported $snap to $file ($(du -h "$file" | cut -f1))"
        ls -1 "$EXPORT_TARGET" | grep '^appdata-.*\.btrfs\.zst$' | head -n "-$EXPORT_KEEP" \
            | while read -r name; do rm -f "$EXPORT_TARGET/$name"; done || true
    fi
    ;;
diskcheck)
    mountpoint -q "$POOL_MOUNT" || { echo "$POOL_MOUNT is not mounted" >&2; exit 1; }
    used=$(df --output=pcent "$POOL_MOUNT" | tail -n 1 | tr -dc '0-9')
    [ "$used" -lt "$DISK_SPACE_WARN_PERCENT" ] || { echo "$POOL_MOUNT is ${used}% full" >&2; exit 1; }
    btrfs device stats -c "$POOL_MOUNT" >/dev/null || { echo "btrfs device errors on $POOL_MOUNT" >&2; exit 1; }
    echo "$POOL_MOUNT: ${used}% used, no device errors"
    ;;
containers)
    # The project's containers by their compose labels (docker ps: compose itself would parse the project first).
    # Running and healthy, or running with no health check, or still starting after a restart.
    list=$(docker ps -a --filter "label=com.docker.compose.project=$COMPOSE_PROJECT" \
        --format '{{.Label "com.docker.compose.service"}} {{.State}} {{.Status}}')
    bad=$(echo "$list" | awk 'NF && ($2 != "running" || /\(unhealthy\)/) {
        print $1 " " $2 (/\(unhealthy\)/ ? " unhealthy" : "") }')
    [ -z "$bad" ] || { echo "not healthy: $(echo "$bad" | paste -sd ',' | sed 's/,/, /g')" >&2; exit 1; }
    echo "$(echo "$list" | awk '$2 == "running"' | wc -l) containers running, none unhealthy"
    ;;
notify)
    message="mediabox on $(hostname): ${2:-a maintenance job} failed or warned"
    if [ -n "${2:-}" ] && [ -z "${SMARTD_MESSAGE:-}" ]; then
        # The failed run's lines, by its main process: journald leaves _SYSTEMD_INVOCATION_ID off the lines it
        # reads after the job's cgroup is gone, so the invocation id misses the last words of a quick failure.
        run=$(systemctl show -p ExecMainPID --value "$2" 2>/dev/null || true)
        [ "$run" != 0 ] || run=
        # the failed job's last words may still be on their way to journald: wait for them, briefly
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            journalctl --sync 2>/dev/null || true
            said=$(journalctl "_SYSTEMD_UNIT=$2" "_PID=$run" -n 3 -o cat --no-pager 2>/dev/null | paste -sd ' ' || true)
            [ -z "$run" ] || [ -n "$said" ] || { sleep 0.5; continue; }
            break
        done
        [ -z "$run" ] || [ -z "$said" ] || message="$message: $said"
    fi
    echo "$message"
    if [ -n "${NOTIFY_URL:-}" ]; then
        curl -fsS -m 20 -d "$message" "$NOTIFY_URL" >/dev/null
    fi
    ;;
*)
    echo "usage: $0 scrub|snapshot|diskcheck|export|containers|notify <unit>" >&2
    exit 2
    ;;
esac
