"""libyaml's emitter writes what PyYAML's own would, byte for byte: for the compose project and Homepage's files
with every service on, and for scalars that each need quoting, escaping or folding of their own."""

from __future__ import annotations

import pytest
import yaml

from mediabox import compose, homepage, yamltext
from mediabox.catalog import SERVICES
from tests.unit.test_compose import secrets_for, settings

AWKWARD = ["", " lead", "trail ", "a: b", "- x", "yes", "no", "on", "null", "~", "1e3", "0x1F", "012", "1_000",
           "é ünïcode", "tab\there", "new\nline", "#hash", "x #y", "'q'", '"dq"', "{a}", "[b]", "*star", "&amp",
           "!bang", "%pct", "@at", "`tick", "a" * 300, "word " * 40, "\u2028", "\x85", "emoji 🎬", "=", "<<", "?",
           "-", ":", "a:b", "http://x:1/y?z=1&q", "C:\\path", "2026-12-07", "12:30", "+1", ".5", ".inf", "NaN"]


def pure(document, **options) -> str:
    return yaml.dump(document, Dumper=yaml.SafeDumper, sort_keys=False, **options)


def test_libyaml_is_the_emitter():
    assert yamltext.DUMPER is yaml.CSafeDumper, "PyYAML without libyaml: the lab's pinned wheel has it"


def test_the_project_and_homepage_files_are_what_pyyaml_writes(monkeypatch):
    s = settings(**{f"{name}_enabled": True for name in SERVICES}, guest_memory_mb=10240)
    fast = compose.render(s, secrets_for(s), render_gid=104).files()
    fast_home = homepage.services_yaml(s), homepage.widgets_yaml()
    monkeypatch.setattr(yamltext, "DUMPER", yaml.SafeDumper)
    assert compose.render(s, secrets_for(s), render_gid=104).files() == fast
    assert (homepage.services_yaml(s), homepage.widgets_yaml()) == fast_home


@pytest.mark.parametrize("width", [120, None])
def test_awkward_scalars_come_out_the_same(width):
    options = {"width": width} if width else {}
    document = {"list": AWKWARD, "map": {text: text for text in AWKWARD if text},
                "other": [1, 1.5, True, None, -0.0, 10**20]}
    assert yamltext.dump(document, **options) == pure(document, **options)
