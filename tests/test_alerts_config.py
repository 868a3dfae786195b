"""`[[alerts]]` rules in the config: validated like the rest (file, key, why; exit 2), every
number bounded, and the shipped config's commented examples valid once uncommented."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from tests.entry import Main
from tracker import config as config_module
from tracker.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "config" / "tracker.toml"
HUGE = [2**70, -(2**62), math.nan, math.inf, -1e300]


@pytest.mark.parametrize(
    ("rule", "key", "why"),
    [
        ('kind = "threshold"\nabove = 1\nbelow = 2', "alerts[0]", "one of above or below"),
        ('kind = "growth"\npercent = 10', "alerts[0]", "needs window"),
        ('kind = "chart"\nevent = "sideways"', "alerts[0].event", "'enters'"),
        ('kind = "failing"\nspent = 0.5\nrounds = 2', "alerts[0]", "not a setting of a failing"),
        ('kind = "growth"\ntimes = 3\nbaseline = "nope"', "alerts[0].baseline", "no campaign"),
        ('kind = "threshold"\nabove = "lots"', "alerts[0].above", "expected a number"),
    ],
)
def test_a_bad_rule_names_the_file_the_key_and_why(
    tmp_path: Path,
    rule: str,
    key: str,
    why: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "tracker.toml"
    path.write_text(f'[[alerts]]\nname = "r"\n{rule}\n', encoding="utf-8")
    with pytest.raises(config_module.ConfigError) as raised:
        config_module.load(path)
    assert raised.value.key.startswith(key) and why in raised.value.reason
    done = Main(monkeypatch, capsys)("alerts", "list", env={"TRACKER_CONFIG": str(path)})
    assert done.returncode == 2 and str(path) in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("setting", "kind"),
    [
        ("above", "threshold"),
        ("by", "growth"),
        ("percent", "growth"),
        ("times", "growth"),
        ("window", "growth"),
        ("rounds", "failing"),
        ("no_success_for", "failing"),
        ("spent", "quota"),
        ("hysteresis", "threshold"),
        ("per_hour", "threshold"),
        ("retries", "threshold"),
    ],
)
def test_every_number_of_a_rule_refuses_hostile_values(
    setting: str, kind: str, tmp_path: Path
) -> None:
    path = tmp_path / "tracker.toml"
    for value in HUGE:
        text = (
            repr(value)
            if not isinstance(value, float) or math.isfinite(value)
            else ("nan" if math.isnan(value) else ("inf" if value > 0 else "-inf"))
        )
        path.write_text(
            f'[[alerts]]\nname = "r"\nkind = "{kind}"\n{setting} = {text}\n', encoding="utf-8"
        )
        with pytest.raises(ConfigError) as raised:
            config_module.load(path)
        assert raised.value.key.startswith("alerts[0]"), (value, raised.value)
        assert len(str(raised.value)) < 400


def test_the_shipped_config_sends_nothing_and_its_examples_are_valid(tmp_path: Path) -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    assert config_module.load(SHIPPED).alerts == []
    start = text.index("# --- Alerts")
    section = text[start : text.index("# --- ", start + 1)]
    uncommented = re.sub(r"(?m)^# (\[\[alerts\]\]|\w+ = )", r"\1", section)
    path = tmp_path / "tracker.toml"
    path.write_text(text.replace(section, uncommented), encoding="utf-8")
    rules = config_module.load(path).alerts
    assert {r.kind for r in rules} == {"threshold", "growth", "chart", "claim", "failing", "quota"}
    assert len(rules) == 7
    assert rules[0].baseline == "kit-connor-instagram-prelaunch" and rules[0].times == 10
