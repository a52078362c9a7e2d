"""group_data/all.py is the public API: it names exactly the model's settings, each one commented."""

from __future__ import annotations

import ast
from pathlib import Path

from mediabox.catalog import SERVICES
from mediabox.settings import ALL_PY, KNOWN_KEYS, defaults, parse


def assigned_names(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text())
    return [(node.targets[0].id, node.lineno) for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)]


def test_all_py_names_exactly_the_models_settings():
    assert set(defaults()) == KNOWN_KEYS


def test_every_setting_is_commented():
    """An inline comment, or a comment line in the setting's paragraph (lines up to a blank one)."""
    lines = ALL_PY.read_text().splitlines()
    for name, lineno in assigned_names(ALL_PY):
        paragraph, i = [], lineno - 1
        while i >= 0 and lines[i].strip():
            paragraph.append(lines[i])
            i -= 1
        assert "#" in lines[lineno - 1] or any(line.startswith("#") for line in paragraph), f"{name} has no comment"


def test_defaults_parse_cleanly():
    settings, problems = parse(defaults())
    assert problems == [] and settings is not None


def test_every_service_has_a_toggle():
    assert {f"{name}_enabled" for name in SERVICES} <= set(defaults())


def test_group_files_set_connection_keys_and_known_settings_only():
    """A group file may size its group's guests (nas_guests.py does), but every name must be a setting."""
    for path in ALL_PY.parent.glob("*.py"):
        if path.name != "all.py":
            assert all(name.startswith("ssh_") or name in KNOWN_KEYS for name, _ in assigned_names(path)), path
