"""scripts/grid_tables.py --smoke: the density and agents pipelines write every file, and a rerun is a no-op."""

from __future__ import annotations

import subprocess

import pandas as pd
import pytest
from conftest import run_table_script

pytestmark = pytest.mark.smoke  # whole pipelines: `make test-smoke`

SCHEDULES = ["no_lockdown", "social_distancing", "full_lockdown", "n_work_m_lockdown", "lockdown_then_nwm"]


def grid_tables(*args: str) -> subprocess.CompletedProcess:
    return run_table_script("grid_tables.py", *args, timeout=600)


def test_density_smoke_writes_the_table_and_the_ode_figure(tmp_path):
    tables = tmp_path / "tables"
    grid_tables("density", "--root", str(tmp_path / "runs"), "--output-dir", str(tables))
    text = (tables / "grid_density-smoke.md").read_text(encoding="utf-8")
    assert "## World `grid`" in text and "## World `grid_released`" in text and "SEIR-D ODE" in text
    assert "| Table 1 | 0.01 |" in text and (tables / "plots" / "grid_ode-smoke.png").stat().st_size > 10_000
    long = pd.read_csv(tables / "grid_density-smoke.csv")
    assert set(long["world"]) == {"grid", "grid_released", "ode"}
    ours = long[long["world"] != "ode"]
    assert set(ours["density"]) == {0.02, 0.2} and {"rmse_I_pct", "reproduction_released_mean"} <= set(ours["metric"])


def test_agents_smoke_trains_evaluates_tabulates_and_resumes_to_a_no_op(tmp_path):
    root, tables = tmp_path / "runs", tmp_path / "tables"
    grid_tables("agents", "--root", str(root), "--output-dir", str(tables))
    text = (tables / "grid_agents-smoke.md").read_text(encoding="utf-8")
    for agent in [*SCHEDULES, "ddqn_lstm"]:
        assert agent in text
    assert "| n_work_m_lockdown | Infected (%) |" in text and "| 34.5 | Fig. 22 |" in text
    assert (tables / "plots" / "grid_agents-smoke.png").is_file()
    long = pd.read_csv(tables / "grid_agents-smoke.csv")
    assert set(long["agent"]) == {*SCHEDULES, "ddqn_lstm"}
    learner = long["agent"] == "ddqn_lstm"  # --smoke: two training runs, each evaluated on the 2 seeds
    assert (long.loc[learner, "episodes"] == 4).all() and (long.loc[~learner, "episodes"] == 2).all()
    assert "## Trained agents against the best schedule" in text and "- ddqn_lstm - " in text
    for k in range(2):
        run = root / "grid" / "ddqn_lstm" / f"train-s{k}"
        assert pd.read_csv(run / "train_log.csv")["step"].max() == 200
        assert list(pd.read_csv(run / "validation_log.csv")["step"]) == [50, 100, 150, 200]
        assert (run / "checkpoints" / "best.pt").is_file()

    again = grid_tables("agents", "--root", str(root), "--output-dir", str(tables))
    assert again.stdout.count("skip") == 2 + len(SCHEDULES) + 2  # the trainings and every evaluation
    assert "start (" not in again.stdout and "resume (" not in again.stdout
