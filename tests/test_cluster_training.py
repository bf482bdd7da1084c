"""A tiny training chain on single clusters (the SL belief encoder, then the local DQN from it) already beats
Symp-AvgRand on the multi-cluster test problem, through `epictl train` and `epictl eval`."""

from __future__ import annotations

import pandas as pd
import pytest
from test_cli import epictl

pytestmark = pytest.mark.smoke  # training processes: `make test-smoke`

COMMON = ["progress=false", "plots=false"]


def trained(tmp_path, name: str, *overrides: str) -> str:
    run = tmp_path / name
    result = epictl("train", "env=cluster_single", f"agent={name}", *overrides, *COMMON, f"hydra.run.dir={run}")
    assert result.returncode == 0, result.stderr[-2000:]
    return str(run)


def mean_return(tmp_path, agent: str, *overrides: str) -> float:
    run = tmp_path / f"eval_{agent}"
    result = epictl("eval", "env=clusters_tiny", f"agent={agent}", "seeds=20", *overrides, *COMMON,
                    f"hydra.run.dir={run}")
    assert result.returncode == 0, result.stderr[-2000:]
    return float(pd.read_csv(run / "metrics.csv")["return"].mean())


def test_a_tiny_training_chain_beats_symp_avgrand(tmp_path):
    encoder = trained(tmp_path, "sl_encoder", "agent.updates=2400")  # 100 clusters tested at random
    dqn = trained(tmp_path, "cluster_dqn", f"agent.encoder_from={encoder}", "agent.updates=240",
                  "agent.learning_starts=48", "agent.batch_size=16", "agent.sl_batch_size=4",
                  "agent.replay_capacity=500", "agent.lr_warmup_steps=5")
    symptom = mean_return(tmp_path, "symp_avgrand")
    learned = mean_return(tmp_path, "fixed_m_qr", f"agent.dqn_from={dqn}")
    threshold = mean_return(tmp_path, "thres_avgrand", f"agent.encoder_from={dqn}")
    assert learned > symptom and threshold > symptom, (learned, threshold, symptom)
