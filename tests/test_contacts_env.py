"""The contact-city env (epictl/envs/contacts.py): the challenge API's observation and nothing hidden, the action
rules, t_start, the reward and Score arithmetic, the extreme-experience stop, snapshots, and one-line errors."""

from __future__ import annotations

import math
from dataclasses import fields

import numpy as np
import pytest
from fuzz_harness import assert_clean_rejection, run_cli
from omegaconf import OmegaConf

from epictl.envs.contacts import ContactsEnv, score_of_log
from epictl.envs.contacts_family import ScoreSettings
from epictl.errors import EpictlError
from epictl.paths import CONF_DIR
from epictl.rewards.feng2021 import ContactReward
from epictl.sim.contacts.params import ContactParams

OBSERVED = {"day", "code", "level", "home", "work", "home_group", "work_group", "visits", "area_category",
            "area_discovered", "level_counts"}


def small_env(intervention_start: int | None = None, **sim) -> ContactsEnv:
    params = ContactParams(**{"n_people": 600, "days": 20, **sim})
    return ContactsEnv(params, ContactReward(), ScoreSettings(), intervention_start)


def no_orders(env: ContactsEnv) -> dict:
    people = env.params.n_people
    return {"level": np.zeros(people, np.int8), "days": np.ones(people, np.int16)}


def test_the_observation_is_the_challenge_api_and_hides_who_is_incubating():
    env = small_env(p_acquaintance=0.3, p_stranger=0.05, import_trials=20)
    observation, _ = env.reset(seed=1)
    assert set(observation) == OBSERVED and env.observation_space.contains(observation)
    incubating_seen = False
    for _ in range(8):
        observation, *_ = env.step(no_orders(env))
        stages = env.state.stage
        assert set(np.unique(observation["code"])) <= {1, 3, 4, 5}
        # susceptible and pre-symptomatic people look the same: code 1
        assert (observation["code"][stages <= 1] == 1).all()
        incubating_seen |= bool((stages == 1).any())
    assert incubating_seen
    assert env.observation_space.contains(observation)


def test_interventions_open_t_start_days_after_the_first_case_is_seen():
    for start in (0, 3):
        env = small_env(intervention_start=start, import_trials=30)
        observation, _ = env.reset(seed=2)
        seen = np.flatnonzero(env.simulator.log_frame(env.state)["cumulative_symptomatic"] > 0)
        assert len(seen) and int(observation["day"][0]) == seen[0] + 1 + start
    env = small_env(intervention_start=None)
    observation, _ = env.reset(seed=2)
    assert int(observation["day"][0]) == 0


def test_reward_is_the_days_share_of_the_score():
    env = small_env(p_acquaintance=0.2, import_trials=20)
    env.reset(seed=4)
    action = no_orders(env)
    action["level"][:50], action["days"][:50] = 2, 3
    for _ in range(5):
        _, reward, _, _, info = env.step(action)
        log = info["log"]
        assert reward == pytest.approx(-(math.exp(log["new_infections"] / 500) + math.exp(log["cost"] / 10_000)))
        action = no_orders(env)
    onsets = ContactsEnv(env.params, ContactReward(new_infected="onsets"), ScoreSettings(), None)
    onsets.reset(seed=4)
    _, reward, _, _, info = onsets.step(no_orders(onsets))
    assert reward == pytest.approx(-(math.exp(info["log"]["onsets"] / 500) + math.exp(info["log"]["cost"] / 10_000)))


def test_score_arithmetic_on_a_hand_made_log():
    log = {"infected": np.array([3.0, 40.0, 500.0]), "cost": np.array([1000.0, 4000.0, 5000.0])}
    score, infected, cost = score_of_log(log, ScoreSettings())
    assert (infected, cost) == (500.0, 10_000.0) and score == pytest.approx(2 * math.e)
    round_one = ScoreSettings(theta_infected=1000.0, theta_cost=100_000.0, cost_weight=0.5)
    assert score_of_log(log, round_one)[0] == pytest.approx(math.exp(0.5) + 0.5 * math.exp(0.1))


def test_episode_report_scores_the_simulated_days():
    env = small_env(intervention_start=None)
    env.reset(seed=5)
    action = no_orders(env)
    action["level"][:], action["days"][:] = 1, 20  # everyone confined for the whole episode
    done = False
    while not done:
        _, _, done, _, _ = env.step(action)
        action = no_orders(env)
    report = env.episode_report()
    log = env.simulator.log_frame(env.state)
    assert report.metrics["cost"] == pytest.approx(float(np.sum(log["cost"])))
    assert report.metrics["infected"] == log["infected"][-1]
    assert report.metrics["score"] == pytest.approx(ScoreSettings().of(report.metrics["infected"], report.metrics["cost"]))
    assert report.metrics["mobility_retained"] == pytest.approx(0.0)
    assert report.metrics["decided_days"] == 20


