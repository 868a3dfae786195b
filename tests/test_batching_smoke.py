"""benchmarks.batching at a tiny size: it still runs and reports every platform. Never timed."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from benchmarks import batching


def test_wall_and_cpu_sections_report_each_platform(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batching, "LEVELS", {**batching.LEVELS, "mastodon": (8,)})
    out = tmp_path / "batching.json"
    argv = ["--accounts", "30", "--delay", "0.001", "--repeat", "1", "--out", str(out)]
    argv += ["--malloc-arenas", "0"]  # the test process keeps glibc's default
    batching.main([*argv, "--only", "wall", "--only", "cpu"])
    printed = capsys.readouterr().out
    assert "2. round wall time" in printed and "3. CPU per stored snapshot" in printed
    report = json.loads(out.read_text())
    assert [w["platform"] for w in report["wall"]] == [
        "bluesky", "bluesky", "youtube", "youtube", "x", "x", "mastodon"
    ]  # fmt: skip
    cpu = {c["platform"]: c for c in report["cpu"]}
    assert set(cpu) == {"bluesky", "youtube", "x", "mastodon"}
    # Every account answered: YouTube gives three values a channel, the others one.
    assert {name: c["snapshots"] for name, c in cpu.items()} == {
        "bluesky": 30, "youtube": 90, "x": 30, "mastodon": 30
    }  # fmt: skip
    assert {name: c["requests"] for name, c in cpu.items()} == {
        "bluesky": 2, "youtube": 1, "x": 1, "mastodon": 30
    }  # fmt: skip
    for c in cpu.values():
        assert c["cpu_s"] > 0 and math.isfinite(c["cpu_us_per_snapshot"])
        assert len(c["runs_cpu_s"]) == 1


def test_the_wall_section_measures_the_time_after_the_last_answer_for_chosen_platforms(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "batching.json"
    argv = ["--accounts", "30", "--delay", "0.001", "--repeat", "1", "--out", str(out)]
    batching.main([*argv, "--malloc-arenas", "0", "--only", "wall", "--platform", "x"])
    assert "after last answer ms" in capsys.readouterr().out
    report = json.loads(out.read_text())
    assert [(w["platform"], w["concurrency"]) for w in report["wall"]] == [("x", 1), ("x", 4)]
    for w in report["wall"]:
        assert 0 <= w["tail_s"] < w["seconds"]
    assert len(report["load_average"]) == 3
