"""Shared by the fuzz suites: run the CLI in-process and check that a bad input was rejected cleanly.

A clean rejection is exit code 2, exactly one line on stderr (``epictl: error: ...``) naming the
offending key, file or line, no traceback anywhere, and no run folder left behind.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

from epictl.cli import main


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str


def run_cli(*args: str) -> CliResult:
    """``epictl <args>`` in this process (Hydra's own exits become the exit code)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return CliResult(code, out.getvalue(), err.getvalue())


def assert_clean_rejection(result: CliResult, expected: str, run_dir: Path | None = None) -> None:
    """Exit 2, one ``epictl: error:`` line containing ``expected``, no traceback, no run folder."""
    lines = result.stderr.strip().splitlines()
    assert result.code == 2, f"exit code {result.code}; stderr: {result.stderr[-2000:]}"
    assert len(lines) == 1, f"expected one line, got: {result.stderr[-2000:]}"
    assert lines[0].startswith("epictl: error: "), lines[0]
    assert expected in lines[0], f"{expected!r} not in {lines[0]!r}"
    assert "Traceback" not in result.stdout + result.stderr
    if run_dir is not None:
        assert not Path(run_dir).exists(), f"run folder left behind: {sorted(p.name for p in Path(run_dir).rglob('*'))}"
