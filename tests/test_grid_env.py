"""The grid env (Ohi et al. 2020) as specifications: Gymnasium conformance, determinism, episode ends,
the outbreak of training episodes, the reward's 0.82 % threshold, the lockdown schedules, the config."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from epictl.agents.registry import make_agent
from epictl.config import register
from epictl.envs.grid import GridEnv
from epictl.errors import EpictlError
from epictl.paths import CONF_DIR
from epictl.rewards.ohi2020 import Ohi2020Reward
from epictl.runners.build import build_env
from epictl.sim.grid.params import GridParams
from epictl.validation import validate_run_config


def composed(*overrides: str, command: str = "eval"):
    register()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name=command, overrides=list(overrides))
    validate_run_config(command, cfg)
    return cfg


def tiny_env(**sim) -> GridEnv:
    params = replace(OmegaConf.to_object(composed("env=grid_tiny", "agent=no_lockdown").env).sim, **sim)
    return GridEnv(params, Ohi2020Reward(), [0.02, 0.05])


def play(env: GridEnv, levels, seed: int):
    observation, info = env.reset(seed=seed)
    steps = [(observation, None, False, False)]
    for level in levels:
        observation, reward, terminated, truncated, _ = env.step(level)
        steps.append((observation, reward, terminated, truncated))
        if terminated or truncated:
            break
    return steps


def test_env_passes_the_gymnasium_checker():
    check_env(tiny_env(), skip_render_check=True)
    env = tiny_env()
    assert env.action_space.n == 3 and env.observation_space.shape == (7,)


def test_same_seed_same_episode_and_another_seed_differs():
    levels = [0, 2, 1, 0, 0, 2, 2, 0] * 5
    first, again, other = play(tiny_env(), levels, 4), play(tiny_env(), levels, 4), play(tiny_env(), levels, 5)
    assert len(first) == len(again)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a[0], b[0])
        assert a[1:] == b[1:]
    assert any(not np.array_equal(a[0], b[0]) for a, b in zip(first, other))


def test_episode_ends_when_nobody_is_exposed_or_infectious():
    env = tiny_env()
    env.reset(seed=1)
    terminated = truncated = False
    while not (terminated or truncated):
        _, _, terminated, truncated, _ = env.step(0)
    assert terminated and not truncated
    ill = [day.exposed + day.infectious for day in env.days]
    assert ill[-1] == 0 and all(ill[:-1]), "the episode ends on the first day without E or I"
    report = env.episode_report()
    counts = sum(report.curves[name] for name in "SEIRD")
    assert np.all(counts == 300) and len(report.curves["S"]) == report.metrics["days"] + 1


def test_episode_is_truncated_at_max_days():
    env = tiny_env(max_days=12, infectious_min=30, infectious_max=30)
    env.reset(seed=2)
    flags = [env.step(2)[2:4] for _ in range(11)]
    assert flags[-1] == (False, True) and not any(any(f) for f in flags[:-1])
    assert env.state.day == 12


def test_training_episodes_draw_the_outbreak_and_evaluation_keeps_it_fixed():
    env = tiny_env()
    counts = [env.reset(seed=s, options={"training": True})[1]["initial_infectious"] for s in range(40)]
    assert set(counts) <= set(range(6, 16)) and len(set(counts)) > 3  # 2-5 % of 300
    assert counts == [env.reset(seed=s, options={"training": True})[1]["initial_infectious"] for s in range(40)]
    assert {env.reset(seed=s)[1]["initial_infectious"] for s in range(5)} == {10}
    assert env.state.last.infectious + env.state.last.exposed + env.state.last.recovered > 0


def test_reset_history_holds_every_warm_up_day_and_ends_with_the_observation():
    env = tiny_env(warmup_days=3)
    observation, info = env.reset(seed=0)
    assert info["history"].shape == (3, 7) and info["day"] == 3
    np.testing.assert_array_equal(info["history"][-1], observation)


def test_rewards_of_the_three_levels_meet_beyond_082_percent_active():
    """Paper eq. 1 with r = 8: above 0.82 % active the levels' rewards differ by < 0.0015 E (spec §9),
    while their economies differ a lot; below it the economy decides."""
    env = GridEnv(GridParams(population=2000, density=0.05, initial_infectious=10, max_days=400), Ohi2020Reward())
    env.reset(seed=3)
    seen = {"above": False, "below": False}
    while not all(seen.values()):
        stats = env.days[-1]
        active = stats.infectious / stats.population
        if stats.day > 1 and (active > 0.0082 and not seen["above"] or active < 0.004 and not seen["below"]):
            snapshot, results = env.snapshot(), []
            for level in range(3):
                env.restore(snapshot)
                _, reward, *_ = env.step(level)
                results.append((reward, env.days[-1].economy, env.days[-1].infectious))
            rewards, economies, actives = zip(*results)
            assert len(set(actives)) == 1  # today's moves make no one infectious today (latency)
            assert economies[0] - economies[2] > 0.5
            if active > 0.0082:
                assert max(rewards) - min(rewards) < 0.0015 * max(economies)
                seen["above"] = True
            else:
                assert rewards[0] - rewards[2] > 0.1
                seen["below"] = True
            env.restore(snapshot)
        _, _, terminated, truncated, _ = env.step(0)
        assert not (terminated or truncated), "the run should cross the threshold both ways"


def test_snapshot_restore_continues_exactly():
    env = tiny_env()
    env.reset(seed=6)
    for _ in range(3):
        env.step(1)
    snapshot = env.snapshot()
    first = [env.step(level)[:2] for level in (0, 2, 0)]
    env.restore(snapshot)
    again = [env.step(level)[:2] for level in (0, 2, 0)]
    for (a, ra), (b, rb) in zip(first, again):
        np.testing.assert_array_equal(a, b)
        assert ra == rb


@pytest.mark.parametrize("agent, expected", [
    ("no_lockdown", [0] * 30),
    ("social_distancing", [1] * 30),
    ("full_lockdown", [2] * 30),
    ("n_work_m_lockdown", ([0] * 7 + [2] * 7) * 2 + [0] * 2),
    ("lockdown_then_nwm", [2] * 40 + [0] * 7 + [2] * 7 + [0] * 2),
])
def test_lockdown_schedules(agent, expected):
    cfg = composed("env=grid_tiny", f"agent={agent}")
    env = build_env(cfg)
    policy = make_agent(OmegaConf.to_object(cfg.agent), env.observation_space, env.action_space, seed=0)
    for _ in range(2):  # reset starts the schedule again
        policy.reset(0, None)
        assert [policy.act(None) for _ in expected] == expected


def test_n_and_m_are_configurable_and_lockdown_may_come_first():
    cfg = composed("env=grid_tiny", "agent=n_work_m_lockdown", "agent.work_days=2", "agent.lockdown_days=3",
                   "agent.lockdown_first=true")
    env = build_env(cfg)
    policy = make_agent(OmegaConf.to_object(cfg.agent), env.observation_space, env.action_space, seed=0)
    assert [policy.act(None) for _ in range(10)] == [2, 2, 2, 0, 0] * 2


def test_grid_picks_its_reward_and_budget_and_beijing_keeps_its_own():
    cfg = composed("env=grid", "agent=no_lockdown")
    assert cfg.reward.name == "ohi2020" and cfg.budget.name == "none" and cfg.env.sim.initial_infectious == 70
    assert (cfg.env.sim.population, cfg.env.sim.density) == (10_000, 0.02)
    beijing = composed("env=beijing")
    assert beijing.reward.name == "kdd21" and beijing.budget.name == "beijing"
    train = composed("experiment=ohi2020", command="train")
    assert train.env.name == "grid" and train.agent.name == "ddqn_lstm" and train.reward.name == "ohi2020"


def test_released_world_matches_the_released_preset():
    cfg = composed("env=grid_released", "agent=no_lockdown")
    assert OmegaConf.to_object(cfg.env).sim == GridParams.released(initial_infectious=70)
    assert cfg.reward.death_term == "daily"


@pytest.mark.parametrize("overrides, message", [
    (["env.train_initial_share=[0.3,0.1]"], "train_initial_share"),
    (["env.sim.contact_model=hug"], "contact_model"),
    (["agent.work_days=0", "agent.lockdown_days=0"], "schedule cycle needs"),
])
def test_bad_grid_config_is_a_one_line_error(overrides, message):
    with pytest.raises(EpictlError, match=message) as error:
        composed("env=grid", "agent=n_work_m_lockdown", *overrides)
    assert "\n" not in str(error.value)


def test_wrong_reward_budget_or_action_is_refused():
    with pytest.raises(EpictlError, match="needs reward=ohi2020"):
        build_env(composed("env=grid", "agent=no_lockdown", "reward=kdd21"))
    with pytest.raises(EpictlError, match="budget=none"):
        build_env(composed("env=grid", "agent=no_lockdown", "budget=beijing"))
    env = tiny_env()
    env.reset(seed=0)
    for action in (3, -1, 1.5, [0, 1]):
        with pytest.raises(EpictlError):
            env.step(action)


@pytest.mark.parametrize("agent", ["expert_seriousness", "hrl"])
def test_city_agents_refuse_the_grid_in_one_line(agent):
    with pytest.raises(EpictlError, match="cannot act in env 'grid_tiny' \\(family 'grid'\\); pick one of its agents") as error:
        composed("env=grid_tiny", f"agent={agent}")  # before anything runs
    assert "\n" not in str(error.value)
    register()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="eval", overrides=["env=grid_tiny", f"agent={agent}"])
    env = build_env(cfg)
    with pytest.raises(EpictlError, match="principle, factor") as error:  # the agent's own guard, for library use
        make_agent(OmegaConf.to_object(cfg.agent), env.observation_space, env.action_space, seed=0)
    assert "\n" not in str(error.value)
