"""The suite's own rules (tests/conftest.py), checked on a throwaway suite in a child pytest.

1. Tests sharing a module- or class-scoped fixture run on one xdist worker, so the fixture is
   built once. pytest-xdist's `loadgroup` silently stopped grouping on pytest 9.2 (xdist issue
   #1386): this is the test that notices such an upgrade.
2. With CI set, a test that skips for want of a tool, data or collectors fails instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CONFTEST = """\
from tests.conftest import (  # noqa: F401  the rules under test
    pytest_collection_modifyitems,
    pytest_make_collect_report,
    pytest_runtest_makereport,
)
"""

SHARED = """\
import json, os
import pytest

@pytest.fixture(scope="module")
def built():
    return os.environ.get("PYTEST_XDIST_WORKER", "main")

@pytest.mark.parametrize("i", range(6))
def test_uses_the_shared_fixture(built, i):
    with open(os.environ["WORKERS_SEEN"], "a") as f:
        f.write(json.dumps([built, os.environ.get("PYTEST_XDIST_WORKER")]) + "\\n")

@pytest.mark.parametrize("i", range(6))
def test_needs_nothing(i):
    pass
"""

SKIPPING = """\
import pytest

def test_without_its_tool():
    pytest.skip("ruff not installed")

@pytest.mark.parametrize("name", [])
def test_each_collector(name):
    pass

def test_across_midnight():
    pytest.skip("the rounds crossed UTC midnight: the daily windows moved under them")
"""


def child_pytest(
    folder: Path, files: dict[str, str], *args: str, ci: bool
) -> subprocess.CompletedProcess[str]:
    (folder / "tests").mkdir()
    (folder / "tests" / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    for name, text in files.items():
        (folder / "tests" / name).write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_XDIST_WORKER")}
    env["PYTHONPATH"] = str(ROOT)
    env["WORKERS_SEEN"] = str(folder / "workers.jsonl")
    if ci:
        env["CI"] = "true"
    # Only the plugin under test: the others installed (schemathesis, hypothesis, playwright)
    # cost the child seconds of imports and play no part in these rules.
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "xdist.plugin", "-p", "no:cacheprovider",
         "-c", os.devnull,
         "--rootdir", str(folder), "--basetemp", str(folder / "tmp"), *args,
         str(folder / "tests")],
        cwd=folder, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_a_shared_fixture_is_built_once_on_one_worker(tmp_path: Path) -> None:
    run = child_pytest(
        tmp_path, {"test_shared.py": SHARED}, "-n", "2", "--dist", "loadgroup", ci=False
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "12 passed" in run.stdout
    seen = [json.loads(line) for line in (tmp_path / "workers.jsonl").read_text().splitlines()]
    assert len(seen) == 6
    # Every test that used the fixture ran on the worker that built it, and that was one worker.
    assert len({tuple(pair) for pair in seen}) == 1, seen
    built, ran = seen[0]
    assert built == ran and ran.startswith("gw")


def test_on_ci_a_skip_for_something_missing_fails(tmp_path: Path) -> None:
    run = child_pytest(tmp_path, {"test_skipping.py": SKIPPING}, "-n", "0", "-rA", ci=True)
    assert run.returncode == 1, run.stdout + run.stderr
    out = run.stdout
    assert "FAILED tests/test_skipping.py::test_without_its_tool" in out
    assert "skipped on CI, where nothing may be missing (CI is set)" in out
    assert "ruff not installed" in out
    # An empty parameter set (e.g. no collectors registered) fails too.
    assert "got empty parameter set" in out and "test_each_collector" in out
    # A skip that says nothing about the machine stays a skip.
    assert "SKIPPED [1] tests/test_skipping.py" in out and "the rounds crossed UTC midnight" in out
    assert "1 failed, 1 skipped, 1 error" in out


def test_off_ci_the_same_tests_skip(tmp_path: Path) -> None:
    run = child_pytest(tmp_path, {"test_skipping.py": SKIPPING}, "-n", "0", ci=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 skipped" in run.stdout and "failed" not in run.stdout
