"""`env.num_envs` copies as one Gymnasium vector env (epictl/envs/vector.py): every family's copies reset and
step as the single env does, the Gymnasium API autoresets on the next step, and the runners train and evaluate on
copies (a batched learner acts on all of them in one call; an interrupted run resumes exactly)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_cli import epictl

from epictl.envs.vector import EpictlVectorEnv
from epictl.errors import EpictlError
from epictl.gym_ids import build_gym_env  # importing it registers the ids

# (gym id, its test-sized env): one per family
FAMILY_ENVS = {
    "grid": ("epictl/Grid-v0", "grid_tiny"),
    "metapop": ("epictl/Beijing-v0", "tiny"),
    "clusters": ("epictl/Clusters-v0", "clusters_tiny"),
    "contacts": ("epictl/ContactCity-v0", "papw_tiny"),
    "abm": ("epictl/AgeAbm-v0", "abm_tiny"),
}


def varied_action(env, day: int, env_copy: int):
    """A valid action that differs by day and copy (tests the copies' own actions reach their own sims)."""
    space = env.action_space
    if env.family in ("metapop", "abm"):
        space.seed(1000 * env_copy + day)
        return space.sample()
    if env.family == "grid":
        return (day + env_copy) % space.n
    if env.family == "clusters":
        zeros = np.zeros(space["test"].shape, np.int8)
        return {"test": zeros, "quarantine": np.full_like(zeros, (day + env_copy) % 2)}
    ordered = (np.arange(space["level"].shape[0]) % 5 == (day + env_copy) % 5).astype(np.int64)
    return {"level": ordered, "days": 2 * ordered + 1}


def assert_same(a, b, where: str) -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_same(a[key], b[key], f"{where}.{key}")
    else:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=where)


@pytest.mark.parametrize("family", list(FAMILY_ENVS))
def test_copies_step_as_the_single_env_steps(family):
    gym_id, name = FAMILY_ENVS[family]
    envs = EpictlVectorEnv([build_gym_env(gym_id, env=name) for _ in range(3)])
    singles = [build_gym_env(gym_id, env=name) for _ in range(3)]
    batched = envs._step_many is not None
    # Copy after copy: the ABM (a step simulates 100 days, its kernels parallel inside) and the clusters (a day is
    # a few microseconds, less than handing the copies to one kernel call: epictl/sim/clusters/simulator.py).
    assert batched == (family not in ("abm", "clusters"))
    resets = envs.reset_copies([0, 1, 2], [11, 12, 13])  # their reset days (free phase, warm-up) run together
    for env_copy, (single, (observation, info)) in enumerate(zip(singles, resets)):
        expected = single.reset(seed=11 + env_copy)
        assert_same(observation, expected[0], f"reset {env_copy}")
        assert_same(info, expected[1], f"reset info {env_copy}")
    running = [0, 1, 2]
    for day in range(4):
        actions = [varied_action(singles[i], day, i) for i in running]
        for i, action, (observation, reward, terminated, truncated, info) in zip(
                list(running), actions, envs.step_copies(actions, running)):
            expected = singles[i].step(action)
            assert_same(observation, expected[0], f"{family} day {day} copy {i}")
            assert (reward, terminated, truncated) == expected[1:4]
            assert_same(info.get("log", {}), expected[4].get("log", {}), f"{family} log")
            if terminated or truncated:
                running.remove(i)
        if not running:
            break
    for env_copy in (0, 1, 2):
        assert envs.envs[env_copy].episode_report().metrics == singles[env_copy].episode_report().metrics


def test_the_gymnasium_api_resets_an_ended_copy_on_the_next_step():
    """Next-step autoreset: the step after a copy's episode ended starts its next episode (seed: the next in
    the count after reset's), ignoring that copy's action, with reward 0 and no end flags."""
    envs = EpictlVectorEnv([build_gym_env("epictl/Grid-v0", env="grid_tiny") for _ in range(2)])
    single = build_gym_env("epictl/Grid-v0", env="grid_tiny")
    observations, _ = envs.reset(seed=40)
    np.testing.assert_array_equal(observations[1], single.reset(seed=41)[0])
    lockdown = np.array([2, 2])
    for _ in range(200):
        observations, rewards, terminated, truncated, infos = envs.step(lockdown)
        if (terminated | truncated).any():
            break
    ended = terminated | truncated
    observations, rewards, terminated, truncated, infos = envs.step(lockdown)
    assert not (terminated[ended] | truncated[ended]).any() and (rewards[ended] == 0).all()
    first = int(np.flatnonzero(ended)[0])
    np.testing.assert_array_equal(observations[first], single.reset(seed=42)[0])  # the third episode started
    assert infos["_day"][first] and observations.shape == envs.observation_space.shape


