"""gymnasium.make("epictl/<Id>-v0", **keywords): every id builds its family's env from conf/env/ as `epictl train`
does, keywords override the config and name themselves when wrong, and the metapop action flattens into one Box."""

from __future__ import annotations

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from epictl.config import register
from epictl.envs.flat_action import FlatMetapopAction
from epictl.errors import EpictlError
from epictl.gym_ids import IDS, compose_train_config
from epictl.paths import CONF_DIR
from epictl.runners.build import build_env

TINY = {  # each id's test-sized env: conf/env/<env>.yaml and keywords
    "epictl/Beijing-v0": {"env": "tiny"},
    "epictl/Shanghai-v0": {"env": "tiny"},
    "epictl/Grid-v0": {"env": "grid_tiny"},
    "epictl/Clusters-v0": {"env": "clusters_tiny"},
    "epictl/ContactCity-v0": {"env": "papw_tiny"},
    "epictl/AgeAbm-v0": {"env": "abm_tiny", "repeats": 1},  # one step simulates the whole 100 days
}


def least_action(space: gym.Space):
    """The lowest action of ``space``: level 0, no tests, no orders, the first principle at the least factor."""
    if isinstance(space, gym.spaces.Dict):
        return {key: least_action(subspace) for key, subspace in space.spaces.items()}
    if isinstance(space, gym.spaces.Discrete):
        return int(space.start)
    if isinstance(space, gym.spaces.MultiDiscrete):
        return np.zeros(space.shape, space.dtype)
    return space.low.copy()


