"""Every registered collector ships its commented config block and a README section."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tracker.collectors import registry

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
CONFIG = (ROOT / "config" / "tracker.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(registry.available()))
def test_collector_has_a_commented_config_block(name: str) -> None:
    block = re.search(rf"^\[sources\.{name}\]\n(.*?)(?=^\[|\Z)", CONFIG, re.M | re.S)
    assert block, f"config/tracker.toml has no [sources.{name}] block"
    assert "base_url" in block.group(1)
    assert "#" in block.group(1), f"[sources.{name}] has no comment explaining it"


@pytest.mark.parametrize("name", sorted(registry.available()))
def test_collector_has_a_readme_section(name: str) -> None:
    assert re.search(rf"^### {name}\b", README, re.M), f"README.md has no '### {name}' section"


@pytest.mark.parametrize("name", sorted(registry.available()))
def test_collector_base_url_env_var_is_documented(name: str) -> None:
    assert f"TRACKER_SOURCES__{name.upper()}__BASE_URL" in README


def test_readme_test_command_is_what_ci_runs() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = (
        ".venv/bin/pip install -q -c requirements.lock -e '.[test]' && .venv/bin/python -m pytest"
    )
    assert command in README and command in ci
