"""What ran, recorded in every run folder beside Hydra's config snapshot (`.hydra/`): `provenance.yaml`
names the command line, the epictl version and the git commit of the code (and whether it had
uncommitted changes), so a result can be traced to the code that produced it."""

from __future__ import annotations

import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from epictl.atomic import write_atomic

REPOSITORY = Path(__file__).resolve().parents[1]
FILE = "provenance.yaml"


def git(*args: str) -> str | None:
    """``git <args>`` in the code's repository; None when it is not one (an installed wheel) or git is missing."""
    try:
        done = subprocess.run(["git", "-C", str(REPOSITORY), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def epictl_version() -> str:
    try:
        return version("epictl")
    except PackageNotFoundError:
        return "unknown"


def record(run_dir: Path, command: str, overrides: list[str]) -> None:
    commit = git("rev-parse", "HEAD")
    changes = git("status", "--porcelain", "--untracked-files=no")
    lines = {
        "command": " ".join(["epictl", command, *overrides]),
        "epictl_version": epictl_version(),
        "git_commit": commit or "unknown (not a git checkout)",
        "uncommitted_changes": "unknown" if changes is None else str(bool(changes)).lower(),
        "python": platform.python_version(),
    }
    text = "".join(f"{key}: {quoted(value)}\n" for key, value in lines.items())
    write_atomic(Path(run_dir) / FILE, lambda tmp: tmp.write_text(text))


def quoted(value: str) -> str:
    """A yaml scalar that stays a string whatever it holds (an override may contain ': ' or quotes)."""
    if value in ("true", "false"):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