def test_importing_the_ids_loads_no_hydra_kernels_or_torch():
    probe = ("import sys, gymnasium\nimport epictl.gym_ids\nprint('epictl/Grid-v0' in gymnasium.registry, "
             "*(m for m in ('hydra', 'numba', 'scipy', 'torch') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["True"]


def test_every_id_defaults_to_an_env_of_its_family():
    assert set(TINY) == set(IDS)
    for gym_id, default in IDS.items():
        assert compose_train_config((f"env={default.env}",)).env.family == default.family, gym_id
        assert gym.spec(gym_id).kwargs == {"env": default.env} and gym.spec(gym_id).max_episode_steps is None


@pytest.mark.parametrize("gym_id", sorted(TINY))
def test_every_id_builds_a_test_sized_env_that_steps(gym_id):
    env = gym.make(gym_id, **TINY[gym_id])
    observation, _ = env.reset(seed=0)
    assert env.observation_space.contains(observation)
    observation, reward, _, _, _ = env.step(least_action(env.action_space))
    assert env.observation_space.contains(observation) and np.isfinite(reward)
    assert env.unwrapped.family == IDS[gym_id].family


def test_the_gym_env_is_the_env_epictl_train_builds():
    register()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cli_env = build_env(compose(config_name="train", overrides=["env=grid_tiny"]))
    gym_env = gym.make("epictl.gym_ids:epictl/Grid-v0", env="grid_tiny")  # the "module:id" form
    for env in (cli_env, gym_env):
        env.reset(seed=3)
    for level in [0, 2, 1, 2, 0]:
        np.testing.assert_equal(cli_env.step(level)[:4], gym_env.step(level)[:4])


def test_keywords_override_the_env_its_reward_and_budget():
    grid = gym.make("epictl/Grid-v0", env="grid_tiny", sim={"density": 0.03}, reward={"r": 4.0},
                    train_initial_share=[0.1, 0.2]).unwrapped
    assert (grid.params.density, grid.params.population, grid.reward_fn.r) == (0.03, 300, 4.0)
    assert grid.train_initial_share == [0.1, 0.2]
    assert gym.make("epictl/Grid-v0", env="grid_tiny").unwrapped.params.density == 0.05  # nothing carried over
    assert gym.make("epictl/Grid-v0", env="grid_tiny", reward="ohi2020_released").unwrapped.reward_fn.death_term == "daily"
    city = gym.make("epictl/Beijing-v0", env="tiny", budget="none", scenario={"free_days": 3}, delta=[0.2, 0.3])
    assert city.unwrapped.budget.beds == 0 and city.unwrapped.scenario.free_days == 3
    np.testing.assert_array_equal(city.action_space["factor"].low, np.float32([0.2, 0.3]))
    assert city.reset(seed=0)[1]["day"] == 3


@pytest.mark.parametrize("keywords, message", [
    ({"sim": {"densty": 0.03}}, "epictl/Grid-v0: env.sim.densty: Key 'densty' not in 'GridParams'"),
    ({"sim": {"density": "dense"}}, "epictl/Grid-v0: env.sim.density: Value 'dense'"),
    ({"rewards": "ohi2020"}, "env.rewards: Key 'rewards' not in 'GridEnvConfig'; choose one of env, reward, budget, "
                             "flat_action, "),  # then the env config's keys
    ({"num_envs": 4}, "num_envs=4: gymnasium.make builds one env; gymnasium.make_vec('epictl/Grid-v0', num_envs=4)"),
    ({"budget": {"bedz": 1}}, "epictl/Grid-v0: budget.bedz: Key 'bedz' not in 'DailyBudget'; choose one of name, beds"),
    ({"env": "beijing"}, "epictl/Grid-v0: env='beijing' is a metapop env; this id builds grid envs"),
    ({"env": "grid_huge"}, "env='grid_huge' names no conf/env/ file; choose one of abm, abm_tiny, beijing"),
    ({"env": "../grid"}, "env='../grid' names no conf/env/ file"),
    ({"reward": "ohi2021"}, "reward='ohi2021' names no conf/reward/ file; choose one of deshkar2023"),
    ({"budget": 3}, "budget=3 must name a conf/budget/ file or be a dict of its values"),
    ({"flat_action": True}, "flat_action=True flattens the metapop action only; grid envs keep theirs"),
    ({"flat_action": "yes"}, "flat_action='yes' must be True or False"),
    ({"reward": "kdd21"}, "env grid_tiny needs reward=ohi2020"),  # the family's own check, as in `epictl train`
])
def test_a_bad_keyword_is_one_line_naming_it(keywords, message):
    with pytest.raises(EpictlError) as caught:
        gym.make("epictl/Grid-v0", **{"env": "grid_tiny", **keywords})
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_hydra_app_that_makes_an_env_keeps_its_own_hydra(tmp_path):
    (tmp_path / "app.yaml").write_text("learning_rate: 0.1\n")
    compose_train_config.cache_clear()  # so that this make composes
    with initialize_config_dir(config_dir=str(tmp_path), version_base="1.3"):
        gym.make("epictl/Grid-v0", env="grid_tiny")
        assert compose(config_name="app").learning_rate == 0.1
    assert not GlobalHydra.instance().is_initialized()


def test_the_flat_action_maps_its_corners_and_bins():
    env = gym.make("epictl/Beijing-v0", env="tiny", flat_action=True, delta=[0.2, 0.1])
    assert env.action_space == gym.spaces.Box(-1.0, 1.0, (4,), np.float32)
    to_dict = env.get_wrapper_attr("action")  # FlatMetapopAction.action

    def principles(values):
        return to_dict(np.float32(values))["principle"].tolist()

    def factors(values):
        return to_dict(np.float32(values))["factor"]

    assert principles([-1, -1, 0, 0]) == [0, 0] and principles([1, 1, 0, 0]) == [6, 6]
    edges = -1 + 2 * np.arange(1, 7) / 7  # principle k covers [-1 + 2k/7, -1 + 2(k+1)/7)
    assert [principles([edge + 1e-6, edge - 1e-6, 0, 0]) for edge in edges] == [[k, k - 1] for k in range(1, 7)]
    np.testing.assert_allclose(factors([0, 0, -1, -1]), [0.2, 0.1], rtol=1e-6)  # delta
    np.testing.assert_allclose(factors([0, 0, 1, 1]), [1.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(factors([0, 0, 0, 0.5]), [0.6, 0.775], rtol=1e-6)
    assert principles([-3, 5, 0, 0]) == [0, 6]  # clipped to [-1, 1] first
    np.testing.assert_allclose(factors([0, 0, -3, 5]), [0.2, 1.0], rtol=1e-6)
    for bad in ([0.0, 0.0, 0.0], [0.0, np.nan, 0.0, 0.0]):
        with pytest.raises(EpictlError, match="a flat metapop action is 4 finite numbers"):
            to_dict(np.asarray(bad))
    env.reset(seed=0)
    executed = env.step(np.float32([1, -1, 1, -1]))[4]["action"]
    assert executed["principle"].tolist() == [6, 0]
    np.testing.assert_allclose(executed["factor"], [1.0, 0.1], rtol=1e-6)


@pytest.mark.filterwarnings("ignore:.*is different from the unwrapped version")  # the wrapper is what is checked
@pytest.mark.filterwarnings("ignore:.*Box observation space maximum value is infinity")  # counts have no bound
def test_the_flat_metapop_env_passes_the_gymnasium_checker_and_recreates_from_its_spec():
    env = gym.make("epictl/Beijing-v0", env="tiny", flat_action=True)
    check_env(env, skip_render_check=True)
    again = gym.make(env.spec)  # the wrapper is part of the spec (gymnasium.utils.RecordConstructorArgs)
    flat = again.env.env  # inside OrderEnforcing and PassiveEnvChecker
    assert isinstance(flat, FlatMetapopAction) and flat.env is again.unwrapped
    assert again.action_space == env.action_space
    with pytest.raises(EpictlError, match="flattens the metapop action"):
        FlatMetapopAction(gym.make("epictl/Grid-v0", env="grid_tiny"))
