"""The multi-cluster learners on several env copies (env.num_envs): one pass of each network acts for every
copy, each copy keeps its own episode memory (the DQN's episode in progress, the PPO controller's m_{t-1},
tie-breaks and trajectory), and a state dict taken mid-episode continues every copy exactly."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from test_cluster_agents import QUICK, SMALL_NET, single_env

from configs import agent_config
from epictl.agents.advantages import gae
from epictl.agents.base import Transition
from epictl.agents.cluster_dqn import ClusterDqnAgent
from epictl.agents.registry import make_agent
from epictl.agents.torch_files import save_checkpoint
from epictl.envs.clusters import ClustersEnv
from epictl.rewards.peng2026 import ClusterReward
from epictl.sim.clusters.params import ClusterParams

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CPU = {"torch_threads": 0, "device": "cpu"}  # 0: the test session's thread count stays as it is
COPIES = 3


def tiny_env() -> ClustersEnv:
    """env=clusters_tiny: 4 clusters starting on global days 0..3, 8 tests a day."""
    return ClustersEnv(ClusterParams(n_clusters=4, max_start_offset=3), ClusterReward(), 8)


@pytest.fixture(scope="module")
def dqn_run(tmp_path_factory) -> str:
    """The run folder of a freshly initialised small cluster_dqn, for hier_ppo's `dqn_from`."""
    env = single_env()
    agent = ClusterDqnAgent(agent_config("cluster_dqn", **SMALL_NET, **CPU), env.observation_space, env.action_space, 0)
    run = tmp_path_factory.mktemp("dqn")
    save_checkpoint(run, {"agent": agent.state_dict()})
    return str(run)


# Small configs that learn within a few dozen steps of three copies, and what their updates log.
UPDATE_LOSS = {"sl_encoder": "bce", "cluster_dqn": "td_loss", "hier_ppo": "policy_loss"}
LEARNERS = {
    "sl_encoder": (single_env, {"encoder_hidden": 8, "batch_size": 2, "dataset_clusters": 8, "train_every": 2}),
    "cluster_dqn": (single_env, {**SMALL_NET, **QUICK, "train_every": 3}),
    "hier_ppo": (tiny_env, {"rollout": 8, "epochs": 1, "minibatches": 2, "cluster_units": [8], "hidden": [8]}),
}


def learner(name: str, dqn_run: str | None, seed: int = 0, **overrides):
    make_env, settings = LEARNERS[name]
    env = make_env()
    extra = {"dqn_from": dqn_run} if name == "hier_ppo" else {}
    agent = make_agent(agent_config(name, **{**settings, **extra, **CPU, **overrides}), env.observation_space,
                       env.action_space, seed)
    if name == "cluster_dqn":  # Q starts at 0: a random last layer gives dQ values to act on
        torch.nn.init.normal_(agent.online.head[-1].weight, std=0.3)
        agent.target.load_state_dict(agent.online.state_dict())
    return agent, make_env


def new_run(make_env, copies: int) -> dict:
    return {"envs": [make_env() for _ in range(copies)], "observations": [None] * copies, "started": 0}


def train_steps(agent, run: dict, steps: int, explore: bool = True) -> list:
    """``steps`` training steps as `epictl train` takes them on the copies ``run["envs"]`` (each starts the
    next episode seed when free); each step's tests and losses."""
    envs, observations = run["envs"], run["observations"]
    log = []
    for _ in range(steps):
        for env_copy, env in enumerate(envs):
            if observations[env_copy] is None:
                observations[env_copy], info = env.reset(seed=run["started"], options={"training": True})
                agent.reset_copy(env_copy, run["started"], info)
                run["started"] += 1
        actions = agent.act_batch(observations, explore)
        results = [env.step(action) for env, action in zip(envs, actions)]
        losses = agent.observe_batch([Transition(observation, info["action"], reward, next_observation, terminated,
                                                 truncated, info)
                                      for observation, (next_observation, reward, terminated, truncated, info)
                                      in zip(observations, results)])
        for env_copy, (next_observation, _, terminated, truncated, _) in enumerate(results):
            observations[env_copy] = None if terminated or truncated else next_observation
        log.append(([action["test"].tolist() for action in actions], losses))
    return log


def networks(agent) -> dict:
    """The networks an agent acts with, by role."""
    if hasattr(agent, "model"):  # sl_encoder
        return {"encoder": agent.model.encoder}
    found = {"encoder": agent.policy.encoder, "q": agent.policy.qnet}
    return found | ({"actor": agent.actor, "critic": agent.critic} if hasattr(agent, "actor") else {})


def staggered_observations(make_env) -> list[tuple[int, dict, dict]]:
    """(seed, reset info, observation) of copies at different days of different episodes."""
    staggered = []
    for env_copy in range(COPIES):
        env = make_env()
        observation, info = env.reset(seed=10 + env_copy, options={"training": True})
        for _ in range(3 * env_copy):
            nobody = np.zeros_like(observation["members"])
            observation, *_ = env.step({"test": nobody, "quarantine": nobody})
        staggered.append((10 + env_copy, info, observation))
    return staggered


