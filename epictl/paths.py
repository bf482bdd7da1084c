"""Where epictl finds its config tree (`EPICTL_CONF` overrides the repository's conf/) and where runs write."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CONF_DIR = Path(os.environ.get("EPICTL_CONF", Path(__file__).resolve().parents[1] / "conf"))

CHECKPOINT = Path("checkpoints") / "last.pt"  # a training run's checkpoint, inside its run folder
# The agent at its best held-out evaluation so far (`epictl train` with validation.every > 0).
BEST_CHECKPOINT = Path("checkpoints") / "best.pt"
CHECKPOINTS = {"last": CHECKPOINT, "best": BEST_CHECKPOINT}  # eval's checkpoint_pick
# What Hydra and epictl write into a run folder before the command itself writes anything
# (provenance.yaml: report/provenance.py).
HYDRA_LEFTOVERS = (".hydra", "multirun.yaml", "provenance.yaml")


def claim_run_dir(wanted: Path) -> Path:
    """Create ``wanted``, or ``wanted-2``, ``wanted-3``, ... if taken: each one exists for this process alone.

    `os.mkdir` fails when the folder exists, so two runs started in the same second never share one.
    """
    number = 1
    while number < 10_000:
        candidate = wanted if number == 1 else wanted.with_name(f"{wanted.name}-{number}")
        candidate.parent.mkdir(parents=True, exist_ok=True)
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            number += 1
        except FileNotFoundError:  # a failed run removed the empty parent between our two mkdirs: again
            continue
    raise FileExistsError(f"{wanted}: every suffix up to -9999 is taken")


def first_missing(path: Path) -> Path | None:
    """The outermost folder of ``path`` that does not exist yet (None if ``path`` exists)."""
    missing = None
    for folder in (path, *path.parents):
        if folder.exists():
            return missing
        missing = folder
    return missing


def only_leftovers(folder: Path) -> bool:
    """True when ``folder`` holds nothing but Hydra's snapshot and logs (a sweep: and job folders of the same)."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return False
    return all(entry.name in HYDRA_LEFTOVERS or (entry.is_file() and entry.suffix == ".log")
               or (entry.is_dir() and (entry / ".hydra").is_dir() and only_leftovers(entry)) for entry in entries)


def remove_leftover_run_dir(folder: Path, created_from: Path | None = None) -> None:
    """Remove ``folder`` if a failed run left nothing in it but Hydra's files, then the parents this run
    created (up to ``created_from``) that are empty now."""
    folder = Path(folder)
    if not folder.is_dir() or not only_leftovers(folder):
        return
    shutil.rmtree(folder, ignore_errors=True)
    if created_from is None or created_from not in folder.parents:
        return
    for parent in folder.parents:
        try:
            parent.rmdir()  # only while empty: another run may be starting in it
        except OSError:
            return
        if parent == created_from:
            return
