"""The command line: instant help, every config composes, one-line errors, runs write their files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO
from hydra import compose, initialize_config_dir

from configs import agent_config
from epictl.agents.registry import agent_kind
from epictl.cli import main
from epictl.config import register
from epictl.paths import CONF_DIR
from epictl.validation import validate_run_config

EPICTL = [sys.executable, "-m", "epictl"]


def epictl(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*EPICTL, *args], capture_output=True, text=True, cwd=cwd or REPO, timeout=600)


def test_help_imports_nothing_heavy():
    code = "import sys; from epictl.cli import main; main(['--help']); " \
           "print(sorted(m for m in ('torch', 'numba', 'hydra', 'pandas') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "usage: epictl" in result.stdout
    assert result.stdout.strip().endswith("[]")


def group_options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def agent_job(name: str) -> tuple[str, list[str]]:
    """Each agent on an env of its family; a learning agent in `train` (`eval` needs its checkpoint)."""
    agent = agent_config(name)
    actions = agent_kind(agent.kind).actions
    family_env = {"movement_level": "grid_tiny", "cluster_tests": "clusters_tiny", "person_levels": "papw_tiny",
                  "intervention_schedule": "abm_tiny"}
    env = next((family_env[shape] for shape in actions if shape in family_env), "tiny")
    learns = getattr(agent, "trainable", False)
    return ("train" if learns else "eval"), [f"agent={name}", f"env={env}"]


def every_job() -> list[tuple[str, list[str]]]:
    # The default agent acts in the city; the grid worlds, the cluster problems, the contact city and the ABM need their own.
    family_agent = {"grid": ["agent=no_lockdown"], "cluster": ["agent=symp_avgrand"], "papw": ["agent=none"],
                    "abm": ["agent=abm_nothing"]}
    jobs = [("eval", [f"env={name}", *next((agent for prefix, agent in family_agent.items() if name.startswith(prefix)), [])])
            for name in group_options("env")]
    jobs += [agent_job(name) for name in group_options("agent")]
    jobs += [("eval", [f"budget={name}", *(["env=clusters_tiny", "agent=symp_avgrand"] if name.startswith("tests")
                                            else ["env=tiny"])]) for name in group_options("budget")]
    jobs += [("eval", [f"reward={name}"]) for name in group_options("reward")]
    jobs += [("train", [f"experiment={name}"]) for name in group_options("experiment")]  # each with its learning agent
    jobs += [("rebuild", [f"rebuild={name}"]) for name in group_options("rebuild")]
    jobs += [("train", []), ("rebuild", []), ("bench", []), ("table", ["runs=[outputs]"])]
    return jobs


@pytest.mark.parametrize("command, overrides", every_job())
def test_every_config_composes_and_validates(command, overrides):
    register()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        validate_run_config(command, compose(config_name=command, overrides=overrides))


def test_experiment_picks_city_and_budget():
    register()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="eval", overrides=["experiment=kdd21_exp3"])
    assert cfg.env.name == "shanghai" and cfg.budget.masks_per_day == 2_200_000
    assert cfg.env.scenario.initial_cases == 100 and cfg.env.scenario.initial_regions == 5


@pytest.mark.parametrize("overrides, message", [
    (["env.foo=1"], "Key 'foo' not in 'MetapopEnvConfig'"),
    (["seeds=abc"], "could not be converted to Integer"),
    (["env=atlantis"], "Could not find 'env/atlantis'"),
    (["env.sim.mobility=warp"], "env.sim.mobility='warp'"),
    (["seeds=0"], "seeds=0 must be >= 1"),
    (["env.allocation=fair"], "env.allocation='fair'"),
    (["env=grid_tiny", "agent=no_medical"], "In 'agent/no_medical': Key 'allocation' not in 'GridEnvConfig'"),
    (["env.disease.Pa=2"], "env.disease.Pa=2.0 must lie in [0, 1]"),
    (["env.city.source=npz", "env.city.path=/no/such/city.npz"], "no such file"),
    (["-m", "env=tiny,beijing", "env.scenario.initial_compartment=Q"], "initial_compartment='Q'"),
])
def test_bad_input_is_one_line_and_exit_code_2(capsys, tmp_path, overrides, message):
    assert main(["eval", *overrides, f"hydra.run.dir={tmp_path / 'run'}", "progress=false"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("epictl: error:") and "\n" not in err
    assert message in err
    assert "_schema" not in err  # the structured-config schemas are no options
    assert not (tmp_path / "run").exists()


def test_missing_data_file_at_run_time_is_one_line(tmp_path):
    (tmp_path / "city").mkdir()
    result = epictl("eval", "env=tiny", "env.city.source=original", f"env.city.path={tmp_path / 'city'}",
                    f"hydra.run.dir={tmp_path / 'run'}")
    assert result.returncode == 2
    assert result.stderr.strip() == f"epictl: error: {tmp_path / 'city' / 'pop_region.json'}: file not found"
    assert not (tmp_path / "run").exists()


def test_eval_writes_every_output_and_is_reproducible(tmp_path):
    runs = []
    for name in ("a", "b"):
        out = tmp_path / name
        result = epictl("eval", "env=tiny", "seeds=2", "progress=false", f"hydra.run.dir={out}",
                        "env.record_regions=true", f"env.city.cache_dir={tmp_path / 'cache'}")
        assert result.returncode == 0, result.stderr
        for file in ("metrics.csv", "summary.md", "curves.parquet", "curves_regions.parquet",
                     "plots/infected.png", "plots/resolved.png", ".hydra/config.yaml"):
            assert (out / file).is_file(), file
        runs.append(pd.read_csv(out / "metrics.csv"))
    pd.testing.assert_frame_equal(runs[0], runs[1])
    metrics = runs[0]
    assert list(metrics["seed"]) == [0, 1]
    assert {"infected_pct", "deaths_permille", "max_daily_infection_permille", "max_daily_death_per10k",
            "masks_total", "bed_days"} <= set(metrics.columns)
    curves = pd.read_parquet(tmp_path / "a" / "curves.parquet")
    assert len(curves) == 2 * (1 + 20 + 10)
    assert (curves[["S", "E", "Iu", "It", "Ia", "Ih", "R", "D"]].sum(axis=1) == 20_000).all()


# Child processes through submitit, about 6 s: in `make test-smoke`, so the fast suite keeps its 5 minutes.
@pytest.mark.smoke
def test_sweep_on_submitit_local_then_table(tmp_path):
    sweep = tmp_path / "sweep"
    result = epictl("eval", "-m", "env=tiny", "agent=no_medical,expert_seriousness", "seeds=2", "progress=false",
                    "plots=false", "hydra/launcher=submitit_local", f"hydra.sweep.dir={sweep}")
    assert result.returncode == 0, result.stderr
    assert len(list(sweep.rglob("metrics.csv"))) == 2
    result = epictl("table", f"runs=[{sweep}]", "name=tiny_table", f"output_dir={tmp_path / 'tables'}",
                    f"hydra.run.dir={tmp_path / 'table_run'}")
    assert result.returncode == 0, result.stderr
    table = (tmp_path / "tables" / "tiny_table.md").read_text()
    assert "no_medical" in table and "expert_seriousness" in table and "Infected (%)" in table
    long = pd.read_csv(tmp_path / "tables" / "tiny_table.csv")
    assert set(long["episodes"]) == {2}
