"""Hydra side of the CLI: validate overrides up front (one-line errors), claim the run folder, then hand
over to Hydra; a run that fails before writing anything takes its folder away again."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from epictl.config import register
from epictl.errors import EpictlError
from epictl.paths import CONF_DIR, claim_run_dir, first_missing, only_leftovers, remove_leftover_run_dir
from epictl.validation import validate_run_config

MULTIRUN_FLAGS = ("-m", "--multirun")
USAGE_ERROR = 2
INTERRUPTED = 130


def run_command(command: str, overrides: list[str]) -> int:
    register()
    plain = [a for a in overrides if a not in MULTIRUN_FLAGS]
    if any(a.startswith("-") for a in plain):  # other Hydra flags (--cfg, --info) go straight through
        launch(command, overrides)
        return 0
    multirun = len(plain) < len(overrides)
    dir_key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    try:
        first_job = check_overrides(command, plain, multirun)
        given = any(override_key(a) == dir_key for a in plain)
        run_dir, created_from = make_run_dir(first_job, dir_key, given)
    except EpictlError as exc:
        print(f"epictl: error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    if run_dir is None:
        launch(command, overrides)
        return 0
    kept = [a for a in overrides if a in MULTIRUN_FLAGS or override_key(a) != dir_key]
    try:
        launch(command, [*kept, f"{dir_key}={quoted(str(run_dir))}"])
    except SystemExit as exc:
        if exc.code not in (0, None) and created_from is not None and not is_resume_dir(first_job, run_dir):
            remove_leftover_run_dir(run_dir, created_from)
        raise
    return 0


def launch(command: str, overrides: list[str]) -> None:
    sys.argv = [f"epictl-{command}", *overrides]
    hydra.main(config_path=str(CONF_DIR), config_name=command, version_base="1.3")(TASKS[command])()


def override_key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def quoted(value: str) -> str:
    """A Hydra override value that stays one string whatever it holds."""
    return "'" + value.replace("'", "\\'") + "'"


def check_overrides(command: str, overrides: list[str], multirun: bool) -> DictConfig:
    """Compose every job of the run (each sweep combination) and validate it before anything runs.

    Returns the first job's config, with Hydra's node (where the run folder goes)."""
    from hydra import compose, initialize_config_dir
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    parsed = parse_overrides(overrides)
    try:
        # Hydra's own settings (hydra.run.dir, hydra/launcher=...) are the same for every job.
        settings = [o.input_line for o in parsed if o.get_key_element().startswith("hydra")]
        kept = [o for o in parsed if not o.get_key_element().startswith("hydra")]
        jobs = BasicSweeper.split_arguments(kept, None)[0] if multirun else [[o.input_line for o in kept]]
        first = None
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3", job_name="epictl"):
            for job in jobs:
                cfg = compose(config_name=command, overrides=[*job, *settings], return_hydra_config=True)
                validate_run_config(command, cfg)
                first = cfg if first is None else first
        return first
    except EpictlError:
        raise
    except Exception as exc:  # Hydra / OmegaConf composition errors: boil down to one line
        raise EpictlError(one_line(exc)) from None


def parse_overrides(overrides: list[str]) -> list:
    """Hydra's parse of each override; a malformed one is named in the error."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    parsed = []
    for override in overrides:
        try:
            parsed += parser.parse_overrides([override])
            if not parsed[-1].key_or_group:
                raise ValueError("no key before '='")
        except Exception as exc:
            reason = str(exc).splitlines()[0].split(" expecting ")[0].split("; See ")[0]
            raise EpictlError(f"override {override!r}: {reason} (see https://hydra.cc/docs/advanced/override_grammar/basic)") from None
    return parsed


def make_run_dir(cfg: DictConfig, dir_key: str, given: bool) -> tuple[Path | None, Path | None]:
    """The run (or sweep) folder, made now so an unwritable place is a one-line error before anything runs.

    A user-given folder is used as given (it may exist: the scripts rerun into theirs); the default one is
    claimed exclusively, with a -2, -3 ... suffix when another run took it in the same second. Returns the
    folder (None: only Hydra can resolve it) and the outermost folder this run created (None: none)."""
    try:
        run_dir = Path(str(OmegaConf.select(cfg, dir_key, throw_on_resolution_failure=True)))
    except Exception:  # a user's folder naming what only a running job knows (${hydra:job.name}): Hydra's
        return None, None
    try:
        if given:
            created_from = first_missing(run_dir)
            run_dir.mkdir(parents=True, exist_ok=True)
        else:
            created_from = first_missing(run_dir.parent)
            run_dir = claim_run_dir(run_dir)
            created_from = created_from or run_dir
        with tempfile.TemporaryFile(dir=run_dir):  # Hydra writes .hydra/ and the log there first
            pass
    except OSError as exc:
        raise EpictlError(f"{dir_key}={run_dir}: cannot write the run folder ({exc.strerror or exc})") from None
    return run_dir, created_from


