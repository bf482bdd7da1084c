"""Hydra side of the CLI: validate overrides up front (one-line errors), then hand over to Hydra."""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from epictl.config import register
from epictl.errors import EpictlError
from epictl.paths import CONF_DIR
from epictl.validation import validate_run_config

MULTIRUN_FLAGS = ("-m", "--multirun")
USAGE_ERROR = 2


def run_command(command: str, overrides: list[str]) -> int:
    register()
    plain = [a for a in overrides if a not in MULTIRUN_FLAGS]
    if not any(a.startswith("-") for a in plain):  # other Hydra flags (--cfg, --info) go straight through
        try:
            check_overrides(command, plain, multirun=len(plain) < len(overrides))
        except EpictlError as exc:
            print(f"epictl: error: {exc}", file=sys.stderr)
            return USAGE_ERROR
    sys.argv = [f"epictl-{command}", *overrides]
    hydra.main(config_path=str(CONF_DIR), config_name=command, version_base="1.3")(TASKS[command])()
    return 0


def check_overrides(command: str, overrides: list[str], multirun: bool) -> None:
    """Compose every job of the run (each sweep combination) and validate it before anything runs."""
    from hydra import compose, initialize_config_dir
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
        kept = [o for o in parsed if not o.get_key_element().startswith("hydra")]
        jobs = BasicSweeper.split_arguments(kept, None)[0] if multirun else [[o.input_line for o in kept]]
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3", job_name="epictl"):
            for job in jobs:
                validate_run_config(command, compose(config_name=command, overrides=job))
    except EpictlError:
        raise
    except Exception as exc:  # Hydra / OmegaConf composition errors: boil down to one line
        raise EpictlError(one_line(exc)) from None


def one_line(exc: BaseException) -> str:
    text = str(exc)
    if exc.__cause__ is not None and str(exc.__cause__) not in text:
        text += f"\n{exc.__cause__}"
    parts: list[str] = []
    listing = False
    for line in (raw.strip() for raw in text.splitlines()):
        if line.startswith("Config search path"):
            break
        if not line or line.startswith(("full_key", "object_type", "reference_type", "To append", "Set the env")):
            continue
        if listing and " " not in line:
            parts[-1] += (" " if parts[-1].endswith(":") else ", ") + line
            continue
        listing = line.endswith(":")
        parts.append(line)
    return "; ".join(parts).replace(".; ", ": ")


def _guarded(command: str, cfg: DictConfig) -> None:
    from epictl.runners import runner

    runtime = HydraConfig.get().runtime
    out_dir = Path(runtime.output_dir)
    try:
        runner(command)(cfg, out_dir, dict(runtime.choices))
    except EpictlError as exc:
        print(f"epictl: error: {exc}", file=sys.stderr)
        raise SystemExit(USAGE_ERROR) from None
    except KeyboardInterrupt:
        print(f"epictl: interrupted; everything finished so far is in {out_dir}", file=sys.stderr)
        raise SystemExit(130) from None


def train_task(cfg: DictConfig) -> None:
    _guarded("train", cfg)


def eval_task(cfg: DictConfig) -> None:
    _guarded("eval", cfg)


def table_task(cfg: DictConfig) -> None:
    _guarded("table", cfg)


def bench_task(cfg: DictConfig) -> None:
    _guarded("bench", cfg)


def calibrate_task(cfg: DictConfig) -> None:
    _guarded("calibrate", cfg)


TASKS = {"train": train_task, "eval": eval_task, "table": table_task, "bench": bench_task, "calibrate": calibrate_task}
