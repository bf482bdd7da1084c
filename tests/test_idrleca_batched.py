"""IDRLECA on several env copies (the agent batch API of epictl/agents/base.py): one actor and one critic pass per
act_batch, exploration drawn copy after copy as one agent acting on the copies in turn would draw it, each copy's
decision and trajectory its own (GAE along a copy's own days), the update once the copies' days fill the rollout,
and exact state round trips with several copies. The synthetic city is tests/test_idrleca.py's."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from test_idrleca import PEOPLE, build, city_observation

from epictl.agents.advantages import gae
from epictl.agents.base import Transition
from epictl.agents.idrleca import Rollout
from epictl.errors import EpictlError

pytestmark = pytest.mark.usefixtures("one_torch_thread")

COPIES = 3


def observations(step: int, seed: int, copies: int = COPIES) -> list[dict]:
    """Each copy's observation of a training step: a city of its own every copy and day."""
    return [city_observation(seed + 1000 * env_copy + step) for env_copy in range(copies)]


def transitions(step: int, seed: int, actions: list[dict]) -> list[Transition]:
    """Every copy's executed step; copy c's episodes last ``2 + c`` days, so the copies end theirs on different steps."""
    now, following = observations(step, seed, len(actions)), observations(step + 1, seed, len(actions))
    return [Transition(observation, action, -float(observation["level_counts"][1:].sum()), after,
                       terminated=(step + 1) % (2 + env_copy) == 0, truncated=False)
            for env_copy, (observation, action, after) in enumerate(zip(now, actions, following))]


def play_copies(agent, steps: int, seed: int, copies: int = COPIES, first_step: int = 0) -> list:
    """``steps`` training steps on ``copies`` copies: each step's levels and losses."""
    played = []
    for step in range(first_step, first_step + steps):
        actions = agent.act_batch(observations(step, seed, copies), explore=True)
        losses = agent.observe_batch(transitions(step, seed, actions))
        played.append(([action["level"].tolist() for action in actions], losses))
    return played


def started(agent, copies: int = COPIES):
    for env_copy in range(copies):
        agent.reset_copy(env_copy, env_copy)
    return agent


def count_calls(module: torch.nn.Module) -> list:
    calls = []
    module.register_forward_hook(lambda *_: calls.append(1))
    return calls


def test_act_batch_runs_the_actor_and_the_critic_once_for_all_copies():
    agent = started(build())
    actor_calls, critic_calls = count_calls(agent.actor), count_calls(agent.critic)
    actions = agent.act_batch(observations(0, seed=1), explore=True)
    assert len(actions) == COPIES and len(actor_calls) == 1 and len(critic_calls) == 1
    # Values of truncated days, where each copy's trace stops: one critic pass for all copies too.
    agent.observe_batch([Transition(o, a, 0.0, o, terminated=False, truncated=True)
                         for o, a in zip(observations(0, seed=1), actions)])
    assert len(actor_calls) == 1 and len(critic_calls) == 2


def test_copies_act_as_one_agent_acting_on_them_in_turn():
    """Same decisions and exploration draws as a same-seed agent acting on the copies' observations one by one."""
    batched, single = started(build(seed=4)), build(seed=4)
    for step in range(2):
        now = observations(step, seed=2)
        together = batched.act_batch(now, explore=True)
        for env_copy, (observation, action) in enumerate(zip(now, together)):
            alone = single.act(observation, explore=True)
            np.testing.assert_array_equal(action["level"], alone["level"])
            mine = batched.pending[env_copy]
            np.testing.assert_array_equal(mine["choice"], single.pending[0]["choice"])
            assert mine["log_prob"] == pytest.approx(single.pending[0]["log_prob"], rel=1e-6)
            assert mine["value"] == pytest.approx(single.pending[0]["value"], rel=1e-5, abs=1e-6)
    assert batched.rng.bit_generator.state == single.rng.bit_generator.state