@pytest.mark.parametrize("name", list(LEARNERS))
def test_one_pass_of_each_network_acts_for_every_copy_as_for_each_alone(name, dqn_run):
    together, make_env = learner(name, dqn_run)
    alone, _ = learner(name, dqn_run)
    staggered = staggered_observations(make_env)
    for agent in (together, alone):
        for env_copy, (seed, info, _) in enumerate(staggered):
            agent.reset_copy(env_copy, seed, info)
    calls = {role: 0 for role in networks(together)}
    for role, net in networks(together).items():
        net.register_forward_hook(lambda *_, role=role: calls.__setitem__(role, calls[role] + 1))
    observations = [observation for _, _, observation in staggered]
    actions = together.act_batch(observations, explore=True)
    # hier_ppo prices the tests twice: at the true cost (its demand is an input) and at each copy's m
    assert calls == {role: 1 for role in calls} | ({"q": 2} if name == "hier_ppo" else {})
    # exploration draws go copy after copy: acting on one copy at a time draws the same
    for env_copy, observation in enumerate(observations):
        action = alone.act_batch([observation], explore=True, copies=[env_copy])[0]
        for key in ("test", "quarantine"):
            np.testing.assert_array_equal(action[key], actions[env_copy][key])
    if name == "hier_ppo":  # each copy's m_{t-1} and what observe() will store
        np.testing.assert_allclose(alone.previous_m, together.previous_m, rtol=1e-6)
        for mine, theirs in zip(alone.pending, together.pending):
            assert mine.keys() == theirs.keys()
            for key in mine:
                np.testing.assert_allclose(mine[key], theirs[key], rtol=1e-5, atol=1e-6)


def test_dqn_copies_keep_their_own_episodes_in_progress():
    """Two copies playing seeds 5 and 6 side by side fill the replay as one copy playing 5 then 6."""
    replays = []
    for copies in (2, 1):
        agent, make_env = learner("cluster_dqn", None, learning_starts=10_000)  # no update: one greedy policy
        run = new_run(make_env, copies)
        run["started"] = 5
        train_steps(agent, run, 48 // copies, explore=False)
        assert len(agent.replay) == 2 and len(agent.episodes) == copies
        replays.append(agent.replay.take(np.arange(2)))
    side_by_side, one_after_another = replays
    for key, values in side_by_side.items():
        if key == "belief":  # encoder passes over 1 or 2 clusters agree to float precision
            np.testing.assert_allclose(values.astype(np.float32), one_after_another[key].astype(np.float32),
                                       atol=2e-3)
        else:
            np.testing.assert_array_equal(values, one_after_another[key], err_msg=key)


@pytest.mark.parametrize("name, steps", [("sl_encoder", 26), ("cluster_dqn", 26), ("hier_ppo", 13)])
def test_a_state_dict_mid_episode_continues_every_copy_exactly(name, steps, dqn_run):
    """What `epictl train ... resume=` relies on with env.num_envs copies: agent state and env snapshots taken
    mid-episode (serialized, as train.py does) continue exactly."""
    agent, make_env = learner(name, dqn_run, seed=1)
    run = new_run(make_env, COPIES)
    before = train_steps(agent, run, steps)
    assert any(UPDATE_LOSS[name] in losses for _, losses in before), "no update yet: too little was tested"
    assert all(observation is not None for observation in run["observations"])  # every copy mid-episode
    saved = io.BytesIO()
    torch.save({"agent": agent.state_dict(), "envs": [env.snapshot() for env in run["envs"]],
                "observations": run["observations"], "started": run["started"]}, saved)
    uninterrupted = train_steps(agent, run, 6)
    saved.seek(0)
    checkpoint = torch.load(saved, weights_only=False)
    resumed, _ = learner(name, dqn_run, seed=2)
    resumed.load_state_dict(checkpoint["agent"], "test")
    run = new_run(make_env, COPIES) | {"observations": checkpoint["observations"], "started": checkpoint["started"]}
    for env, snapshot in zip(run["envs"], checkpoint["envs"]):
        env.restore(snapshot)
    assert train_steps(resumed, run, 6) == uninterrupted


def test_ppo_rollout_holds_each_copys_trajectory_and_updates_when_all_copies_fill_it(dqn_run, monkeypatch):
    """rollout=5 on 2 copies: the update ends the third step (3 days of each copy); GAE runs on each copy's
    days in order, each bootstrapped from its own next observation."""
    trajectories = []

    def recording_gae(reward, value, terminated, ended, bootstrap, gamma, lam):
        trajectories.append((reward.tolist(), bootstrap.tolist()))
        return gae(reward, value, terminated, ended, bootstrap, gamma, lam)

    agent, make_env = learner("hier_ppo", dqn_run, rollout=5)
    monkeypatch.setattr("epictl.agents.hier_ppo.gae", recording_gae)
    envs = [make_env() for _ in range(2)]
    observations = []
    for env_copy, env in enumerate(envs):
        observation, info = env.reset(seed=env_copy)
        agent.reset_copy(env_copy, env_copy, info)
        observations.append(observation)
    updated = []
    for step in range(3):
        actions = agent.act_batch(observations, explore=True)
        transitions = []
        for env_copy, (env, action) in enumerate(zip(envs, actions)):
            next_observation, _, terminated, truncated, info = env.step(action)
            reward = 10.0 * env_copy + step  # tells the copies' days apart
            transitions.append(Transition(observations[env_copy], info["action"], reward, next_observation,
                                          terminated, truncated, info))
            observations[env_copy] = next_observation
        updated.append("policy_loss" in agent.observe_batch(transitions))
    assert updated == [False, False, True] and agent.rollout.filled == 0
    assert [rewards for rewards, _ in trajectories] == [[0.0, 1.0, 2.0], [10.0, 11.0, 12.0]]
    for _, bootstrap in trajectories:  # the last day of each copy is a live state: V(its next observation)
        assert bootstrap[:2] == [0.0, 0.0] and bootstrap[2] != 0.0
