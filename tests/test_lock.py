"""requirements.lock pins the whole dependency tree (runtime + the test extra) at the versions
the suite runs on: a dependency added to pyproject.toml without refreshing the lock fails here."""

from __future__ import annotations

import os
import re
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
# .ci/refresh-lock points this at the lock it is about to write.
LOCK = Path(os.environ.get("TRACKER_LOCK_FILE") or ROOT / "requirements.lock")
REFRESH = "refresh it with .ci/refresh-lock"
_PIN = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s=;#]+)")


def pins() -> dict[str, str]:
    found: dict[str, str] = {}
    for number, line in enumerate(LOCK.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        match = _PIN.fullmatch(line.strip())
        assert match, f"{LOCK.name} line {number}: {line!r} is not name==version"
        found[canonicalize_name(match.group(1))] = match.group(2)
    return found


def installed_tree(
    root: str = "tracker", extras: frozenset[str] = frozenset({"test"})
) -> dict[str, str]:
    """Every distribution tracker[test] needs here, transitively: name -> installed version."""
    tree: dict[str, str] = {}
    todo = [(root, extras)]
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        name, wanted = todo.pop()
        if (name, wanted) in seen:
            continue
        seen.add((name, wanted))
        dist = metadata.distribution(name)
        if name != root:
            tree[canonicalize_name(name)] = dist.version
        for text in dist.requires or []:
            requirement = Requirement(text)
            marker = requirement.marker
            if marker and not any(marker.evaluate({"extra": e}) for e in wanted | {""}):
                continue
            todo.append((requirement.name, frozenset(requirement.extras)))
    return tree


def test_the_lock_pins_every_dependency_at_the_installed_version() -> None:
    locked, tree = pins(), installed_tree()
    assert "pytest" in tree and "httpx" in tree and "platformdirs" in tree
    missing = sorted(set(tree) - set(locked))
    assert not missing, f"not pinned in {LOCK.name}: {', '.join(missing)}; {REFRESH}"
    differ = {name: (tree[name], locked[name]) for name in tree if tree[name] != locked[name]}
    assert not differ, (
        f"installed (left) differs from {LOCK.name} (right): {differ}; install with "
        f"`.venv/bin/pip install -c requirements.lock -e '.[test]'`, or {REFRESH}"
    )


def test_the_lock_does_not_pin_tracker_itself() -> None:
    assert "tracker" not in pins()
