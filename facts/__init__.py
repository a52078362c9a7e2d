"""Custom pyinfra facts, one module per domain, each with JSON fixture tests under tests/facts/."""


def colon_fields(lines) -> dict[str, str]:
    """'Key: value' lines (smartctl, btrfs scrub status) as a dict; other lines are skipped."""
    fields = {}
    for line in lines:
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields
