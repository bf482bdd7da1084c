"""IDRLECA (spec papw-contact-tracing.md §11) on small synthetic contact cities laid out as the contacts env lays
out its observation: the graph's softmax weights, the networks' shapes and symmetry, ordered thresholds and the
inverse-CDF levels, who the agent decides for, the PPO log-probability and update, exact state round trips, and
config errors."""

from __future__ import annotations

import io

import gymnasium as gym
import numpy as np
import pytest
import torch

from configs import agent_config
from epictl.agents.contact_gnn import Actor, Critic, collate, encoder, scatter_softmax, slice_edges
from epictl.agents.idrleca import IdrlecaAgent, decided_people, inverse_cdf, person_features, thresholds
from epictl.errors import EpictlError

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CATEGORY = np.array([0] * 5 + [1] * 4 + [2] * 2, np.int8)  # the sample map: 5 residential, 4 working, 2 commercial
AREAS, HOURS, DAYS, PEOPLE = len(CATEGORY), 14, 5, 60
CPU = {"device": "cpu", "torch_threads": 1}


def city_observation(seed: int, people: int = PEOPLE, day: int = 8) -> dict:
    """One day's observation: homes and work places with 2-6 person groups, weekday whereabouts (home, work,
    sometimes a shop), hospitalised people at -1, hours before day 0 at -2, and a few discovered cases."""
    rng = np.random.default_rng(seed)
    home, work = rng.integers(0, 5, people), rng.integers(5, 9, people)
    hour = np.arange(HOURS)
    start, leave = rng.integers(1, 4, (people, DAYS, 1)), rng.integers(8, 12, (people, DAYS, 1))
    visits = np.where((hour >= start) & (hour < leave), work[:, None, None], home[:, None, None])
    shop = rng.random((people, DAYS)) < 0.3
    visits[:, :, 12][shop] = rng.integers(9, 11, shop.sum())
    code = rng.choice(np.array([1, 3, 4, 5], np.int8), people, p=[0.75, 0.1, 0.05, 0.1])
    level = np.where(code == 1, rng.integers(0, 4, people), 0).astype(np.int8)
    level[np.isin(code, (3, 4)) & (rng.random(people) < 0.5)] = 4
    visits[level == 4, -1] = -1
    visits = visits.reshape(people, DAYS * HOURS)
    visits[:, :max(DAYS - day, 0) * HOURS] = -2
    return {"day": np.array([day], np.int32), "code": code, "level": level,
            "home": home.astype(np.int32), "work": work.astype(np.int32),
            "home_group": np.unique(home * 3 + rng.integers(0, 3, people), return_inverse=True)[1].astype(np.int32),
            "work_group": np.unique(work * 3 + rng.integers(0, 3, people), return_inverse=True)[1].astype(np.int32),
            "visits": visits.astype(np.int16), "area_category": CATEGORY.copy(),
            "area_discovered": np.bincount(home[np.isin(code, (3, 4))], minlength=AREAS).astype(np.int32),
            "level_counts": np.bincount(level, minlength=5).astype(np.int32)}


def spaces(people: int = PEOPLE) -> tuple[gym.spaces.Dict, gym.spaces.Dict]:
    box = gym.spaces.Box
    ids = box(0, np.iinfo(np.int32).max, (people,), np.int32)
    observation = gym.spaces.Dict({
        "day": box(0, 60, (1,), np.int32), "code": box(1, 5, (people,), np.int8),
        "level": box(0, 4, (people,), np.int8), "home": box(0, AREAS - 1, (people,), np.int32),
        "work": box(0, AREAS - 1, (people,), np.int32), "home_group": ids, "work_group": ids,
        "visits": box(-2, AREAS - 1, (people, DAYS * HOURS), np.int16), "area_category": box(0, 2, (AREAS,), np.int8),
        "area_discovered": box(0, people, (AREAS,), np.int32), "level_counts": box(0, people, (5,), np.int32)})
    action = gym.spaces.Dict({"level": box(0, 4, (people,), np.int8), "days": box(1, 10_000, (people,), np.int16)})
    return observation, action


def build(name: str = "idrleca", seed: int = 0, **overrides) -> IdrlecaAgent:
    return IdrlecaAgent(agent_config(name, **CPU, **overrides), *spaces(), seed)


def dense_counts(visits: np.ndarray, slices: int) -> np.ndarray:
    """[K, N, A + 1] hours per person and class, counted hour by hour as the spec words it."""
    counts = np.zeros((slices, len(visits), AREAS + 1), int)
    for k in range(slices):
        for person, row in enumerate(visits[:, visits.shape[1] - (slices - k) * 7:][:, :7]):
            for place in row[row != -2]:
                counts[k, person, AREAS if place == -1 else place] += 1
    return counts


