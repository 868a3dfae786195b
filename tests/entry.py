"""`tracker` through its console entry point, in this process: the same code path as the
installed script (argv, environment, exit code, stdout and stderr) without an interpreter
start per call. Any exception other than the SystemExit `main()` ends with escapes to the
test: that is the traceback a user would have seen.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

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