def test_each_copy_keeps_its_own_decision_until_observed():
    agent = started(build())
    agent.act_batch([city_observation(5)], copies=[2])
    assert agent.pending[0] is None and agent.pending[1] is None and agent.pending[2]["choice"].shape == (PEOPLE,)
    with pytest.raises(EpictlError, match="needs the act"):
        agent.observe_batch([Transition(city_observation(5), None, 0.0, city_observation(6), False, False)] * COPIES)


def test_gae_runs_along_each_copys_own_days():
    rng = np.random.default_rng(0)
    rollout = Rollout(12, PEOPLE, 10)
    days = {env_copy: [] for env_copy in range(COPIES)}
    for step in range(4):
        for env_copy in range(COPIES):
            day = {"reward": rng.normal(), "value": np.float32(rng.normal()), "terminated": step == env_copy,
                   "bootstrap": np.float32(rng.normal()) if step == 3 else np.float32(0.0)}
            day["ended"] = day["terminated"]
            rollout.add(None, copy=env_copy, **day)
            days[env_copy].append(day)
    advantages = rollout.advantages(0.9, 0.8)
    for env_copy, own in days.items():
        column = {key: np.array([day[key] for day in own]) for key in own[0]}
        expected = gae(column["reward"], column["value"].astype(np.float32), column["terminated"], column["ended"],
                       column["bootstrap"].astype(np.float32), 0.9, 0.8)
        np.testing.assert_array_equal(advantages[env_copy::COPIES], expected)


def test_the_update_fires_when_the_copies_days_fill_the_rollout_and_bootstraps_every_live_copy():
    agent = started(build(rollout=5, minibatch=2, epochs=1))
    seen = {}
    update = agent.update

    def recording_update():
        seen.update({key: value[:agent.rollout.filled].copy() for key, value in agent.rollout.arrays.items()})
        with torch.no_grad():  # the values of the copies' next days, by the critic the rollout was played with
            seen["next_values"] = [float(agent.critic(*agent.inputs_of([agent.state_of(o)]))[0])
                                   for o in observations(2, seed=3)]
        return update()

    agent.update = recording_update
    played = play_copies(agent, 2, seed=3)  # 3 days, then 6 >= 5: the update after the second step
    assert "policy_loss" not in played[0][1] and "policy_loss" in played[1][1] and agent.rollout.filled == 0
    np.testing.assert_array_equal(seen["copy"], [0, 1, 2, 0, 1, 2])
    # Copy 0's episode ended (terminated) on step 1: no bootstrap; the other copies' traces stop at live states.
    np.testing.assert_array_equal(seen["terminated"], [False, False, False, True, False, False])
    assert seen["bootstrap"][3] == 0.0
    np.testing.assert_allclose(seen["bootstrap"][4:], seen["next_values"][1:], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(seen["bootstrap"][:3], 0.0)


def test_state_dict_round_trip_with_several_copies_continues_identically():
    agent = started(build(rollout=4, minibatch=2, epochs=2))
    play_copies(agent, 3, seed=20)  # two updates behind it, one day of each copy in the rollout
    now = observations(3, seed=20)
    first = agent.act_batch(now[:2], explore=True, copies=[0, 1])  # saved between these copies' act and observe
    saved = io.BytesIO()  # through a file, as a checkpoint: loading must not share tensors with the original
    torch.save(agent.state_dict(), saved)
    saved.seek(0)
    copy = build(seed=9, rollout=4, minibatch=2, epochs=2)
    copy.load_state_dict(torch.load(saved, weights_only=False), "test")
    continued = []
    for resumed in (agent, copy):
        last = resumed.act_batch(now[2:], explore=True, copies=[2])
        losses = resumed.observe_batch(transitions(3, 20, first + last))
        continued.append((last[0]["level"].tolist(), losses, play_copies(resumed, 3, seed=20, first_step=4)))
    assert continued[0] == continued[1]
    for a, b in zip(agent.state_dict()["actor"].values(), copy.state_dict()["actor"].values()):
        assert torch.equal(a, b)
