"""The contact-tracing city's rule-based policies and their infection-risk estimator (spec papw-contact-tracing.md
§11.1, §12), on small synthetic observations laid out as the contacts env lays them out."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest

from configs import agent_config
from fuzz_harness import assert_clean_rejection, run_cli
from epictl.agents.contact_risk import infection_probability
from epictl.agents.papw_rules import RULES, PapwRule
from epictl.cli import main
from epictl.errors import EpictlError

CATEGORY = np.array([0] * 5 + [1] * 4 + [2] * 2, np.int8)  # the sample map's 5 residential, 4 working, 2 commercial
HOURS = 14


def small_city(seed: int, n: int = 40) -> dict:
    """An observation of n people on the 11-area map: two residential groups per home area, two work groups per
    working area, random whereabouts over the 5 x 14 history hours and random codes and standing levels."""
    rng = np.random.default_rng(seed)
    home, work = rng.integers(0, 5, n), rng.integers(5, 9, n)
    places = np.stack([home, home, work, rng.integers(9, 11, n), np.full(n, -1), np.full(n, -2)], axis=1)
    visits = places[np.arange(n)[:, None], rng.choice(6, size=(n, 5 * HOURS), p=[.3, .1, .3, .1, .1, .1])]
    code = rng.choice(np.array([1, 3, 4, 5], np.int8), n, p=[.6, .15, .1, .15])
    level = rng.integers(0, 4, n).astype(np.int8)
    level[np.isin(code, (3, 4)) & (rng.random(n) < 0.5)] = 4
    return {"day": np.array([7], np.int32), "code": code, "level": level,
            "home": home.astype(np.int32), "work": work.astype(np.int32),
            "home_group": (2 * home + rng.integers(0, 2, n)).astype(np.int32),
            "work_group": (2 * (work - 5) + rng.integers(0, 2, n)).astype(np.int32),
            "visits": visits.astype(np.int16), "area_category": CATEGORY.copy(),
            "area_discovered": np.zeros(len(CATEGORY), np.int32), "level_counts": np.zeros(5, np.int32)}


def spaces(n: int, areas: int = len(CATEGORY)) -> tuple[gym.spaces.Dict, gym.spaces.Dict]:
    box = gym.spaces.Box
    observation = gym.spaces.Dict({
        "day": box(0, 59, (1,), np.int32), "code": box(1, 5, (n,), np.int8), "level": box(0, 4, (n,), np.int8),
        "home": box(0, areas - 1, (n,), np.int32), "work": box(0, areas - 1, (n,), np.int32),
        "home_group": box(0, n, (n,), np.int32), "work_group": box(0, n, (n,), np.int32),
        "visits": box(-2, areas - 1, (n, 5 * HOURS), np.int16), "area_category": box(0, 2, (areas,), np.int8),
        "area_discovered": box(0, n, (areas,), np.int32), "level_counts": box(0, n, (5,), np.int32)})
    action = gym.spaces.Dict({"level": box(0, 4, (n,), np.int8), "days": box(1, 32767, (n,), np.int16)})
    return observation, action


def rule(name: str, n: int = 40, **overrides) -> PapwRule:
    return PapwRule(agent_config(name, **overrides).validate(), *spaces(n), 0)


def loop_probability(observation: dict, p_c: float, p_s: float, terms: str, history_days: int) -> np.ndarray:
    """§11.1 person by person, hour by hour, as the spec writes it."""
    visits = observation["visits"][:, -history_days * HOURS:]
    code, home, work = observation["code"], observation["home_group"], observation["work_group"]
    n = len(code)
    risk = np.zeros(n)
    for i in range(n):
        if code[i] in (3, 4, 5) or observation["level"][i] == 4:
            continue
        healthy = 1.0
        for hour, area in enumerate(visits[i]):
            if area < 0:
                continue
            there = [j for j in range(n) if visits[j, hour] == area]
            sick = [j for j in there if code[j] in (3, 4)]
            friends = [j for j in sick if j != i and (home[j] == home[i] or work[j] == work[i])]
            if terms == "idr" and CATEGORY[area] != 2 and friends:
                healthy *= (1 - p_c) ** len(friends)
            else:
                healthy *= 1 - p_s * len(sick) / len(there)
        risk[i] = 1 - healthy
    return risk


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("terms, history_days", [("idr", 5), ("stranger", 5), ("idr", 2)])
def test_estimator_matches_the_spec_loop(seed, terms, history_days):
    observation = small_city(seed)
    fast = infection_probability(observation, 0.3, 0.4, terms, history_days)
    np.testing.assert_allclose(fast, loop_probability(observation, 0.3, 0.4, terms, history_days), rtol=1e-12, atol=0)
    assert fast.dtype == np.float64 and fast.shape == (40,)


def test_acquaintances_replace_strangers_and_cases_get_zero():
    observation = small_city(1)
    code, level = observation["code"], observation["level"]
    level[np.flatnonzero(code == 1)[0]] = 4  # in hospital without symptoms: also out of reach
    idr = infection_probability(observation, 0.3, 0.4, "idr")
    stranger = infection_probability(observation, 0.3, 0.4, "stranger")
    out = np.isin(code, (3, 4, 5)) | (level == 4)
    assert (idr[out] == 0).all() and (stranger[out] == 0).all()
    assert (stranger[~out] > 0).all()  # everyone shared an hour with a case in this crowded city
    assert (idr[~out] != stranger[~out]).any()  # the acquaintance factor is p_c^k, not the stranger factor
    certain = infection_probability(observation, 1.0, 0.4, "idr")  # factors of 0: log 0, p_inf = 1, no NaN
    np.testing.assert_allclose(certain, loop_probability(observation, 1.0, 0.4, "idr", 5), rtol=1e-12)
    assert (certain == 1).any()
    no_cases = dict(observation, code=np.where(np.isin(code, (3, 4)), 1, code).astype(np.int8))
    assert (infection_probability(no_cases, 0.3, 0.4, "idr") == 0).all()


def test_estimator_grows_with_exposure_and_rates():
    observation = small_city(2)
    base = infection_probability(observation, 0.05, 0.01, "idr")
    assert (infection_probability(observation, 0.1, 0.01, "idr") >= base).all()
    assert (infection_probability(observation, 0.05, 0.02, "idr") >= base).all()
    code, visits = observation["code"], observation["visits"]
    person = np.flatnonzero((code == 1) & (observation["level"] < 4) & (visits == -1).any(axis=1))[0]
    case = np.flatnonzero(np.isin(code, (3, 4)))[0]
    hour = np.flatnonzero(visits[person] == -1)[0]
    away = visits.copy()
    away[case, hour] = 9  # the case in the commercial area 9 at that hour, the person away
    there = away.copy()
    there[person, hour] = 9  # now both
    before = infection_probability(dict(observation, visits=away), 0.05, 0.01, "idr")[person]
    assert infection_probability(dict(observation, visits=there), 0.05, 0.01, "idr")[person] > before


def hospital_orders_hold(observation: dict, action: dict) -> None:
    """Every rule: symptomatic or critical people outside hospital go there; nobody in hospital or recovered is
    ordered anything; days >= 1 everywhere."""
    code, standing, level = observation["code"], observation["level"], action["level"]
    assert action["level"].dtype == np.int8 and action["days"].dtype == np.int16
    np.testing.assert_array_equal(level == 4, np.isin(code, (3, 4)) & (standing != 4))
    assert (level[(standing == 4) | (code == 5)] == 0).all()
    assert (action["days"] >= 1).all()


@pytest.mark.parametrize("lockdown_level", [1, 2, 3])
def test_none_and_lockdown_orders(lockdown_level):
    observation = small_city(3)
    action = rule("none").act(observation)
    hospital_orders_hold(observation, action)
    assert set(np.unique(action["level"])) <= {0, 4}
    action = rule("lockdown", lockdown_level=lockdown_level).act(observation)
    hospital_orders_hold(observation, action)
    free = (observation["code"] == 1) & (observation["level"] != 4)
    assert (action["level"][free] == lockdown_level).all() and (action["days"][free] == 1).all()


def test_without_hospitalisation_none_orders_nothing():
    observation = small_city(3)
    assert (np.isin(observation["code"], (3, 4)) & (observation["level"] != 4)).any()
    assert not rule("none", hospitalise=False).act(observation)["level"].any()


def test_trace_contacts_isolates_a_new_cases_groups_once():
    observation = small_city(4)
    observation["code"][:] = np.where(observation["code"] == 5, 5, 1)
    observation["level"][:] = np.where(observation["level"] == 4, 0, observation["level"])
    agent = rule("trace_contacts", trace_days=3)
    assert agent.act(observation)["level"].max() == 0  # nobody symptomatic: nothing to trace
    case = np.flatnonzero(observation["code"] == 1)[0]
    observation["code"][case] = 3
    action = agent.act(observation)
    hospital_orders_hold(observation, action)
    groups = (observation["home_group"] == observation["home_group"][case]) | (
        observation["work_group"] == observation["work_group"][case])
    contacts = groups & (observation["code"] == 1)
    assert contacts.sum() >= 2
    np.testing.assert_array_equal(action["level"] == 3, contacts)
    assert (action["days"][contacts] == 3).all() and action["level"][case] == 4
    observation["level"][case] = 4
    observation["code"][case] = 4  # symptomatic -> critical is no new onset
    assert agent.act(observation)["level"].max() == 0
    agent.reset(1)  # a new episode: everyone symptomatic now is new
    np.testing.assert_array_equal(agent.act(observation)["level"] == 3, contacts)


def test_trace_contacts_confines_second_degree_for_a_day():
    observation = small_city(5)
    observation["code"][:] = 1
    observation["level"][:] = 0
    case = 0
    observation["code"][case] = 3
    home, work = observation["home_group"], observation["work_group"]
    first = ((home == home[case]) | (work == work[case])) & (np.arange(40) != case)
    second = (np.isin(home, home[first]) | np.isin(work, work[first])) & ~first & (np.arange(40) != case)
    assert second.sum() >= 2
    observation["code"][np.flatnonzero(second)[0]] = 5  # recovered: never ordered anything
    second[np.flatnonzero(second)[0]] = False
    action = rule("trace_contacts", second_degree=True).act(observation)
    np.testing.assert_array_equal(action["level"] == 3, first)
    np.testing.assert_array_equal(action["level"] == 1, second)
    assert (action["days"][first] == 2).all() and (action["days"][second] == 1).all()


@pytest.mark.parametrize("seed", range(3))
def test_prob_threshold_maps_risk_to_levels(seed):
    observation = small_city(seed)
    observation["level"][(observation["code"] == 1) & (np.arange(40) % 4 > 0)] = 0  # most under nothing yet
    risk = infection_probability(observation, 0.05, 0.01, "idr")
    c1, c2, c3 = np.quantile(risk[risk > 0], [0.25, 0.5, 0.75])
    agent = rule("prob_threshold", terms="idr", p_acquaintance=0.05, p_stranger=0.01, confine_above=float(c1),
                 quarantine_above=float(c2), isolate_above=float(c3), threshold_days=4)
    action = agent.act(observation)
    hospital_orders_hold(observation, action)
    target = np.select([risk > c3, risk > c2, risk > c1], [3, 2, 1], 0)
    ordered = (target > observation["level"]) & (observation["code"] == 1) & (observation["level"] != 4)
    np.testing.assert_array_equal(np.where(ordered, target, 0), np.where(action["level"] < 4, action["level"], 0))
    assert (action["days"][ordered] == 4).all() and {1, 2, 3} <= set(action["level"][ordered])
    free = np.flatnonzero(observation["level"] == 0)  # under nothing yet: the order follows the risk
    by_risk = free[np.argsort(risk[free], kind="stable")]
    assert (np.diff(action["level"][by_risk][action["level"][by_risk] < 4]) >= 0).all()


def test_prob_threshold_default_is_the_example_policy():
    observation = small_city(6)
    action = rule("prob_threshold").act(observation)
    risk = infection_probability(observation, 0.0, 0.005, "stranger")
    isolate = (risk > 0.001) & (observation["level"] < 3) & (observation["code"] == 1)
    np.testing.assert_array_equal(action["level"] == 3, isolate)
    assert isolate.any() and (action["days"][isolate] == 5).all() and not np.isin(action["level"], (1, 2)).any()


@pytest.mark.parametrize("name, overrides, message", [
    ("none", {"rule": "curfew"}, "agent.rule='curfew'"),
    ("none", {"kind": "cluster_rule"}, "agent.kind='cluster_rule'"),
    ("lockdown", {"lockdown_level": 4}, "agent.lockdown_level=4"),
    ("trace_contacts", {"trace_days": 0}, "agent.trace_days=0 must be >= 1"),
    ("prob_threshold", {"p_stranger": 1.5}, "agent.p_stranger=1.5 must be a probability"),
    ("prob_threshold", {"terms": "both"}, "agent.terms='both'"),
    ("prob_threshold", {"history_days": 6}, "agent.history_days=6 must lie in 1..5"),
    ("prob_threshold", {"isolate_above": -0.1}, "agent.isolate_above=-0.1"),
    ("prob_threshold", {"confine_above": 0.5}, "must grow with the level"),
    ("prob_threshold", {"isolate_above": None}, "needs at least one of agent.confine_above"),
])
def test_bad_config_is_one_line(name, overrides, message):
    with pytest.raises(EpictlError) as error:
        agent_config(name, **overrides).validate()
    assert message in str(error.value) and "\n" not in str(error.value)


def test_other_action_spaces_are_refused_in_one_line():
    observation_space, _ = spaces(40)
    cluster_action = gym.spaces.Dict({"test": gym.spaces.MultiBinary(5), "quarantine": gym.spaces.MultiBinary(5)})
    with pytest.raises(EpictlError, match="agent lockdown: needs the contact-tracing city's .*env=papw"):
        PapwRule(agent_config("lockdown"), observation_space, cluster_action, 0)


def test_rules_run_through_epictl_eval(tmp_path):
    """Each rule's yaml drives a whole (test-city) episode; lockdown keeps the least mobility, none the most."""
    mobility = {}
    for name in RULES:
        out = tmp_path / name
        assert main(["eval", "env=papw_tiny", f"agent={name}", "seeds=1", "progress=false", "plots=false",
                     f"hydra.run.dir={out}"]) == 0
        mobility[name] = pd.read_csv(out / "metrics.csv")["mobility_retained_pct"].iloc[0]
    assert min(mobility, key=mobility.get) == "lockdown" and max(mobility, key=mobility.get) == "none"


def test_bad_rule_input_is_rejected_by_the_cli(tmp_path):
    run = tmp_path / "run"
    assert_clean_rejection(run_cli("eval", "env=papw_tiny", "agent=prob_threshold", "agent.isolate_above=2",
                                   f"hydra.run.dir={run}", "progress=false"), "agent.isolate_above=2.0", run)
