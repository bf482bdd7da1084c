"""scripts/clusters_tables.py --smoke: every Hier-PPO table and figure pipeline trains its learners, evaluates every
method, writes its files, and a rerun of Table 2 is a no-op."""

from __future__ import annotations

import subprocess

import pandas as pd
import pytest
from conftest import run_table_script

pytestmark = pytest.mark.smoke  # whole pipelines: `make test-smoke`

METHODS = ["symp_avgrand", "thres_avgrand", "thres_sizerand", "fixed_m_qr", "bin_m_qr", "hier_ppo"]


def clusters_tables(*args: str) -> subprocess.CompletedProcess:
    return run_table_script("clusters_tables.py", *args, timeout=1200)


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One run folder for every target: the learners of each seed are trained once and reused."""
    base = tmp_path_factory.mktemp("clusters")
    return base / "runs", base / "tables"


def test_table2_smoke_trains_evaluates_tabulates_and_resumes_to_a_no_op(shared):
    root, tables = shared
    clusters_tables("table2", "--root", str(root), "--output-dir", str(tables))
    text = (tables / "clusters_table2-smoke.md").read_text(encoding="utf-8")
    assert "| 4/8/async |" in text and "| 4/8/sync |" in text and "Hier-PPO" in text and "Bin-M-QR" in text
    long = pd.read_csv(tables / "clusters_table2-smoke.csv")
    assert set(long["agent"]) == set(METHODS) and (long["mean"] < 0).all()
    assert set(long.loc[long["agent"] == "hier_ppo", "train_seeds"]) == {2}
    again = clusters_tables("table2", "--root", str(root), "--output-dir", str(tables))
    assert "start (" not in again.stdout and "resume (" not in again.stdout


def test_table1_latency_and_figa1_smoke_write_their_files(shared):
    root, tables = shared
    clusters_tables("table1", "--root", str(root), "--output-dir", str(tables))
    long = pd.read_csv(tables / "clusters_table1-smoke.csv")
    assert set(long["policy"]) == {"generalized", "fixed"} and set(long["alpha3"]) == {0.01, 0.03}
    clusters_tables("latency", "--root", str(root), "--output-dir", str(tables))
    latency = pd.read_csv(tables / "clusters_latency-smoke.csv")
    assert set(latency["agent"]) == {"bin_m_qr", "hier_ppo"} and (latency["mean"] > 0).all()
    assert "speed-up" in (tables / "clusters_latency-smoke.md").read_text(encoding="utf-8")
    clusters_tables("figa1", "--root", str(root), "--output-dir", str(tables))
    rates = pd.read_csv(tables / "clusters_figa1-smoke.csv")
    assert set(rates["variant"]) == {"with penalty", "without penalty"} and (rates["rate"] >= 0).all()
    assert (tables / "plots" / "clusters_figa1-smoke.png").stat().st_size > 5_000
