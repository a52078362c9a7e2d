"""The YAML mediabox writes to guests (the compose project, Homepage's files): libyaml's emitter when PyYAML has
it, ~4x faster than PyYAML's own and byte for byte the same (tests/unit/test_yamltext.py), else PyYAML's own. A
different byte would make a re-run rewrite the file."""

from __future__ import annotations

import yaml

DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def dump(document, **options) -> str:
    """safe_dump's text for document, keys in their given order."""
    return yaml.dump(document, Dumper=DUMPER, sort_keys=False, **options)