def networks(seed: int = 0, slices: int = 2, aggregation: str = "transpose"):
    torch.manual_seed(seed)
    return (Actor(encoder("graph", 10, 32, slices), 32), Critic(encoder("graph", 10, 32, slices), 32),
            lambda visits: collate([slice_edges(visits, AREAS, slices)], len(visits), AREAS + 1, aggregation,
                                   torch.device("cpu")))


@pytest.mark.parametrize("slices", [1, 2, 10])
def test_slice_edges_count_each_persons_hours_per_place(slices):
    observation = city_observation(slices, day=3)
    edges = slice_edges(observation["visits"], AREAS, slices)
    counts = np.zeros((slices, PEOPLE, AREAS + 1), int)
    for k in range(slices):
        part = slice(edges.bounds[k], edges.bounds[k + 1])
        counts[k, edges.person[part], edges.place[part]] = edges.hours[part]
    np.testing.assert_array_equal(counts, dense_counts(observation["visits"], slices))


def test_scatter_softmax_sums_to_one_per_area_and_matches_a_dense_softmax():
    counts = dense_counts(city_observation(1)["visits"], 1)[0].astype(np.float32)
    person, place = np.nonzero(counts)
    weights = scatter_softmax(torch.as_tensor(counts[person, place]), torch.as_tensor(place), AREAS + 1).numpy()
    np.testing.assert_allclose(np.bincount(place, weights), 1.0, rtol=1e-6)
    for area in np.unique(place):
        visitors = counts[:, area] > 0
        expected = np.exp(counts[visitors, area]) / np.exp(counts[visitors, area]).sum()
        np.testing.assert_allclose(weights[place == area], expected, rtol=1e-6)


def test_row_softmax_weights_sum_to_one_per_person():
    visits = city_observation(2)["visits"]
    graphs = collate([slice_edges(visits, AREAS, 2)], PEOPLE, AREAS + 1, "row_softmax", torch.device("cpu"))
    for graph in graphs:
        np.testing.assert_allclose(graph.to_people.sum(dim=2).numpy(), 1.0, rtol=1e-6)
        visited = graph.to_places.sum(dim=2) > 0
        np.testing.assert_allclose(graph.to_places.sum(dim=2)[visited].numpy(), 1.0, rtol=1e-6)


def test_networks_give_per_person_distributions_and_one_value_per_day():
    observation = city_observation(3)
    actor, critic, graph_of = networks()
    x = torch.as_tensor(person_features(observation, np.random.default_rng(0).random(PEOPLE), "epictl"))[None]
    log_q, value = actor(x, graph_of(observation["visits"])), critic(x, graph_of(observation["visits"]))
    assert log_q.shape == (1, PEOPLE, 4) and value.shape == (1,)
    np.testing.assert_allclose(log_q.exp().sum(dim=-1).detach().numpy(), 1.0, rtol=1e-5)
    ordered = thresholds(log_q[0].detach().numpy())
    assert ordered.shape == (PEOPLE, 3) and np.all(np.diff(ordered, axis=1) >= 0) and np.all(ordered <= 1 + 1e-6)


