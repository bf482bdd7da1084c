"""Shared steps of the paper-table scripts: run `epictl` as a subprocess, skip or resume what is done.

A training (`epictl train`, `epictl rebuild`) is skipped when its log reached its target (agent.updates
steps, rebuild.epochs epochs) and resumed when it has a checkpoint; an evaluation is skipped when its
metrics.csv holds every seed and is newer than the checkpoint it evaluated. A learner is trained several
times (training runs k = 0, 1, ...: folders train-s<k>, eval-s<k>), each with its own seed and training
episodes, and each evaluated at its best held-out evaluation (checkpoints/best.pt) when it has one.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.markup import escape

REPO = Path(__file__).resolve().parents[1]
console = Console(highlight=False)
COMPOSING = threading.Lock()  # Hydra's compose API is one global state: scripts running steps in threads share it

# --smoke settings of the rebuild network (Table 4, Figure 6): small and short, on the test city.
SMOKE_REBUILD = ["rebuild.hidden=32", "rebuild.layers=2", "rebuild.scale=20", "rebuild.epochs=10",
                 "rebuild.train_episodes=6", "rebuild.validation_episodes=2", "rebuild.test_episodes=2"]


TRAIN_SEED_STRIDE = 1_000_000  # training run k draws its episodes from train_seed_offset + k * stride on


def training_runs(count: int) -> list[tuple[int, list[str]]]:
    """Per training run: its index and the overrides giving it its own seed (network initialisation,
    exploration) and its own training episodes; the held-out and test seeds stay the same for all."""
    from epictl.config import TrainConfig

    offset = TrainConfig.train_seed_offset  # epictl train's default: training episodes far from the test seeds
    return [(k, [f"seed={k}", f"train_seed_offset={offset + k * TRAIN_SEED_STRIDE}"]) for k in range(count)]


def quoted(path: Path) -> str:
    return '"' + str(path).replace("\\", "\\\\").replace('"', '\\"') + '"'


def epictl(*args: str) -> None:
    command = [sys.executable, "-m", "epictl", *args]
    console.print("$ " + shlex.join(command), markup=False, style="dim", soft_wrap=True)
    subprocess.run(command, check=True, cwd=REPO)


def status(experiment: str | None, agent: str, step: str, text: str) -> None:
    console.print(f"[bold cyan]{experiment or ''}[/] {agent:<18} {step:<5} {text}")


def composed(command: str, overrides: list[str]):
    """The config `epictl <command>` composes from ``overrides``; a bad override ends the script with one line."""
    from hydra import compose, initialize_config_dir

    from epictl.app import one_line
    from epictl.config import register
    from epictl.paths import CONF_DIR

    register()
    try:
        with COMPOSING, initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3", job_name="pipeline"):
            return compose(config_name=command, overrides=overrides)
    except Exception as exc:  # a bad override: one line, as epictl would say it
        console.print(f"{Path(sys.argv[0]).name}: error: {one_line(exc)}", markup=False)
        raise SystemExit(2) from None


def logged(log: Path, column: str) -> int:
    """The last step or epoch in a training log (0: no log yet)."""
    try:
        return int(pd.read_csv(log)[column].max()) if log.is_file() else 0
    except (ValueError, KeyError, pd.errors.EmptyDataError):
        return 0


def resumable(command: str, experiment: str, what: str, run_dir: Path, overrides: list[str], target: int, done: int,
              unit: str) -> None:
    """`epictl <command>` into ``run_dir``: skipped when done, resumed from its checkpoint, else started."""
    checkpoint = run_dir / "checkpoints" / "last.pt"
    if done >= target and checkpoint.is_file():
        return status(experiment, what, "train", f"[green]skip[/] ({done}/{target} {unit})")
    resume = [f"resume={quoted(run_dir)}"] if checkpoint.is_file() else []
    status(experiment, what, "train", f"[yellow]{'resume' if resume else 'start'}[/] ({done}/{target} {unit})")
    epictl(command, *overrides, *resume, f"hydra.run.dir={quoted(run_dir)}", "progress=false")


def chosen(experiment: str | None) -> list[str]:
    """The override picking ``experiment`` (none: the env and budget come from the other overrides)."""
    return [f"experiment={experiment}"] if experiment else []


def train(experiment: str | None, agent: str, train_dir: Path, overrides: list[str]) -> None:
    overrides = [*chosen(experiment), f"agent={agent}", *overrides]
    target = int(composed("train", overrides).agent.updates)
    resumable("train", experiment, agent, train_dir, overrides, target, logged(train_dir / "train_log.csv", "step"),
              "steps")


def rebuild(experiment: str, run_dir: Path, overrides: list[str]) -> None:
    """The information-rebuilding network of ``experiment`` (`epictl rebuild`), trained into ``run_dir``."""
    overrides = [f"experiment={experiment}", *overrides]
    target = int(composed("rebuild", overrides).rebuild.epochs)
    resumable("rebuild", experiment, "rebuild", run_dir, overrides, target, logged(run_dir / "rebuild_log.csv", "epoch"),
              "epochs")


def evaluate(experiment: str | None, agent: str, eval_dir: Path, train_dir: Path | None, seeds: range,
             overrides: list[str]) -> None:
    """``agent`` over ``seeds`` into ``eval_dir``; a trained one at its best held-out evaluation if its training
    had any (checkpoints/best.pt), else where its training stopped."""
    metrics = eval_dir / "metrics.csv"
    pick = "best" if train_dir is not None and (train_dir / "checkpoints" / "best.pt").is_file() else "last"
    checkpoint = None if train_dir is None else train_dir / "checkpoints" / f"{pick}.pt"
    if metrics.is_file():
        have = set(pd.read_csv(metrics)["seed"])
        fresh = checkpoint is None or metrics.stat().st_mtime >= checkpoint.stat().st_mtime
        if set(seeds) <= have and fresh:
            return status(experiment, agent, "eval", f"[green]skip[/] ({len(seeds)} seeds)")
    status(experiment, agent, "eval", f"[yellow]start[/] ({len(seeds)} seeds)")
    extra = [] if train_dir is None else [f"checkpoint={quoted(train_dir)}", f"checkpoint_pick={pick}"]
    epictl("eval", *chosen(experiment), f"agent={agent}", f"seeds={len(seeds)}", *extra, *overrides,
           f"hydra.run.dir={quoted(eval_dir)}", "progress=false")


def reporting_failures(pipeline: Callable[[], None]) -> int:
    """Run ``pipeline``; a failed `epictl` step ends it with that step's exit code and its command line."""
    try:
        pipeline()
    except subprocess.CalledProcessError as exc:
        console.print(f"[red]failed[/] (exit {exc.returncode}): {escape(shlex.join(map(str, exc.cmd)))}", soft_wrap=True)
        return exc.returncode
    return 0


def in_parallel(jobs: list[Callable[[], None]], workers: int) -> None:
    """Run independent pipeline steps (each an `epictl` subprocess) ``workers`` at a time; the first failure stops
    the rest from starting and is raised."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(job) for job in jobs]
        try:
            for future in futures:
                future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def write_table(output_dir: Path, name: str, long: pd.DataFrame, text: str) -> None:
    """A table script's result: the long table as ``<name>.csv``, the markdown as ``<name>.md``, printed too."""
    from epictl.report.files import write_csv, write_text

    write_csv(output_dir / f"{name}.csv", long)
    write_text(output_dir / f"{name}.md", text)
    print(text)
    console.print(f"[bold]wrote[/] {escape(str(output_dir / name))}.md and .csv")
