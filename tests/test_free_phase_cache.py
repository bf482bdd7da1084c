"""The metapop env caches each seed's free phase (replayed by every policy on that seed) but only a bounded
number of them: training draws a new seed per episode."""

from __future__ import annotations

import numpy as np
from hydra import compose, initialize_config_dir

from epictl.config import register
from epictl.envs import metapop
from epictl.paths import CONF_DIR
from epictl.runners.build import build_env


def test_free_phase_cache_is_bounded_and_replays_exactly(monkeypatch):
    monkeypatch.setattr(metapop, "FREE_PHASE_CACHE_SIZE", 3)
    register()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="eval", overrides=["env=tiny", "env.scenario.free_days=3", "agent=no_medical"])
    env = build_env(cfg)
    first, _ = env.reset(seed=0)
    for seed in range(1, 8):
        env.reset(seed=seed)
        assert len(env._free_phase_cache) <= 3
    assert 0 not in env._free_phase_cache  # evicted: the oldest seed goes first
    again, _ = env.reset(seed=0)  # rebuilt from the seed: the same free phase
    np.testing.assert_array_equal(first, again)
    env.reset(seed=6)
    assert list(env._free_phase_cache)[-1] == 6  # a replayed seed becomes the most recent
