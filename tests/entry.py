"""`tracker` through its console entry point, in this process: the same code path as the
installed script (argv, environment, exit code, stdout and stderr) without an interpreter
start per call. Any exception other than the SystemExit `main()` ends with escapes to the
test: that is the traceback a user would have seen.
"""

from __future__ import annotations

import importlib
import io
import logging
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from tracker import cli


class Main:
    def __init__(self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
        self.monkeypatch = monkeypatch
        self.capsys = capsys

    def __call__(
        self, *args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        root = logging.getLogger()
        handlers, level = root.handlers[:], root.level
        with self.monkeypatch.context() as patch:
            for name in [n for n in os.environ if n.startswith("TRACKER_")]:
                patch.delenv(name)
            for name, value in (env or {}).items():
                patch.setenv(name, value)
            if cwd is not None:
                patch.chdir(cwd)
            patch.setattr(sys, "argv", ["tracker", *args])
            self.capsys.readouterr()
            try:
                with pytest.raises(SystemExit) as exited:
                    cli.main()
            finally:
                out, err = self.capsys.readouterr()
                # `tracker run` points the root logger at the (captured) stderr: undo it.
                root.handlers[:], root.level = handlers, level
                logging.getLogger("tracker").setLevel(logging.NOTSET)
        code = exited.value.code
        returncode = code if isinstance(code, int) else (0 if code is None else 1)
        return subprocess.CompletedProcess(list(args), returncode, out, err)


def run(
    *args: str,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    plugins: Sequence[Path] = (),
) -> subprocess.CompletedProcess[str]:
    """`tracker ARGS` in this process, as `subprocess.run([python, -m, tracker, ...], env=env,
    cwd=cwd, capture_output=True, text=True)` would run it: `env` is the whole environment
    (None: this one), `plugins` are folders on the path as PYTHONPATH would put them.

    For helpers that are plain functions (no fixtures at hand). Everything it changes (the
    environment, the directory, argv, the standard streams, the root logger, sys.path and the
    plugin registries) is put back afterwards.
    """
    from tracker.collectors import registry as collectors
    from tracker.importers import registry as importers
    from tracker.read import names
    from tracker.store import engine as engines

    made: list[Any] = []
    create = engines.create_engine

    def recorded(*a: Any, **k: Any) -> Any:
        made.append(create(*a, **k))
        return made[-1]

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    saved_env, saved_cwd, saved_argv = dict(os.environ), os.getcwd(), sys.argv
    saved_streams, saved_path, saved_modules = (sys.stdout, sys.stderr), sys.path[:], {*sys.modules}
    out, err = _stream(), _stream()
    code: object = 0
    try:
        if env is not None:
            os.environ.clear()
            os.environ.update(env)
        if cwd is not None:
            os.chdir(cwd)
        if plugins:
            sys.path[:0] = [str(p) for p in plugins]
            _forget_plugins(collectors, importers, names)
        sys.argv = ["tracker", *args]
        sys.stdout, sys.stderr = out, err
        engines.create_engine = recorded
        try:
            cli.main()
        except SystemExit as exited:
            code = exited.code
    finally:
        # What a process's exit would close: its database connections.
        engines.create_engine = create
        for engine in made:
            engine.dispose()
        sys.stdout, sys.stderr = saved_streams
        sys.argv = saved_argv
        os.chdir(saved_cwd)
        if env is not None:
            os.environ.clear()
            os.environ.update(saved_env)
        root.handlers[:], root.level = handlers, level
        logging.getLogger("tracker").setLevel(logging.NOTSET)
        if plugins:
            sys.path[:] = saved_path
            for name in {*sys.modules} - saved_modules:  # the plugins' own modules only
                where = getattr(sys.modules[name], "__file__", None) or ""
                if any(Path(where).is_relative_to(p) for p in plugins):
                    del sys.modules[name]
            _forget_plugins(collectors, importers, names)
    returncode = code if isinstance(code, int) else (0 if code is None else 1)
    return subprocess.CompletedProcess(["tracker", *args], returncode, _text(out), _text(err))


def _stream() -> io.TextIOWrapper:
    """A standard stream as a child's pipe would be: UTF-8 text over bytes, not a terminal."""
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)


def _text(stream: io.TextIOWrapper) -> str:
    stream.flush()
    raw = stream.buffer
    assert isinstance(raw, io.BytesIO)
    # text=True reads a pipe with universal newlines.
    return raw.getvalue().decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def _forget_plugins(*modules: Any) -> None:
    importlib.invalidate_caches()
    cli.root_command.cache_clear()  # its `import` group lists the importers found at first use
    for module in modules:
        forget = getattr(module, "clear", None) or module.platforms.cache_clear
        forget()
