"""scripts/abm_tables.py --smoke: DDPG trained for every experiment and scenario, every policy evaluated, the table
(schedules beside the paper's finding, outcomes with the fixed policies' TRew recomputed per kappa) and the figure
written, and a rerun is a no-op."""

from __future__ import annotations

import subprocess

import pandas as pd
import pytest
from conftest import run_table_script

pytestmark = pytest.mark.smoke  # a whole pipeline: `make test-smoke`

POLICIES = {"ddpg", "abm_paper_schedule", "abm_nothing", "abm_full_lockdown", "abm_vaccinate", "abm_partial_lockdown"}


def abm_tables(*args: str) -> subprocess.CompletedProcess:
    return run_table_script("abm_tables.py", *args, timeout=1800)


def test_abm_table_smoke_trains_evaluates_tabulates_and_resumes_to_a_no_op(tmp_path):
    root, tables = tmp_path / "runs", tmp_path / "tables"
    abm_tables("--root", str(root), "--output-dir", str(tables))
    long = pd.read_csv(tables / "abm_table-smoke.csv")
    assert set(long["agent"]) == POLICIES and set(long["experiment"]) == {"exp1", "exp2"}
    assert set(long["scenario"]) == {"balanced", "health", "economy"} and (long["episodes"] == 3).all()
    fixed = long[long["agent"] == "abm_nothing"].set_index(["experiment", "scenario"])["total_reward"]
    assert fixed["exp1", "economy"] < fixed["exp1", "balanced"] < fixed["exp1", "health"]  # same runs, kappa 5, 1, 0.2
    text = (tables / "abm_table-smoke.md").read_text(encoding="utf-8")
    assert "## The schedule DDPG chooses" in text and "| paper | all | never | never | 0–41 | 0–100 |" in text
    assert (tables / "plots" / "abm_curves-smoke.png").stat().st_size > 0
    again = abm_tables("--root", str(root), "--output-dir", str(tables))
    assert "start (" not in again.stdout and "resume (" not in again.stdout
