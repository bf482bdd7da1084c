"""Shared fixtures: small random cities and the synthetic test city."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from epictl.sim.metapop.city import City, mobility_from_dense
from epictl.sim.metapop.compartments import SLOTS_PER_WEEK
from epictl.sim.metapop.sources import CityConfig, load_city

REPO = Path(__file__).resolve().parents[1]


def run_table_script(script: str, *args: str, timeout: int) -> subprocess.CompletedProcess:
    """``python scripts/<script> <args> --smoke`` from the repository; a failure shows the end of its output."""
    command = [sys.executable, str(REPO / "scripts" / script), *args, "--smoke"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def random_city(n_regions: int, rng: np.random.Generator, move_share: float = 0.05, population: int = 5000) -> City:
    """A city with random daily-periodic mobility; ``move_share=0`` gives a city without travel."""
    m = n_regions
    dense = np.zeros((SLOTS_PER_WEEK, m, m + 1))
    base = rng.random((m, m))
    np.fill_diagonal(base, 0.0)
    if m > 1:
        base /= base.sum(axis=1, keepdims=True)
    for slot in range(SLOTS_PER_WEEK):
        share = move_share * (0.5 + 0.5 * np.sin(2 * np.pi * slot / 48)) if m > 1 else 0.0
        dense[slot, :, :m] = share * base
        dense[slot, :, m] = 1.0 - dense[slot, :, :m].sum(axis=1)
    pops = rng.integers(population // 2, population * 2, size=m).astype(np.int64)
    return City("random", pops, np.ones(m), np.ones(m), mobility_from_dense(dense, "random city"))


@pytest.fixture(scope="session")
def tiny_city(tmp_path_factory) -> City:
    node = OmegaConf.load(REPO / "conf" / "env" / "city" / "tiny.yaml")
    node.cache_dir = str(tmp_path_factory.mktemp("city_cache"))
    return load_city(OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(CityConfig), node)))


@pytest.fixture(scope="module")
def one_torch_thread():
    """Small networks are fastest on one thread, and two stall on a busy machine (restored afterwards)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
