"""DDPG (Deshkar et al. 2023) on a toy continuous bandit: learning, burn-in, exploration, exact resume and config
checks; and the fixed ABM schedules (the baselines and the paper's published schedule)."""

from __future__ import annotations

import io
import math

import gymnasium as gym
import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from epictl.agents.abm_schedules import AbmSchedule, AbmScheduleConfig
from epictl.agents.ddpg import DdpgAgent
from epictl.agents.ddpg_config import DdpgConfig
from epictl.errors import EpictlError
from epictl.paths import CONF_DIR

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CONTEXT = gym.spaces.Box(-np.inf, np.inf, (3,), np.float32)
# Two action dimensions of very different ranges, so the tanh -> [low, high] scaling is exercised per dimension.
LOW, HIGH = np.array([0.0, -2.0], np.float32), np.array([100.0, 2.0], np.float32)
ACTIONS = gym.spaces.Box(LOW, HIGH, (2,), np.float32)
BEST = np.array([30.0, 1.0])
SCHEDULE_ACTIONS = gym.spaces.Box(0.0, 100.0, (8,), np.float32)  # the ABM env's schedule in days


def from_yaml(name: str, schema: type, **overrides):
    """conf/agent/<name>.yaml as its schema dataclass; its defaults list names only the schema, so loading the
    file directly gives what `agent=<name>` composes."""
    node = OmegaConf.load(CONF_DIR / "agent" / f"{name}.yaml")
    node.pop("defaults")
    return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(schema), node, overrides))


def small_config(**overrides) -> DdpgConfig:
    # torch_threads=0 leaves the thread count to the module fixture; the CPU keeps results exact across machines
    return from_yaml("ddpg", DdpgConfig, **{"hidden": [32, 32], "actor_lr": 3e-3, "critic_lr": 3e-3, "burn_in": 20,
                                           "device": "cpu", "torch_threads": 0, **overrides})


