"""The daemon caps glibc's malloc arenas at start: where it can, and never over the user's say."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tracker import daemon


def _glibc() -> bool:
    try:
        return bool(os.confstr("CS_GNU_LIBC_VERSION"))
    except (AttributeError, ValueError, OSError):
        return False


@pytest.mark.skipif(not _glibc(), reason="mallopt is glibc's")
def test_the_cap_is_set_on_glibc_in_a_fresh_process() -> None:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    code = "from tracker.daemon import limit_malloc_arenas as f; print(f(), f(1))"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["True", "True"]


def test_a_malloc_arena_max_in_the_environment_stands(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert daemon.limit_malloc_arenas() is False


def test_elsewhere_than_glibc_nothing_is_done(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)

    def not_glibc(name: str) -> str:
        raise ValueError(f"unrecognized configuration name {name!r}")  # as on macOS

    monkeypatch.setattr(os, "confstr", not_glibc)
    assert daemon.limit_malloc_arenas() is False
    monkeypatch.setattr(os, "confstr", lambda name: None)  # a libc that is not GNU
    assert daemon.limit_malloc_arenas() is False
