"""scripts/table3.py --smoke: the whole Table 3 pipeline on the 12-region city, then a no-op rerun."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
from conftest import REPO

from epictl.report.units import METRIC_COLUMNS

AGENTS = ["no_medical", "expert_seriousness", "expert_population", "dqn_greedy", "dqn_expert", "hrl"]
EXPERIMENTS = ["kdd21_exp1", "kdd21_exp2", "kdd21_exp3"]


def table3(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, str(REPO / "scripts" / "table3.py"), "--smoke", *args]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_smoke_builds_table3_and_resumes_to_a_no_op(tmp_path):
    root, tables = tmp_path / "runs", tmp_path / "tables"
    table3("--root", str(root), "--output-dir", str(tables))
    md, csv = tables / "table3-smoke.md", tables / "table3-smoke.csv"
    assert md.is_file() and csv.is_file()
    text = md.read_text(encoding="utf-8")
    for agent in AGENTS:
        assert f"{agent} (ours) | {agent} (paper)" in text
    for experiment in EXPERIMENTS:
        assert sum(line.startswith(f"| {experiment} | tiny |") for line in text.splitlines()) == 4
    assert "- paper (table3, all its cells): 11.00 % over dqn_expert (12 cells)" in text
    frame = pd.read_csv(csv)
    assert set(frame["agent"]) == set(AGENTS) and set(frame["experiment"]) == set(EXPERIMENTS)
    assert len(frame) == len(AGENTS) * len(EXPERIMENTS) * len(METRIC_COLUMNS)
    assert (frame["episodes"] == 2).all() and frame["paper_mean"].notna().all()

    again = table3("--root", str(root), "--output-dir", str(tables))
    assert again.stdout.count("skip") == len(EXPERIMENTS) * (3 + len(AGENTS))  # 3 trainings + 6 evals each
    assert "start (" not in again.stdout and "resume (" not in again.stdout