class ToyBandit(gym.Env):
    """As the ABM env: one step per episode on a constant context, reward -||(a - a*) / range||^2."""

    observation_space, action_space = CONTEXT, ACTIONS
    context = np.array([1.0, 0.5, -0.5], np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self.context, {}

    def step(self, action):
        executed = np.clip(action, LOW, HIGH).astype(np.float32)
        reward = -float(np.sum(((executed - BEST) / (HIGH - LOW)) ** 2))
        return self.context, reward, True, False, {"action": executed}


def train(agent: DdpgAgent, env: ToyBandit, steps: int, first_episode: int = 0) -> list:
    """As `epictl train` drives an agent: reset, act with exploration, step, observe the executed action."""
    trace = []
    for episode in range(first_episode, first_episode + steps):
        observation, info = env.reset(seed=episode)
        agent.reset(episode, info)
        action = agent.act(observation, explore=True)
        next_observation, reward, terminated, truncated, info = env.step(action)
        losses = agent.observe(observation, info["action"], reward, next_observation, terminated, truncated, info)
        trace.append((action.tobytes(), reward, losses))
    return trace


# A learning check, about 6 s: in `make test-smoke`, so the fast suite keeps its 5 minutes.
@pytest.mark.smoke
def test_learns_the_best_action_of_a_continuous_bandit():
    agent = DdpgAgent(small_config(), CONTEXT, ACTIONS, seed=0)
    train(agent, ToyBandit(), 400)  # every seed 0-9 lands within 0.08 of the range
    final = agent.act(ToyBandit.context)
    assert np.all(np.abs((final - BEST) / (HIGH - LOW)) < 0.1), final  # uniform actions miss by 0.33 on average


def test_burn_in_acts_uniformly_and_does_not_learn():
    agent = DdpgAgent(small_config(burn_in=400), CONTEXT, ACTIONS, seed=1)
    trace = train(agent, ToyBandit(), 400)
    actions = np.array([np.frombuffer(action, np.float32) for action, _, _ in trace])
    assert all(losses == {} for _, _, losses in trace) and len(agent.replay) == 400
    assert np.all((actions >= LOW) & (actions <= HIGH))
    shares = (actions - LOW) / (HIGH - LOW)  # uniform on [0, 1]: mean 1/2, std 1/sqrt(12)
    np.testing.assert_allclose(shares.mean(axis=0), 0.5, atol=0.05)
    np.testing.assert_allclose(shares.std(axis=0), 1 / math.sqrt(12), atol=0.03)
    assert set(train(agent, ToyBandit(), 1, first_episode=400)[0][2]) == {"critic_loss", "actor_loss", "q"}


def test_each_step_after_burn_in_takes_updates_per_step_updates():
    agent = DdpgAgent(small_config(burn_in=2, updates_per_step=3), CONTEXT, ACTIONS, seed=0)
    train(agent, ToyBandit(), 4)
    for optimizer in (agent.actor_optimizer, agent.critic_optimizer):
        assert all(int(state["step"]) == 2 * 3 for state in optimizer.state.values())


def test_act_without_exploration_is_the_deterministic_actor():
    agent = DdpgAgent(small_config(burn_in=0), CONTEXT, ACTIONS, seed=2)
    context = np.ones(3, np.float32)
    rng_before = agent.rng.bit_generator.state
    greedy = agent.act(context)
    assert ACTIONS.contains(greedy)
    np.testing.assert_array_equal(agent.act(context), greedy)
    assert agent.rng.bit_generator.state == rng_before  # acting greedily draws nothing
    with torch.no_grad():
        tanh = agent.actor(torch.as_tensor(context[None]))[0].numpy()
    np.testing.assert_allclose(greedy, LOW + (tanh + 1) / 2 * (HIGH - LOW), rtol=1e-6)
    explored = np.array([agent.act(context, explore=True) for _ in range(200)])
    assert np.all((explored >= LOW) & (explored <= HIGH))
    noise = (explored - greedy) / (HIGH - LOW) * 2  # back in tanh units, where the noise has std 0.1
    np.testing.assert_allclose(noise.std(axis=0), 0.1, rtol=0.2)


def test_executed_action_is_stored_in_normalised_units():
    agent = DdpgAgent(small_config(), CONTEXT, ACTIONS, seed=0)
    agent.observe(np.zeros(3), np.array([100.0, -2.0]), -1.0, np.zeros(3), True, False)
    agent.observe(np.zeros(3), np.array([50.0, 1.0]), -1.0, np.zeros(3), True, False)
    np.testing.assert_array_equal(agent.replay.data["action"][:2], [[1.0, -1.0], [0.0, 0.5]])


@pytest.mark.parametrize("resume_at", [10, 30], ids=["in_burn_in", "learning"])
def test_loaded_state_continues_byte_identically(resume_at):
    """A checkpoint (through torch.save, as `epictl train` writes it) restores networks, targets, optimisers,
    replay, both random streams and the burn-in counter: the continuation's actions and losses are the same bytes."""
    env = ToyBandit()
    agent = DdpgAgent(small_config(), CONTEXT, ACTIONS, seed=3)
    train(agent, env, resume_at)
    file = io.BytesIO()
    torch.save(agent.state_dict(), file)
    uninterrupted = train(agent, env, 20, first_episode=resume_at)
    resumed = DdpgAgent(small_config(), CONTEXT, ACTIONS, seed=99)
    file.seek(0)
    resumed.load_state_dict(torch.load(file, weights_only=False), "test")
    assert train(resumed, env, 20, first_episode=resume_at) == uninterrupted
    assert uninterrupted[-1][2]  # the continuation reached the updates


def test_checkpoint_of_another_shape_is_refused():
    state = DdpgAgent(small_config(), CONTEXT, ACTIONS, seed=0).state_dict()
    with pytest.raises(EpictlError, match="test: trained as"):
        DdpgAgent(small_config(hidden=[16]), CONTEXT, ACTIONS, seed=0).load_state_dict(state, "test")
    wider = gym.spaces.Box(LOW, HIGH * 2, (2,), np.float32)
    with pytest.raises(EpictlError, match="test: trained as"):
        DdpgAgent(small_config(), CONTEXT, wider, seed=0).load_state_dict(state, "test")


def test_paper_config_builds_any_box_observation_and_action():
    config = from_yaml("ddpg", DdpgConfig, device="cpu", torch_threads=0).validate()
    assert (config.updates, config.burn_in, config.batch_size, config.tau, config.gamma) == (150, 10, 32, 5e-3, 0.99)
    grid = gym.spaces.Box(0.0, 1.0, (2, 5), np.float32)
    agent = DdpgAgent(config, grid, SCHEDULE_ACTIONS, seed=0)
    assert SCHEDULE_ACTIONS.contains(agent.act(grid.sample()))


@pytest.mark.parametrize("observation, action", [
    (CONTEXT, gym.spaces.Discrete(3)),
    (gym.spaces.Discrete(3), ACTIONS),
    (CONTEXT, gym.spaces.Box(0.0, np.inf, (2,), np.float32)),
    (CONTEXT, gym.spaces.Box(np.array([0.0, 1.0]), np.array([1.0, 1.0]), (2,), np.float64)),
], ids=["discrete_action", "discrete_observation", "unbounded_action", "empty_action_range"])
def test_wrong_spaces_are_rejected_in_one_line(observation, action):
    with pytest.raises(EpictlError, match=r"^agent ddpg: needs [^\n]*$"):
        DdpgAgent(small_config(), observation, action, seed=0)


@pytest.mark.parametrize("key, value", [
    ("kind", "hrl"), ("hidden", []), ("hidden", [8, 0]), ("actor_lr", 0.0), ("critic_lr", float("nan")),
    ("gamma", 1.0), ("gamma", -0.1), ("tau", 0.0), ("tau", 1.5), ("exploration_noise", -0.1),
    ("exploration_noise", float("inf")), ("batch_size", 0), ("burn_in", -1), ("updates_per_step", 0),
    ("replay_capacity", 0), ("updates", 0), ("checkpoint_every", 0), ("device", "tpu"),
])
def test_config_rejects_values_out_of_range_naming_the_key(key, value):
    with pytest.raises(EpictlError, match=rf"^agent\.{key}=[^\n]*$"):
        small_config(**{key: value}).validate()


@pytest.mark.parametrize("name, days", [
    ("abm_nothing", [0, 0, 0, 0, 0, 0, 0, 0]),
    ("abm_full_lockdown", [0, 100, 0, 100, 0, 100, 0, 100]),
    ("abm_vaccinate", [0, 0, 0, 100, 0, 100, 0, 100]),
    ("abm_partial_lockdown", [0, 30, 0, 100, 0, 100, 0, 100]),
    ("abm_paper_schedule", [0, 0, 0, 0, 0, 41, 0, 100]),
])
def test_schedule_returns_its_days_in_the_env_order(name, days):
    agent = AbmSchedule(from_yaml(name, AbmScheduleConfig), CONTEXT, SCHEDULE_ACTIONS, seed=0)
    action = agent.act(np.zeros(3, np.float32), explore=True)
    assert action.dtype == np.float32 and action.tolist() == days
    action[:] = 7.0  # the caller's copy: the next schedule is unchanged
    assert agent.act(None).tolist() == days


def test_schedule_days_beyond_the_horizon_are_clipped_to_it():
    config = from_yaml("abm_nothing", AbmScheduleConfig, lockdown_start=150.0, vaccination_days=[0.0, 250.0, 0.0])
    action = AbmSchedule(config, CONTEXT, SCHEDULE_ACTIONS, seed=0).act(None)
    assert action.tolist() == [100, 0, 0, 0, 0, 100, 0, 0]


@pytest.mark.parametrize("key, value", [
    ("kind", "ddpg"), ("lockdown_start", -1.0), ("lockdown_days", float("inf")), ("vaccination_start", [0.0, 0.0]),
    ("vaccination_days", [0.0, -5.0, 0.0]), ("vaccination_days", [0.0, float("nan"), 0.0]),
])
def test_schedule_config_rejects_bad_days_naming_the_key(key, value):
    with pytest.raises(EpictlError, match=rf"^agent\.{key}=[^\n]*$"):
        from_yaml("abm_nothing", AbmScheduleConfig, **{key: value}).validate()


@pytest.mark.parametrize("action", [gym.spaces.Box(0.0, 100.0, (7,), np.float32), gym.spaces.Discrete(8)])
def test_schedule_needs_the_eight_number_action(action):
    with pytest.raises(EpictlError, match=r"^agent abm_nothing: needs the ABM's 8-number schedule action"):
        AbmSchedule(from_yaml("abm_nothing", AbmScheduleConfig), CONTEXT, action, seed=0)