def is_resume_dir(cfg: DictConfig, run_dir: Path) -> bool:
    resume = cfg.get("resume")
    return bool(resume) and Path(resume).expanduser().resolve() == run_dir.resolve()


def one_line(exc: BaseException) -> str:
    text = str(exc)
    if exc.__cause__ is not None and str(exc.__cause__) not in text:
        text += f"\n{exc.__cause__}"
    parts: list[str] = []
    listing = False
    key = ""
    for line in (raw.strip() for raw in text.splitlines()):
        if line.startswith("Config search path"):
            break
        if line.startswith("full_key:"):
            key = line.removeprefix("full_key:").strip()
            continue
        if not line or line.startswith(("object_type", "reference_type", "To append", "Set the env")):
            continue
        if listing and " " not in line:
            if not line.endswith("_schema"):  # the structured-config schemas are not options to choose
                parts[-1] += (" " if parts[-1].endswith(":") else ", ") + line
            continue
        listing = line.endswith(":")
        parts.append(line)
    # Hydra prefixes the file that failed ("In 'agent/no_medical': ConfigKeyError raised while composing config:").
    message = "; ".join(parts).replace(" ConfigKeyError raised while composing config:", "").replace(".; ", ": ")
    message = message.replace(":; ", ": ")
    return message if key in message else f"{key}: {message}"  # OmegaConf names the key on a line of its own


def _guarded(command: str, run, cfg: DictConfig) -> None:
    """Record what runs, then ``run(cfg, out_dir, choices)`` of the command's runner, its errors and Ctrl-C
    turned into one line and an exit code."""
    from epictl.report.provenance import record

    hydra_config = HydraConfig.get()
    out_dir = Path(hydra_config.runtime.output_dir)
    try:
        record(out_dir, command, list(hydra_config.overrides.task))
        run(cfg, out_dir, dict(hydra_config.runtime.choices))
    except EpictlError as exc:
        print(f"epictl: error: {exc}", file=sys.stderr)
        remove_failed_job_dir(hydra_config, out_dir, cfg)
        raise SystemExit(USAGE_ERROR) from None
    except KeyboardInterrupt:
        kept_in = Path(cfg.resume).expanduser() if cfg.get("resume") else out_dir  # a resumed run writes there
        if only_leftovers(kept_in):
            print("epictl: interrupted before anything was written", file=sys.stderr)
        else:
            print(f"epictl: interrupted; everything finished so far is in {kept_in}", file=sys.stderr)
        remove_failed_job_dir(hydra_config, out_dir, cfg)
        raise SystemExit(INTERRUPTED) from None


def remove_failed_job_dir(hydra_config, out_dir: Path, cfg: DictConfig) -> None:
    """A sweep job's own folder goes if it holds nothing; a single run's is run_command's to judge."""
    if hydra_config.mode == RunMode.MULTIRUN and not is_resume_dir(cfg, out_dir):
        remove_leftover_run_dir(out_dir)


# One task per command; each imports its runner only when it runs (torch and the kernels are slow to load).
def train_task(cfg: DictConfig) -> None:
    from epictl.runners.train import run

    _guarded("train", run, cfg)


def eval_task(cfg: DictConfig) -> None:
    from epictl.runners.evaluate import run

    _guarded("eval", run, cfg)


def rebuild_task(cfg: DictConfig) -> None:
    from epictl.runners.rebuild import run

    _guarded("rebuild", run, cfg)


def table_task(cfg: DictConfig) -> None:
    from epictl.runners.table import run

    _guarded("table", run, cfg)


def bench_task(cfg: DictConfig) -> None:
    from epictl.runners.bench import run

    _guarded("bench", run, cfg)


def calibrate_task(cfg: DictConfig) -> None:
    from epictl.runners.calibrate import run

    _guarded("calibrate", run, cfg)


TASKS = {"train": train_task, "eval": eval_task, "rebuild": rebuild_task, "table": table_task, "bench": bench_task,
         "calibrate": calibrate_task}