@pytest.mark.parametrize("aggregation", ["transpose", "row_softmax"])
def test_permuting_people_permutes_the_actor_and_leaves_the_critic(aggregation):
    observation = city_observation(4)
    actor, critic, graph_of = networks(aggregation=aggregation)
    x = torch.as_tensor(person_features(observation, np.random.default_rng(1).random(PEOPLE), "epictl"))[None]
    order = np.random.default_rng(2).permutation(PEOPLE)
    with torch.no_grad():
        log_q, value = actor(x, graph_of(observation["visits"])), critic(x, graph_of(observation["visits"]))
        permuted = graph_of(observation["visits"][order])
        torch.testing.assert_close(actor(x[:, order], permuted), log_q[:, order], rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(critic(x[:, order], permuted), value, rtol=1e-4, atol=1e-5)


def test_inverse_cdf_never_gives_a_milder_level_to_a_higher_probability():
    rng = np.random.default_rng(5)
    ordered = np.sort(rng.random(3))
    u = np.sort(rng.random(200))
    levels = inverse_cdf(u, np.tile(ordered, (200, 1)))
    assert np.all(np.diff(levels) >= 0) and set(levels) == {0, 1, 2, 3}
    np.testing.assert_array_equal(inverse_cdf(ordered, ordered[None].repeat(3, axis=0)), [1, 2, 3])


@pytest.mark.parametrize("explore", [False, True])
def test_only_healthy_people_outside_hospital_are_decided_and_cases_go_to_hospital(explore):
    observation = city_observation(6)
    agent = build(sigma=1.0)
    action = agent.act(observation, explore=explore)
    code, level = observation["code"], observation["level"]
    p_inf = agent.state_of(observation)[0]
    decided = decided_people(observation, p_inf)
    assert np.array_equal(decided, (code == 1) & (level != 4) & (p_inf > 0))
    assert not decided_people(observation, np.zeros(PEOPLE)).any()  # no contact: level 0 whatever q is
    assert action["level"].dtype == np.int8 and action["days"].dtype == np.int16 and np.all(action["days"] == 1)
    to_hospital = np.isin(code, (3, 4)) & (level != 4)
    assert np.all(action["level"][to_hospital] == 4) and to_hospital.any()
    assert np.all(action["level"][~decided & ~to_hospital] == 0)
    assert np.all(action["level"][decided] <= 3)
    assert action["level"][decided].any()  # the synthetic risks reach some thresholds


def test_the_level_is_the_inverse_cdf_of_p_inf_at_test_and_the_log_prob_sums_the_chosen_q():
    observation = city_observation(7)
    agent = build()
    action = agent.act(observation, explore=False)
    p_inf, features, edges = agent.state_of(observation)
    with torch.no_grad():
        log_q = agent.actor(*agent.inputs(features[None], [edges]))[0].numpy()
    decided = decided_people(observation, p_inf)
    np.testing.assert_array_equal(action["level"][decided], inverse_cdf(p_inf, thresholds(log_q))[decided])
    chosen = log_q[np.arange(PEOPLE), agent.pending[0]["choice"]]
    assert agent.pending[0]["log_prob"] == pytest.approx(chosen[decided].astype(np.float64).sum(), rel=1e-6)
    mean = build(log_prob="mean")
    mean.act(observation)
    assert mean.pending[0]["log_prob"] == pytest.approx(chosen[decided].mean(), rel=1e-5)


def play(agent: IdrlecaAgent, days: int, seed: int, episode: int = 5) -> list[dict]:
    """``days`` training days on synthetic observations, episodes of ``episode`` days; the losses of each day."""
    losses = []
    for day in range(days):
        observation, following = city_observation(seed + day), city_observation(seed + day + 1)
        agent.act(observation, explore=True)
        ends = day % episode == episode - 1
        losses.append(agent.observe(observation, None, -float(observation["level_counts"][1:].sum()), following,
                                    terminated=ends, truncated=False))
    return losses


@pytest.mark.parametrize("name", ["idrleca", "idrleca_nograph"])
def test_a_ppo_update_moves_both_networks_and_reports_finite_losses(name):
    agent = build(name, rollout=4, minibatch=2, epochs=1, lr=1e-2)
    before = [p.detach().clone() for p in [*agent.actor.parameters(), *agent.critic.parameters()]]
    losses = play(agent, 4, seed=10)[-1]
    for key in ("policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction"):
        assert np.isfinite(losses[key])
    after = [*agent.actor.parameters(), *agent.critic.parameters()]
    assert all(not torch.equal(a, b) for a, b in zip(before, after))
    assert agent.rollout.filled == 0


def test_state_dict_round_trip_continues_identically():
    agent = build(rollout=4, minibatch=2, epochs=2)
    play(agent, 6, seed=20)  # one update behind it, two days in the rollout
    saved = io.BytesIO()  # through a file, as a checkpoint: loading must not share tensors with the original
    torch.save(agent.state_dict(), saved)
    saved.seek(0)
    copy = build(seed=9, rollout=4, minibatch=2, epochs=2)
    copy.load_state_dict(torch.load(saved, weights_only=False), "test")
    assert play(agent, 3, seed=30) == play(copy, 3, seed=30)
    for a, b in zip(agent.state_dict()["actor"].values(), copy.state_dict()["actor"].values()):
        assert torch.equal(a, b)
    with pytest.raises(EpictlError, match="trained as"):
        build(hidden=16).load_state_dict(agent.state_dict(), "test")


def test_training_asks_the_env_for_the_extreme_experience_stop_unless_noep():
    assert build().training_options() == {"stop_new_infections": 250, "stop_penalty_factor": 10.0}
    assert build("idrleca_noep").training_options() == {}


def test_more_slices_than_the_history_holds_are_refused():
    observation_space, action_space = spaces()
    narrow = gym.spaces.Dict({**observation_space, "visits": gym.spaces.Box(-2, 10, (PEOPLE, 14), np.int16)})
    with pytest.raises(EpictlError, match=r"^agent\.slices=3 needs 21 hours"):
        IdrlecaAgent(agent_config("idrleca", **CPU, slices=3), narrow, action_space, 0)


@pytest.mark.parametrize("key,value", [("encoder", "gcn"), ("features", "all"), ("slices", 11), ("hidden", 0),
                                       ("person_aggregation", "mean"), ("log_prob", "max"), ("sigma", -1.0),
                                       ("p_acquaintance", 1.5), ("terms", "both"), ("minibatch", 64),
                                       ("clip_coef", 0.0), ("gamma", 1.5), ("stop_new_infections", -1),
                                       ("device", "tpu")])
def test_config_rejects_values_in_one_line_naming_the_key(key, value):
    with pytest.raises(EpictlError, match=rf"^agent\.{key}=[^\n]*$"):
        agent_config("idrleca", **{key: value}).validate()
