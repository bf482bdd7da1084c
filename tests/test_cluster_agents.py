"""The multi-cluster family's learned local parts: token layout and causality, the quarantine threshold, the
belief encoder, the Transformer DQN (its cost-sensitivity penalty, padding, replay and exact state), the
policies other agents load from a run, and `epictl train` / `eval` end to end."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import torch
from fuzz_harness import assert_clean_rejection, run_cli
from test_cli import epictl

from configs import agent_config
from epictl.agents.cluster_dqn import ClusterDqnAgent, load_local_policy
from epictl.agents.cluster_features import (CLUSTER_POS, CLUSTER_SYM, CLUSTER_TESTS, DAY, FEATURES, RESULT, SIZE,
                                            SYM, TESTED, TODAY, TOKEN_SIZE, decode_history, history_codes,
                                            threshold_quarantine, tokens)
from epictl.agents.cluster_nets import load_beliefs
from epictl.agents.sl_encoder import SlEncoderAgent
from epictl.agents.torch_files import save_checkpoint
from epictl.envs.clusters import ClustersEnv
from epictl.errors import EpictlError
from epictl.rewards.peng2026 import ClusterReward
from epictl.sim.clusters.params import ClusterParams

pytestmark = pytest.mark.usefixtures("one_torch_thread")

M, D = 39, 30
SMALL_NET = {"encoder_hidden": 8, "d_model": 16, "heads": 2, "feedforward": 32, "head_hidden": 16}
# torch_threads=0 leaves the process-wide thread count of the test session alone
QUICK = {"batch_size": 16, "sl_batch_size": 4, "learning_starts": 0, "train_every": 1, "lr_warmup_steps": 0,
         "replay_capacity": 2000, "updates": 200, "torch_threads": 0, "device": "cpu"}


def single_env() -> ClustersEnv:
    """env=cluster_single: one cluster, no budget, alpha3 drawn per training episode."""
    return ClustersEnv(ClusterParams(n_clusters=1, activation="sync"), ClusterReward(), 0, [0.003, 0.5])


def dqn(seed: int = 0, random_head: bool = True, **overrides) -> tuple[ClusterDqnAgent, ClustersEnv]:
    """A small agent on env=cluster_single; Q starts at 0, so by default a random last layer gives the tests
    dQ values to compare."""
    env = single_env()
    config = agent_config("cluster_dqn", **{**SMALL_NET, **QUICK, **overrides})
    agent = ClusterDqnAgent(config, env.observation_space, env.action_space, seed)
    if random_head:
        torch.nn.init.normal_(agent.online.head[-1].weight, std=0.3)
        agent.target.load_state_dict(agent.online.state_dict())
    return agent, env


def play(agent, env, episodes: int, first_seed: int = 0, learn: bool = True) -> list[dict]:
    """Training episodes of ``agent`` on ``env``; the losses of each step."""
    losses = []
    for seed in range(first_seed, first_seed + episodes):
        observation, info = env.reset(seed=seed, options={"training": True})
        agent.reset(seed, info)
        done = False
        while not done:
            action = agent.act(observation, explore=True)
            next_observation, reward, done, truncated, info = env.step(action)
            if learn:
                losses.append(agent.observe(observation, info["action"], reward, next_observation, done, truncated,
                                            info))
            observation = next_observation
    return losses


def observations(env, seed: int, days: int) -> list[dict]:
    """The first ``days`` decision-day observations of an episode in which every member is tested every day."""
    observation, _ = env.reset(seed=seed, options={"training": True})
    seen = []
    for _ in range(days):
        seen.append(observation)
        action = {"test": observation["members"].copy(), "quarantine": np.zeros_like(observation["members"])}
        observation, *_ = env.step(action)
    return seen


# -- tokens and the threshold ---------------------------------------------------------------------------
def test_token_layout_reads_the_named_rows_of_the_history():
    history = np.zeros((1, M, D, FEATURES), np.float32)
    n, t = 3, 5
    for s in range(t + 1):  # every feature of row s encodes s, so each token entry names the row it read
        history[0, :n, s] = 100 + s
    history[0, :n, :, SIZE], history[0, :n, :, DAY] = n / 40, np.arange(D) / 30
    members = (np.arange(M) < n)[None].astype(np.int8)
    beliefs = np.tile(np.arange(5, dtype=np.float32), (1, M, 1))
    token = tokens(history, np.array([t]), members, beliefs, np.array([0.05], np.float32))
    assert token.shape == (1, M, TOKEN_SIZE) and token.dtype == np.float32
    np.testing.assert_array_equal(token[0, :n, :5], beliefs[0, :n])
    rows = token[0, 0, 5:23] - 100
    # own SYM, TESTED, RESULT, cluster tests and positives: rows t-2..t; symptom prevalence: rows t-3..t-1
    np.testing.assert_array_equal(rows, [3, 4, 5] * 5 + [2, 3, 4])
    np.testing.assert_allclose(token[0, 0, 23:], [n / 40, t / 30, np.log(0.05)], rtol=1e-6)
    assert not token[0, n:].any()  # non-members are all zeros
    early = tokens(history, np.array([1]), members, beliefs, np.array([0.05], np.float32))  # rows < 0 read as 0
    np.testing.assert_array_equal(early[0, 0, 5:8], [0, 100, 101])  # SYM rows -1, 0, 1
    np.testing.assert_array_equal(early[0, 0, 20:23], [0, 0, 100])  # prevalence rows -2, -1, 0


def test_token_feature_order_matches_the_history_columns():
    assert (SYM, TESTED, RESULT, CLUSTER_TESTS, CLUSTER_POS, CLUSTER_SYM, SIZE, DAY) == tuple(range(8))


def test_threshold_quarantine_is_the_bayes_rule_on_members_only():
    alpha2 = 0.1
    cut = alpha2 / (1 + alpha2)
    beliefs = np.array([[cut - 1e-6, cut + 1e-6, 0.9, 0.9]])
    members = np.array([[1, 1, 1, 0]], np.int8)
    np.testing.assert_array_equal(threshold_quarantine(beliefs, members, np.array([alpha2], np.float32)),
                                  [[0, 1, 1, 0]])
    assert threshold_quarantine(beliefs, members, 0.0).tolist() == [[1, 1, 1, 0]]  # free quarantine: b > 0


def test_history_codes_round_trip_and_refuse_values_off_the_layout():
    env = single_env()
    history = observations(env, seed=3, days=20)[-1]["history"][0]
    codes = history_codes(history)
    assert codes.dtype == np.int8
    np.testing.assert_allclose(decode_history(torch.as_tensor(codes[None])).numpy()[0], history, atol=1e-6)
    history = history.copy()
    history[0, 0, CLUSTER_TESTS] = 0.123
    with pytest.raises(EpictlError, match="not a count"):
        history_codes(history)


def test_tokens_beliefs_and_delta_q_at_day_t_never_read_later_rows():
    agent, env = dqn()
    rng = np.random.default_rng(0)
    for observation in observations(env, seed=5, days=12)[3::4]:
        t = int(observation["day"][0])
        scrambled = dict(observation, history=observation["history"].copy())
        scrambled["history"][:, :, t + 1:] = rng.integers(-1, 2, scrambled["history"][:, :, t + 1:].shape)
        results = []
        for obs in (observation, scrambled):
            beliefs = agent.policy.beliefs(obs)
            results.append((beliefs, tokens(obs["history"], obs["day"], obs["members"], beliefs, obs["alpha3"]),
                            agent.policy.delta_q(obs, obs["alpha3"])))
        for before, after in zip(*results):
            np.testing.assert_array_equal(before, after)


# -- the DQN ----------------------------------------------------------------------------------------------
def test_delta_q_batches_padded_clusters_and_marks_the_rest_minus_infinity():
    agent, env = dqn()
    first, second = observations(env, 1, 4)[-1], observations(env, 2, 9)[-1]
    batch = {key: np.concatenate([first[key], second[key], np.zeros_like(first[key])])
             for key in ("history", "members", "day")}  # the third slot is inactive: no members
    alpha3 = np.array([0.01, 0.2, 0.05], np.float32)
    dq = agent.policy.delta_q(batch, alpha3)
    assert dq.shape == (3, M) and dq.dtype == np.float32
    members = batch["members"].astype(bool)
    assert np.isfinite(dq[members]).all() and np.isneginf(dq[~members]).all()
    for k, alone in enumerate((first, second)):  # each cluster as if alone: padding changes nothing
        np.testing.assert_allclose(dq[k][members[k]], agent.policy.delta_q(alone, alpha3[k])[0][members[k]], atol=1e-5)


def test_padded_places_are_never_tested_even_when_exploring():
    agent, env = dqn()
    assert agent.epsilon() == 1.0
    for observation in observations(env, 4, 6):
        action = agent.act(observation, explore=True)
        members = observation["members"].astype(bool)
        assert not action["test"][~members].any() and not action["quarantine"][~members].any()
        assert action["test"][members].any()  # a coin per member while epsilon = 1


def test_an_untrained_dqn_tests_nobody_unless_exploring():
    """Q starts at 0: dQ = 0 is no reason to test."""
    agent, env = dqn(random_head=False)
    for observation in observations(env, 3, 5):
        assert not agent.act(observation)["test"].any()
        np.testing.assert_array_equal(agent.policy.delta_q(observation, 0.03)[observation["members"] > 0], 0.0)


def test_penalty_slope_is_the_derivative_of_delta_q_in_alpha3():
    agent, env = dqn()
    observation = observations(env, 6, 8)[-1]
    history, members = torch.as_tensor(observation["history"]), torch.as_tensor(observation["members"] > 0)
    day, beliefs = torch.as_tensor(observation["day"]).long(), torch.as_tensor(agent.policy.beliefs(observation))
    for penalty_input, scale in (("alpha3", 1.0), ("log_alpha3", 0.04)):
        agent.config.penalty_input = penalty_input
        _, slope = agent.q_and_slope(history, day, members, beliefs, torch.tensor([0.04]))
        h = 1e-3
        m = observation["members"][0] > 0
        up, down = (agent.policy.delta_q(observation, 0.04 + sign * h)[0][m] for sign in (1, -1))
        finite = (up - down) / (2 * h)
        np.testing.assert_allclose(slope[0][m].detach().numpy(), scale * finite, rtol=1e-2, atol=1e-3)
    agent.config.penalty_input, agent.config.penalty_output = "alpha3", "q_test"  # the slope of Q_test alone
    _, slope = agent.q_and_slope(history, day, members, beliefs, torch.tensor([0.04]))
    up, down = (agent.q_and_slope(history, day, members, beliefs, torch.tensor([0.04 + sign * h]))[0][0, :, 1][m]
                for sign in (1, -1))
    np.testing.assert_allclose(slope[0][m].detach().numpy(), ((up - down) / (2 * h)).detach().numpy(),
                               rtol=1e-2, atol=1e-3)


def violations(agent, probes: list[dict]) -> float:
    """Mean squared rise of dQ with alpha3 (finite differences) over the members of ``probes``."""
    rises = []
    for observation in probes:
        for alpha3 in (0.01, 0.05, 0.2):
            m = observation["members"] > 0
            rise = agent.policy.delta_q(observation, alpha3 * 1.05)[m] - agent.policy.delta_q(observation, alpha3)[m]
            rises.append(np.maximum(rise / (0.05 * alpha3), 0.0) ** 2)
    return float(np.concatenate(rises).mean())


def test_gradient_penalty_lowers_the_rise_of_delta_q_with_alpha3():
    env = single_env()
    probes = observations(env, 99, 10)[2::3]
    trained = {}
    for weight in (0.0, 1.0):
        agent, _ = dqn(seed=3, gradient_penalty=weight, lr=1e-3, learning_starts=10_000)
        play(agent, env, 3)  # the same replay for both: no updates while filling
        start = violations(agent, probes)
        for _ in range(30):
            agent.update()
        trained[weight] = violations(agent, probes)
    assert trained[1.0] < 0.5 * start and trained[1.0] < 0.5 * trained[0.0], (start, trained)


def test_replay_keeps_each_episode_once_and_bootstraps_within_it():
    agent, env = dqn(learning_starts=10_000)
    play(agent, env, 2)
    assert len(agent.replay) == 2 and agent.steps == 48
    data = agent.replay.data
    assert data["codes"].dtype == np.int8 and data["belief"].dtype == np.float16
    np.testing.assert_array_equal(data["day"][0], np.arange(3, 27))
    assert data["length"][:2].tolist() == [24, 24] and data["terminal"][:2].all()
    assert not data["belief"][0, 24].any()  # after the terminal day: nothing to bootstrap from
    # rewards are the per-member split: members only
    assert not data["reward"][0][:, data["codes"][0, :, 0, SIZE] == 0].any()


def test_schedules_follow_the_config():
    agent, _ = dqn(lr=1e-3, lr_warmup_steps=100, updates=1100, exploration_fraction=0.5, epsilon_end=0.05)
    for steps, lr, epsilon in ((10, 1e-4, 1.0 - 0.95 * 10 / 550), (100, 1e-3, None), (600, 0.5e-3, None),
                               (1100, 0.0, 0.05), (5000, 0.0, 0.05)):
        agent.steps = steps
        assert agent.learning_rate() == pytest.approx(lr, abs=1e-12)  # warm-up, then cosine to 0 at the end
        assert epsilon is None or agent.epsilon() == pytest.approx(epsilon)


def test_training_steps_report_losses_and_sync_the_target():
    agent, env = dqn(target_update_every=7)
    losses = [loss for loss in play(agent, env, 2) if "td_loss" in loss]
    assert len(losses) == 25  # from the step that puts the first episode into replay
    assert all(np.isfinite(list(loss.values())).all() for loss in losses)
    assert agent.gradient_steps == 25
    for a, b in zip(agent.online.state_dict().values(), agent.target.state_dict().values()):
        assert not torch.equal(a, b)  # 4 steps since the last copy at 21
    agent.config.target_update_every = 1
    agent.update()
    for a, b in zip(agent.online.state_dict().values(), agent.target.state_dict().values()):
        assert torch.equal(a, b)


def test_state_dict_round_trip_continues_exactly():
    trained, env = dqn(seed=1)
    play(trained, env, 2)
    observation, info = env.reset(seed=50, options={"training": True})
    trained.act(observation, explore=True)  # mid-episode: the beliefs act() decided with are part of the state
    fresh, _ = dqn(seed=2)
    fresh.load_state_dict(trained.state_dict(), "test")
    for agent in (trained, fresh):
        agent.result = [agent.act(observation, explore=True)["test"].tolist(), agent.update(), agent.epsilon()]
    assert trained.result == fresh.result
    with pytest.raises(EpictlError, match="trained as"):
        dqn(d_model=32)[0].load_state_dict(trained.state_dict(), "x")


def test_cluster_dqn_needs_one_cluster_and_names_bad_keys():
    env = ClustersEnv(ClusterParams(n_clusters=3), ClusterReward(), 6)
    with pytest.raises(EpictlError, match="one cluster at a time"):
        ClusterDqnAgent(agent_config("cluster_dqn", **QUICK), env.observation_space, env.action_space, 0)


@pytest.mark.parametrize("key, value", [
    ("heads", 3), ("batch_size", 0), ("lr", 0.0), ("gradient_penalty", -1.0), ("penalty_input", "alpha2"),
    ("exploration_fraction", 0.0), ("sl_batch_size", 200), ("discount", 1.0), ("device", "tpu"),
])
def test_dqn_config_rejects_values_out_of_range(key, value):
    with pytest.raises(EpictlError, match=r"^agent"):
        agent_config("cluster_dqn", **{key: value}).validate()


# -- the SL encoder -----------------------------------------------------------------------------------------
def test_sl_encoder_tests_at_random_quarantines_by_its_beliefs_and_learns():
    env = single_env()
    config = agent_config("sl_encoder", encoder_hidden=8, batch_size=2, train_every=1, torch_threads=0, device="cpu")
    agent = SlEncoderAgent(config, env.observation_space, env.action_space, 0)
    tested = members = 0
    for observation in observations(env, 8, 24):
        action = agent.act(observation)
        beliefs = agent.model.beliefs(observation)
        np.testing.assert_array_equal(action["quarantine"],
                                      threshold_quarantine(beliefs[..., TODAY], observation["members"], 0.1))
        tested, members = tested + action["test"].sum(), members + observation["members"].sum()
        assert not action["test"][observation["members"] == 0].any()
    assert 0.3 < tested / members < 0.45  # 9 days in 24 [pred]
    losses = play(agent, env, 3)
    assert len(agent.clusters) == 3 and agent.clusters.data["last_day"][:3].tolist() == [26] * 3
    bce = [loss["bce"] for loss in losses if loss]
    assert len(bce) == 25 and np.isfinite(bce).all()  # a step a day once two clusters are kept


def test_sl_encoder_config_rejects_a_probability_out_of_range():
    with pytest.raises(EpictlError, match=r"^agent\.test_probability="):
        agent_config("sl_encoder", test_probability=1.5).validate()


# -- loading from runs ------------------------------------------------------------------------------------
def test_runs_give_beliefs_and_local_policies_with_one_line_errors(tmp_path):
    agent, env = dqn(seed=4)
    save_checkpoint(tmp_path / "dqn", {"agent": agent.state_dict()})
    sl = SlEncoderAgent(agent_config("sl_encoder", encoder_hidden=8, torch_threads=0), env.observation_space,
                        env.action_space, 0)
    save_checkpoint(tmp_path / "sl", {"agent": sl.state_dict()})
    save_checkpoint(tmp_path / "other", {"agent": {"online": {}}})
    observation = observations(env, 7, 6)[-1]
    policy = load_local_policy(tmp_path / "dqn", "cpu")
    np.testing.assert_array_equal(policy.delta_q(observation, 0.03), agent.policy.delta_q(observation, 0.03))
    np.testing.assert_array_equal(load_beliefs(tmp_path / "dqn", "cpu").beliefs(observation),
                                  agent.policy.beliefs(observation))
    np.testing.assert_array_equal(load_beliefs(tmp_path / "sl", "cpu").beliefs(observation),
                                  sl.model.beliefs(observation))
    with pytest.raises(EpictlError, match=r"holds no cluster_dqn local policy"):
        load_local_policy(tmp_path / "sl", "cpu")
    with pytest.raises(EpictlError, match=r"holds no belief encoder"):
        load_beliefs(tmp_path / "other", "cpu")
    started, _ = dqn(encoder_from=str(tmp_path / "sl"))
    for a, b in zip(started.encoder.state_dict().values(), sl.encoder.state_dict().values()):
        assert torch.equal(a, b)
    with pytest.raises(EpictlError, match=r"^agent\.encoder_from=.*does not fit"):
        dqn(encoder_from=str(tmp_path / "sl"), encoder_hidden=16)


# -- end to end -------------------------------------------------------------------------------------------------
TINY = ["env=cluster_single", "progress=false", "plots=false", "agent.torch_threads=1", "agent.learning_starts=48",
        "agent.train_every=4", "agent.batch_size=16", "agent.sl_batch_size=4", "agent.lr_warmup_steps=2",
        *(f"agent.{key}={value}" for key, value in SMALL_NET.items())]


@pytest.mark.smoke  # a pre-training, a training and an evaluation process (about 30 s)
def test_train_from_an_sl_run_then_evaluate(tmp_path):
    result = epictl("train", "env=cluster_single", "agent=sl_encoder", "progress=false", "agent.updates=96",
                    "agent.encoder_hidden=8", f"hydra.run.dir={tmp_path / 'sl'}")
    assert result.returncode == 0, result.stderr
    result = epictl("train", "agent=cluster_dqn", *TINY, "agent.updates=120", "agent.checkpoint_every=120",
                    f"agent.encoder_from={tmp_path / 'sl'}", f"hydra.run.dir={tmp_path / 'dqn'}")
    assert result.returncode == 0, result.stderr
    log = pd.read_csv(tmp_path / "dqn" / "train_log.csv")
    assert log["td_loss"].notna().sum() == (120 - 48) // 4 and log["episode_return"].notna().sum() == 5
    result = epictl("eval", "env=cluster_single", "agent=cluster_dqn", *TINY[1:], "seeds=3",
                    f"checkpoint={tmp_path / 'dqn'}", f"hydra.run.dir={tmp_path / 'eval'}")
    assert result.returncode == 0, result.stderr
    assert len(pd.read_csv(tmp_path / "eval" / "metrics.csv")) == 3


def train_steps(agent, env, run: dict, steps: int) -> list[dict]:
    """``steps`` training steps as `epictl train` takes them; ``run`` holds the observation in progress."""
    log = []
    for _ in range(steps):
        if run["observation"] is None:
            run["observation"], info = env.reset(seed=run["episode"], options={"training": True})
            agent.reset(run["episode"], info)
            run["episode"] += 1
        observation = run["observation"]
        next_observation, reward, done, truncated, info = env.step(agent.act(observation, explore=True))
        log.append(agent.observe(observation, info["action"], reward, next_observation, done, truncated, info))
        run["observation"] = None if done or truncated else next_observation
    return log


# About 3 s: in `make test-smoke` with the other resume checks, so the fast suite keeps its 5 minutes.
@pytest.mark.smoke
def test_a_checkpoint_mid_episode_continues_as_the_uninterrupted_run():
    """What `epictl train ... resume=` relies on: the agent state, serialized at once as train.py does, and the
    env snapshot, taken mid-episode, continue exactly."""
    agent, env = dqn(seed=1, learning_starts=30, train_every=2)
    run = {"observation": None, "episode": 0}
    train_steps(agent, env, run, 40)
    saved = io.BytesIO()
    torch.save({"agent": agent.state_dict(), "env": env.snapshot(), "run": run}, saved)
    uninterrupted = train_steps(agent, env, run, 30)
    saved.seek(0)
    checkpoint = torch.load(saved, weights_only=False)
    resumed, env = dqn(seed=2, learning_starts=30, train_every=2)
    resumed.load_state_dict(checkpoint["agent"], "test")
    env.restore(checkpoint["env"])
    assert train_steps(resumed, env, checkpoint["run"], 30) == uninterrupted


def test_a_longer_decision_window_than_the_replay_holds_is_one_line(tmp_path):
    result = run_cli("train", "env=cluster_single", "agent=cluster_dqn", "env.sim.last_decision_day=28",
                     "agent.updates=30", "progress=false", f"hydra.run.dir={tmp_path / 'run'}")
    assert_clean_rejection(result, "decides on 24 days")