def test_copies_refuse_mismatched_input():
    envs = EpictlVectorEnv([build_gym_env("epictl/Grid-v0", env="grid_tiny") for _ in range(2)])
    with pytest.raises(EpictlError, match="1 actions for 2 env copies"):
        envs.step_copies([0])
    with pytest.raises(EpictlError, match="3 seeds for 2 env copies"):
        envs.reset(seed=[1, 2, 3])
    with pytest.raises(EpictlError, match="call reset"):
        envs.step(np.array([0, 0]))
    with pytest.raises(EpictlError, match="at least one env copy"):
        EpictlVectorEnv([])


def test_make_vec_builds_our_vector_env_from_plain_keywords():
    import gymnasium as gym

    envs = gym.make_vec("epictl/Grid-v0", num_envs=3, env="grid_tiny", sim={"initial_infectious": 9})
    assert isinstance(envs, EpictlVectorEnv) and envs.num_envs == 3
    assert all(env.params.initial_infectious == 9 for env in envs.envs)


SMALL_M30 = ["env=grid_tiny", "agent=ddqn_lstm", "agent.memory=4", "agent.lstm_units=[8,4]", "agent.dense_units=[8]",
             "agent.batch_size=4"]


def test_training_steps_on_copies_continue_exactly_from_a_checkpoint(tmp_path):
    """The runner's own functions, in process: 3 copies, saved at step 7 with episodes in progress, restored
    into a new env and agent, give the uninterrupted run's log rows."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from epictl.config import register
    from epictl.paths import CONF_DIR
    from epictl.runners.train import build_training, new_progress, resume, save, training_step

    register()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=[*SMALL_M30, "env.num_envs=3", "agent.updates=14"])

    def trained(steps: int, run_dir=None, saved_at=None):
        envs, agent = build_training(cfg, OmegaConf.to_object(cfg.agent))
        progress, observations = new_progress(3)
        if run_dir:
            progress, observations = resume(run_dir, cfg, agent, OmegaConf.to_object(cfg.agent), envs)
        while progress["step"] < steps:
            training_step(cfg, envs, agent, progress, observations)
            if progress["step"] == saved_at:
                save(tmp_path, cfg, agent, envs, progress, observations)
        return pd.DataFrame(progress["log"])

    whole = trained(14, saved_at=7)
    assert sorted(set(whole["copy"])) == [0, 1, 2] and len(whole) == 3 * 14
    pd.testing.assert_frame_equal(trained(14, run_dir=tmp_path), whole)


@pytest.mark.smoke  # four training and evaluation processes
def test_training_on_copies_resumes_exactly_and_evaluates_per_seed(tmp_path):
    """ddqn_lstm on 3 copies of the tiny grid: a run stopped at step 23 (episodes in progress) and resumed logs
    the uninterrupted run's rows; evaluation on 4 copies gives each seed the one-copy run's outcome."""
    common = [*SMALL_M30, "env.num_envs=3", "agent.checkpoint_every=23", "progress=false", "plots=false"]
    for name, updates in (("whole", 70), ("part", 23)):
        result = epictl("train", *common, f"agent.updates={updates}", f"hydra.run.dir={tmp_path / name}")
        assert result.returncode == 0, result.stderr
    result = epictl("train", *common, "agent.updates=70", f"resume={tmp_path / 'part'}", f"hydra.run.dir={tmp_path / 'r'}")
    assert result.returncode == 0, result.stderr
    whole, resumed = (pd.read_csv(tmp_path / name / "train_log.csv") for name in ("whole", "part"))
    assert sorted(set(whole["copy"])) == [0, 1, 2] and len(whole) == 3 * 70
    assert whole["episode_return"].notna().any()  # episodes ended and the copies started new ones
    pd.testing.assert_frame_equal(whole, resumed)
    evaluations = {}
    for copies in (1, 4):
        run = tmp_path / f"eval{copies}"
        result = epictl("eval", *SMALL_M30, f"env.num_envs={copies}", f"checkpoint={tmp_path / 'whole'}", "seeds=5",
                        "progress=false", "plots=false", f"hydra.run.dir={run}")
        assert result.returncode == 0, result.stderr
        evaluations[copies] = pd.read_csv(run / "metrics.csv").sort_values("seed").reset_index(drop=True)
    pd.testing.assert_frame_equal(evaluations[1], evaluations[4])


def test_a_learner_that_is_not_batched_trains_on_one_copy_only(monkeypatch):
    """Every learner today is batched; one that is not (a new kind) is refused copies in one line."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from epictl.agents.ddqn_lstm import DdqnLstmAgent
    from epictl.config import register
    from epictl.paths import CONF_DIR
    from epictl.runners.train import build_training

    register()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=[*SMALL_M30, "env.num_envs=2"])
    monkeypatch.setattr(DdqnLstmAgent, "batched", False)
    with pytest.raises(EpictlError, match=r"agent 'ddqn_lstm' trains on one env copy; use env.num_envs=1 \(agents "
                                          r"that train on several: hrl, .*ddpg"):
        build_training(cfg, OmegaConf.to_object(cfg.agent))