@pytest.mark.parametrize("action, expected", [
    ("list", "a dict with 'level' and 'days'"),
    ("short", "of shape"),
    ("level5", "must lie in 0..4"),
    ("days0", "action['days'] must lie in 1.."),
    ("hospitalise_healthy", "hospitalisation(s) of people who are not symptomatic"),
    ("floats", "must be integers"),
])
def test_actions_the_challenge_api_refuses(action, expected):
    env = small_env()
    env.reset(seed=0)
    good = no_orders(env)
    bad = {"list": [0, 1], "short": {"level": good["level"][:-1], "days": good["days"]},
           "level5": {"level": good["level"] + 5, "days": good["days"]},
           "days0": {"level": good["level"] + 1, "days": good["days"] * 0},
           "hospitalise_healthy": {"level": np.where(env.simulator.api_codes(env.state) == 1, 4, 0).astype(np.int8),
                                   "days": good["days"]},
           "floats": {"level": good["level"].astype(float), "days": good["days"]}}[action]
    with pytest.raises(EpictlError, match=expected.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        env.step(bad)


def test_extreme_experience_stops_a_training_episode_with_the_penalty():
    env = small_env(intervention_start=None, p_acquaintance=0.3, p_stranger=0.05, import_trials=30)
    options = {"training": True, "stop_new_infections": 0, "stop_penalty_factor": 10.0}
    env.reset(seed=6, options=options)
    done, rewards = False, []
    while not done:
        _, reward, done, _, info = env.step(no_orders(env))
        rewards.append(reward)
    assert info["log"]["new_infections"] > 0 and env.state.day < env.params.days
    assert rewards[-1] == pytest.approx(10.0 * min(rewards[:-1] + [env.worst_reward]))
    evaluation = small_env(intervention_start=None, p_acquaintance=0.3, p_stranger=0.05, import_trials=30)
    evaluation.reset(seed=6, options={"stop_new_infections": 0, "stop_penalty_factor": 10.0})  # not training: no stop
    steps = sum(1 for _ in iter(lambda: evaluation.step(no_orders(evaluation))[2], True))
    assert steps == evaluation.params.days - 1
    with pytest.raises(EpictlError, match="unknown reset option"):
        env.reset(seed=0, options={"stop_new_infection": 3})


def test_snapshot_and_restore_continue_identically():
    env = small_env(p_acquaintance=0.2, import_trials=20, intervention_start=None)
    env.reset(seed=8)
    for _ in range(4):
        env.step(no_orders(env))
    snapshot = env.snapshot()
    first = [env.step(no_orders(env))[1] for _ in range(5)]
    env.restore(snapshot)
    again = [env.step(no_orders(env))[1] for _ in range(5)]
    assert first == again


def test_papw_yaml_writes_every_setting():
    node = OmegaConf.load(CONF_DIR / "env" / "papw.yaml")
    assert {field.name for field in fields(ContactParams)} == set(node.sim)
    assert {field.name for field in fields(ScoreSettings)} == set(node.score)


@pytest.mark.parametrize("overrides, expected", [
    (["env.sim.n_people=0"], "env.sim.n_people"),
    (["env.sim.transmission=pairwise"], "env.sim.transmission"),
    (["env.intervention_start=99"], "env.intervention_start=99"),
    (["budget=tests"], "takes no budget"),
    (["reward=kdd21"], "needs reward=feng2021"),
    (["agent=expert_seriousness"], "cannot act in env 'papw_tiny'"),
])
def test_bad_contact_city_input_is_one_line_and_exit_code_2(overrides, expected, tmp_path):
    run_dir = tmp_path / "run"
    result = run_cli("eval", "env=papw_tiny", "agent=none", "seeds=1", *overrides, f"hydra.run.dir={run_dir}")
    assert_clean_rejection(result, expected, run_dir)


SAMPLE_DAYS = [0, 2, 4, 7, 10, 14, 20, 26, 31, 40, 50, 59]
SAMPLE_INFECTED = [3, 11, 27, 78, 283, 792, 2805, 5516, 7016, 8196, 8775, 9056]  # challenge sample run (spec §13)


def round_one_infected(**sim) -> np.ndarray:
    """Mean cumulative infected on SAMPLE_DAYS over 8 seeds of the round-1 preset (conf/env/papw_round1.yaml)."""
    from hydra import compose, initialize_config_dir

    from epictl.config import register
    from epictl.sim.contacts.simulator import ContactDay, ContactSimulator

    register()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        params = OmegaConf.to_object(compose(config_name="eval", overrides=["env=papw_round1", "agent=none"]).env).sim
    for key, value in sim.items():
        setattr(params, key, value)
    simulator, curves = ContactSimulator(params), []
    for seed in range(8):
        state = simulator.reset(seed)
        while not simulator.finished(state):
            simulator.step(state, ContactDay.no_orders(params.n_people))
        curves.append(simulator.log_frame(state)["infected"][SAMPLE_DAYS])
    return np.mean(curves, axis=0)


def test_round_one_preset_against_the_public_sample_run():
    """Stated tolerance: the first days (0-4) within 25 % and the final size (day 59) within 12 % of the sample.
    Known gap, pinned so that a change of rules shows here: the middle of the outbreak (days 7-31) grows more slowly
    than the sample (day 20: ~700 against 2,805); round 1's other rules are not documented (README)."""
    ours = round_one_infected()
    sample = np.array(SAMPLE_INFECTED, float)
    early, final, middle = slice(0, 3), -1, SAMPLE_DAYS.index(20)
    np.testing.assert_allclose(ours[early], sample[early], rtol=0.25)
    assert abs(ours[final] / sample[final] - 1) < 0.12, ours
    assert ours[middle] < sample[middle] / 2, ours
    # the final round's reading (P x infectious fraction) at round-1 rates hardly spreads: not round 1's rule
    assert round_one_infected(transmission="fraction")[final] < 300
