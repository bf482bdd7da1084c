"""scripts/papw_tables.py --smoke: the threshold sweep, the three learners' trainings and every policy's evaluation
run, the table and the sweep are written with the claims section, and a rerun is a no-op."""

from __future__ import annotations

import subprocess

import pandas as pd
import pytest
from conftest import run_table_script

pytestmark = pytest.mark.smoke  # a whole pipeline: `make test-smoke`

POLICIES = {"none_no_hospital_rule", "none", "lockdown", "trace_contacts", "prob_threshold", "idrleca", "idrleca_nograph", "idrleca_noep"}


def papw_tables(*args: str) -> subprocess.CompletedProcess:
    return run_table_script("papw_tables.py", *args, timeout=1800)


def test_papw_table_smoke_sweeps_trains_evaluates_tabulates_and_resumes_to_a_no_op(tmp_path):
    root, tables = tmp_path / "runs", tmp_path / "tables"
    papw_tables("--root", str(root), "--output-dir", str(tables))
    long = pd.read_csv(tables / "papw_table-smoke.csv")
    assert set(long["agent"]) == POLICIES and set(long["scenario"]) == {"papw", "papw_more_areas"}
    assert (long["episodes"] == 3).all() and (long["score"] > 0).all()
    assert ((0 <= long["mobility_retained_pct"]) & (long["mobility_retained_pct"] <= 100)).all()
    text = (tables / "papw_table-smoke.md").read_text(encoding="utf-8")
    assert "## The paper's stated claims on our numbers" in text and "IDRLECA has the best Score" in text
    sweep = pd.read_csv(tables / "papw_threshold_sweep-smoke.csv")
    assert len(sweep) == 6 and sweep.groupby("scenario")["chosen"].sum().eq(1).all()
    again = papw_tables("--root", str(root), "--output-dir", str(tables))
    assert "start (" not in again.stdout and "resume (" not in again.stdout
