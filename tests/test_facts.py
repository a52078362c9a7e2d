"""JSON fixture tests for facts/, as pyinfra's own: tests/facts/<module>.<Fact>/<case>.json holds the
fact's arguments, the command it must run, a real output and the value it must parse to."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest
from pyinfra.api import FactBase

FIXTURES = Path(__file__).parent / "facts"
CASES = sorted(FIXTURES.glob("*/*.json"))


def fact_class(folder: str):
    module, name = folder.rsplit(".", 1)
    return getattr(importlib.import_module(f"facts.{module}"), name)


def test_every_custom_fact_has_fixtures():
    import facts

    found = set()
    for path in Path(facts.__file__).parent.glob("*.py"):
        if path.stem != "__init__":
            module = importlib.import_module(f"facts.{path.stem}")
            found |= {f"{path.stem}.{n}" for n, obj in vars(module).items()
                      if isinstance(obj, type) and issubclass(obj, FactBase) and obj.__module__ == module.__name__
                      and not n.startswith("_")}
    assert found and found <= {case.parent.name for case in CASES}


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.stem}" for c in CASES])
def test_fact(case):
    spec = json.loads(case.read_text())
    fact = fact_class(case.parent.name)()
    args = spec.get("arg", {})
    command = fact.command(**args) if callable(fact.command) else fact.command
    assert (command if isinstance(command, str) else command.get_raw_value()) == spec["command"]
    assert fact.process(spec["output"]) == spec["fact"]


def test_samba_fingerprint_captured_from_real_samba_matches_the_password():
    """The captured pdbedit output agrees with mediabox.ntlm for the password the capture set."""
    from mediabox.ntlm import fingerprint
    from tests.facts.capture import CAPTURE_PASSWORD

    spec = json.loads((FIXTURES / "samba.SambaPasswordFingerprint" / "user_with_password.json").read_text())
    assert spec["fact"] == fingerprint(CAPTURE_PASSWORD)
