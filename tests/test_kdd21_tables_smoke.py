"""scripts/kdd21_table.py --smoke (Tables 3 and 4) and scripts/figure6.py --smoke: the whole pipelines
on the 12-region city, then a no-op rerun."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from conftest import REPO

from epictl.report.units import METRIC_COLUMNS

pytestmark = pytest.mark.smoke  # whole pipelines: `make test-smoke`

AGENTS = {3: ["no_medical", "expert_seriousness", "expert_population", "dqn_greedy", "dqn_expert", "hrl"],
          4: ["no_medical", "expert_population", "dqn_greedy", "dqn_expert", "hrl"]}
GAINS = {3: "11.00 % over dqn_expert", 4: "14.25 % over dqn_expert"}
LEARNERS = ["dqn_greedy", "dqn_expert", "hrl"]
TRAIN_RUNS = 2  # --smoke: each learner trained twice, each training run evaluated
REBUILDS = {3: 0, 4: 1}  # Table 4 trains one rebuild network per experiment
# Table 4 runs one experiment (its pipeline differs from Table 3's only by the rebuild step): CI time.
EXPERIMENTS = {3: ["kdd21_exp1", "kdd21_exp2", "kdd21_exp3"], 4: ["kdd21_exp1"]}


def script(name: str, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, str(REPO / "scripts" / name), "--smoke", *args]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.mark.parametrize("table", [3, 4])
def test_smoke_builds_the_table_and_resumes_to_a_no_op(tmp_path, table):
    root, tables = tmp_path / "runs", tmp_path / "tables"
    args = ("--table", str(table), "--root", str(root), "--output-dir", str(tables), "--experiments", *EXPERIMENTS[table])
    script("kdd21_table.py", *args)
    md, csv = tables / f"table{table}-smoke.md", tables / f"table{table}-smoke.csv"
    assert md.is_file() and csv.is_file()
    text = md.read_text(encoding="utf-8")
    for agent in AGENTS[table]:
        assert f"{agent} (ours) | {agent} (paper)" in text
    cells = text.split("Training runs per agent")[0]  # the table itself (the paired tests follow it)
    for experiment in EXPERIMENTS[table]:
        assert sum(line.startswith(f"| {experiment} | tiny |") for line in cells.splitlines()) == 4
    assert f"- paper (table{table}, all its cells): {GAINS[table]} (12 cells)" in text
    frame = pd.read_csv(csv)
    assert set(frame["agent"]) == set(AGENTS[table]) and set(frame["experiment"]) == set(EXPERIMENTS[table])
    assert len(frame) == len(AGENTS[table]) * len(EXPERIMENTS[table]) * len(METRIC_COLUMNS)
    learns = frame["agent"].isin(LEARNERS)
    assert (frame["train_runs"] == learns.map({True: TRAIN_RUNS, False: 1})).all()
    assert (frame["episodes"] == 2 * frame["train_runs"]).all() and frame["paper_mean"].notna().all()
    assert (frame["ci_low"] <= frame["mean"]).all() and (frame["mean"] <= frame["ci_high"]).all()
    assert "overall sign-flip p = " in text
    for learner in LEARNERS:  # each training run kept its best held-out evaluation
        for k in range(TRAIN_RUNS):
            run = root / EXPERIMENTS[table][0] / learner / f"train-s{k}"
            assert (run / "checkpoints" / "best.pt").is_file() and (run / "validation_log.csv").is_file()

    again = script("kdd21_table.py", *args)
    steps = len(LEARNERS) * TRAIN_RUNS * 2 + REBUILDS[table] + len(AGENTS[table]) - len(LEARNERS)
    assert again.stdout.count("skip") == len(EXPERIMENTS[table]) * steps
    assert "start (" not in again.stdout and "resume (" not in again.stdout


def test_figure6_smoke_writes_accuracy_and_time_per_layer_count(tmp_path):
    script("figure6.py", "--root", str(tmp_path / "runs"), "--output-dir", str(tmp_path / "figures"))
    frame = pd.read_csv(tmp_path / "figures" / "figure6-smoke.csv")
    assert list(frame["layers"]) == [1, 2, 3, 1, 2, 3]
    assert frame["accuracy"].between(0, 1).all() and (frame["training_seconds"] > 0).all()
    assert (tmp_path / "figures" / "figure6-smoke.png").is_file()
