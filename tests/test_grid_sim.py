"""The grid world of Ohi et al. 2020 (spec grid-lockdown.md) as specifications: conservation, the
occupancy index, contacts only between neighbours, latency, the disease clock, economy levels,
determinism, the released preset, the reward threshold and the paper's ODE."""

from __future__ import annotations

import math

import numpy as np
import pytest

from epictl.errors import EpictlError
from epictl.rewards.ohi2020 import Ohi2020Reward
from epictl.sim.grid.compartments import EMPTY, NO_CELL, WALL, D, E, I, R, S
from epictl.sim.grid.ode import SeirdOde
from epictl.sim.grid.params import GridParams
from epictl.sim.grid.reference import ReferenceGrid
from epictl.sim.grid.simulator import DayStats, GridSimulator, GridState
from epictl.sim.grid.xoshiro import fill_below, next_u64


def advance(sim: GridSimulator, state, level: int) -> DayStats:
    """One day at ``level``; that day's statistics."""
    sim.step(state, level)
    return state.last


def small(**overrides) -> GridParams:
    """400 people on a 40² grid (density 0.25) so that a few days see many contacts."""
    return GridParams(**{"population": 400, "density": 0.25, "initial_infectious": 20, **overrides})


def assert_index_agrees(state: GridState) -> None:
    """Every living person's cell holds their id, the dead are off the grid, nobody else is indexed."""
    alive = state.status != D
    assert np.all(state.grid[state.cell[alive]] == np.flatnonzero(alive))
    assert np.all(state.cell[~alive] == NO_CELL)
    assert np.count_nonzero(state.grid >= 0) == alive.sum()  # so no two people share a cell
    border = np.ones((state.width, state.width), bool)
    border[1:-1, 1:-1] = False
    assert np.all(state.grid.reshape(state.width, state.width)[border] == WALL)
    assert set(np.unique(state.order[: state.n_alive])) == set(np.flatnonzero(alive))


def relocate(state: GridState, xy: np.ndarray) -> None:
    """Put person p at column xy[p, 0], row xy[p, 1] (rebuilding the occupancy index)."""
    state.occupancy[:] = EMPTY
    for p, (x, y) in enumerate(xy):
        state.cell[p] = (y + 1) * state.width + x + 1
        state.occupancy[y, x] = p


@pytest.mark.parametrize("options", [
    {}, {"order": "id"}, {"contact_model": "moore_neighbourhood"}, {"moves_rounding": "stochastic"},
    {"p_contact": 0.3, "economy_draw": "move"},
])
def test_population_conserved_and_index_agrees_every_day(options):
    sim = GridSimulator(small(**options))
    state = sim.reset(seed=3)
    levels = np.random.default_rng(0).integers(0, 3, size=60)
    for level in levels:
        stats = advance(sim, state, level)
        counts = np.bincount(state.status, minlength=5)
        assert counts.sum() == 400
        assert [stats.susceptible, stats.exposed, stats.infectious, stats.recovered, stats.dead] == counts.tolist()
        assert_index_agrees(state)
    assert stats.dead > 0 and stats.recovered > 0, "60 dense days should resolve some infections"


def test_grid_side_follows_density():
    assert GridParams().side == round(math.sqrt(10_000 / 0.02)) == 707  # [epictl §1]
    for n, density in [(10_000, 0.03), (1_000_000, 0.02), (5_000, 0.02)]:
        params = GridParams(population=n, density=density).validate()
        assert abs(n / params.side**2 - density) < 0.01 * density
    assert GridParams(grid_side=50, population=100).validate().side == 50
    assert GridParams.released().side == 708  # the released preset for N = 10,000 at 0.02
    assert GridParams.released(population=5003).n_people == 5000  # rounded to a multiple of 5


def test_moves_per_level():
    assert GridParams().moves_per_level == [15, 11, 3]  # [released]
    sim = GridSimulator(GridParams(population=4000, moves_rounding="stochastic", initial_infectious=0))
    state = sim.reset(seed=1)
    sim.step(state, 1)
    assert abs(state.moves_today.mean() - 11.25) < 0.05
    assert set(np.unique(state.moves_today)) == {11, 12}


@pytest.mark.parametrize("bad, message", [
    ({"contact_model": "hug"}, "contact_model"), ({"density": 0.0}, "density"),
    ({"population": 100, "grid_side": 5}, "do not fit"), ({"exposed_min": 3}, "exposed_max"),
    ({"infectious_min": 0}, "infectious"), ({"p_contact": 1.5}, "p_contact"),
    ({"initial_infectious": 20_000}, "initial_infectious"), ({"level_movement": [1.0, 2.0]}, "level_movement"),
])
def test_bad_parameters_are_one_line_errors(bad, message):
    with pytest.raises(EpictlError, match=message) as error:
        GridParams(**bad).validate()
    assert "\n" not in str(error.value)


def test_full_stop_freezes_everyone():
    sim = GridSimulator(small(level_movement=[1.0, 0.75, 0.0]))
    state = sim.reset(seed=5)
    cells, exposed = state.cell.copy(), state.last.exposed
    stats = advance(sim, state, 2)
    np.testing.assert_array_equal(state.cell[state.status != D], cells[state.status != D])
    assert stats.new_exposed == 0 and np.all(state.moves_today[state.status != D] == 0)
    assert stats.exposed <= exposed  # the clock still runs


@pytest.mark.parametrize("model", ["collision", "moore_neighbourhood", "collision_released"])
def test_no_infection_across_an_empty_band(model):
    """Infectious people on the left, susceptible ones on the right, 40 empty columns between: one
    day of 15 moves carries nobody more than 15 cells, so nobody is infected (no action at a distance)."""
    sim = GridSimulator(GridParams(population=200, grid_side=100, initial_infectious=0, contact_model=model,
                                   warmup_days=0))
    state = sim.reset(seed=2)
    left = [(x, y) for y in range(100) for x in range(30)][:100]  # ids 0..99 at x < 30
    right = [(x, y) for y in range(100) for x in range(70, 100)][:100]  # ids 100..199 at x >= 70
    relocate(state, np.array(left + right))
    state.status[:100], state.stage_end[:100], state.infected_day[:100] = I, 100, 0
    stats = advance(sim, state, 0)
    assert stats.new_exposed == 0 and np.all(state.status[100:] == S)


@pytest.mark.parametrize("model", ["collision", "moore_neighbourhood"])
def test_neighbours_do_infect(model):
    """The positive control of the band test: a dense mixed block spreads infection within a day."""
    sim = GridSimulator(GridParams(population=400, grid_side=21, initial_infectious=40, contact_model=model))
    state = sim.reset(seed=4)
    assert state.last.new_exposed > 0


def test_exposed_people_never_infect():
    """Everyone infected is still latent: a crowded grid sees no new infection (spec §5-§6)."""
    sim = GridSimulator(small(initial_infectious=0, warmup_days=0, density=0.5))
    state = sim.reset(seed=6)
    state.status[:200], state.stage_end[:200], state.infected_day[:200] = E, 50, 0
    for _ in range(10):
        assert advance(sim, state, 0).new_exposed == 0
    assert np.count_nonzero(state.status == E) == 200


def test_every_infector_was_infectious_when_it_infected():
    """[epictl] only infectious people infect: whoever infected someone on day t was I after day t − 1."""
    state, history = clock_trajectory(small(warmup_days=0), seed=13, days=40)
    infected = np.flatnonzero(state.infected_day > 0)
    assert len(infected) > 100
    infectors = state.infected_by[infected]
    assert np.all(history[state.infected_day[infected] - 1, infectors] == I)
    assert np.all(state.infected_by[state.infected_day <= 0] == -1)
    np.testing.assert_array_equal(np.bincount(infectors, minlength=400), state.secondary)


def test_moore_neighbourhood_infects_without_collision():
    """On a 2 × 2 grid two people are always neighbours: [pseudocode] contact is certain in one day."""
    sim = GridSimulator(GridParams(population=2, grid_side=2, initial_infectious=1, warmup_days=0,
                                   contact_model="moore_neighbourhood"))
    state = sim.reset(seed=0)
    assert advance(sim, state, 0).new_exposed == 1
    infector = int(np.flatnonzero(state.status == I)[0])
    assert state.secondary[infector] == 1 and state.last.reproduction == 1.0


def clock_trajectory(params: GridParams, seed: int, days: int) -> tuple[GridState, np.ndarray]:
    """Statuses after every day: [days + 1, N] (row 0 after reset)."""
    sim = GridSimulator(params)
    state = sim.reset(seed)
    rows = [state.status.copy()]
    for _ in range(days):
        sim.step(state, 0)
        rows.append(state.status.copy())
    return state, np.array(rows)


def first_day(history: np.ndarray, codes: tuple[int, ...]) -> np.ndarray:
    """Per person, the first row whose status is in ``codes`` (-1 if never); row r = after day r + offset."""
    hit = np.isin(history, codes)
    return np.where(hit.any(axis=0), hit.argmax(axis=0), -1)


def test_disease_clock_durations_and_death_share():
    """E lasts 1-2 days, I 21-27 days, and about 20 % of resolved infections die [paper §6]."""
    state, history = clock_trajectory(small(population=3000, density=0.3, warmup_days=0), seed=7, days=120)
    infectious_from, resolved_on = first_day(history, (I,)), first_day(history, (R, D))
    infected = (state.infected_day > 0) & (resolved_on > 0)
    assert infected.sum() > 1000
    assert set(np.unique(infectious_from[infected] - state.infected_day[infected])) <= {1, 2}
    assert set(np.unique(resolved_on[infected] - infectious_from[infected])) <= set(range(21, 28))
    seeds = (state.infected_day == 0) & (resolved_on > 0)
    assert set(np.unique(resolved_on[seeds])) <= set(range(21, 28))
    resolved = np.isin(state.status, (R, D))
    assert abs(np.mean(state.status[resolved] == D) - 0.2) < 0.04


def test_released_preset_has_a_deterministic_20_check_clock():
    """[released] no latency, resolution after 20 daily checks (19 for the initial cases, spec §13.4)."""
    params = GridParams.released(population=1000, density=0.2, initial_infectious=30, warmup_days=0)
    state, history = clock_trajectory(params, seed=8, days=70)
    assert not np.any(history == E)
    resolved_on = first_day(history, (R, D))
    infected = (state.infected_day > 0) & (resolved_on > 0)
    assert infected.sum() > 50
    assert np.all(resolved_on[infected] - state.infected_day[infected] == 19)  # checks on days t..t+19
    assert np.all(resolved_on[state.infected_day == 0] == 19)  # checks on days 1..19


def test_released_preset_overwrites_occupants():
    """[released] a susceptible mover steps onto an occupied cell and erases the occupant from the index."""
    sim = GridSimulator(GridParams.released(population=5, grid_side=3, initial_infectious=0))
    state = sim.reset(seed=1)
    indexed = []
    for _ in range(5):
        sim.step(state, 0)
        indexed.append(np.count_nonzero(state.grid >= 0))
    assert min(indexed) < 5


def test_same_seed_same_run_and_different_seed_differs():
    def run(seed: int) -> list:
        sim = GridSimulator(small(moves_rounding="stochastic"))
        state = sim.reset(seed)
        return [(advance(sim, state, level), state.cell.copy()) for level in [0, 1, 2, 0, 0, 1] * 5]

    first, again, other = run(11), run(11), run(12)
    assert all(a[0] == b[0] and np.array_equal(a[1], b[1]) for a, b in zip(first, again))
    assert any(a[0] != b[0] for a, b in zip(first, other))


def test_each_person_runs_the_same_course_under_every_policy():
    """Common random numbers: anyone infected under two policies has the same stage lengths and fate."""
    outcomes = []
    for level in (0, 2):
        sim = GridSimulator(small())
        state = sim.reset(seed=9)
        history = [state.status.copy()]
        for _ in range(60):
            sim.step(state, level)
            history.append(state.status.copy())
        history = np.array(history)
        outcomes.append((state.infected_day.copy(), first_day(history, (R, D)), state.status.copy()))
    (day_a, end_a, fate_a), (day_b, end_b, fate_b) = outcomes
    both = (day_a > 0) & (day_b > 0) & (end_a > 0) & (end_b > 0)
    assert both.sum() > 10
    np.testing.assert_array_equal(end_a[both] - day_a[both], end_b[both] - day_b[both])
    np.testing.assert_array_equal(fate_a[both], fate_b[both])


@pytest.mark.parametrize("params, expected", [
    (GridParams(population=3000), (1.0, 11 / 15, 3 / 15)),  # [epictl] normalised by the mean draw
    (GridParams(population=3000, economy_norm="paper"), (0.9, 0.9 * 11 / 15, 0.9 * 3 / 15)),
    (GridParams.released(population=3000), (0.889, 0.652, 0.178)),  # spec §7 [released]
])
def test_economy_levels_with_nobody_ill(params, expected):
    params.initial_infectious = 0
    sim = GridSimulator(params)
    state = sim.reset(seed=10)
    for level, value in enumerate(expected):
        assert abs(advance(sim, state, level).economy - value) < 0.005


def test_state_vector_done_and_truncation():
    sim = GridSimulator(small(max_days=30))
    state = sim.reset(seed=12)
    stats = advance(sim, state, 1)
    vector = sim.observe(state)
    assert vector.dtype == np.float32 and vector.shape == (7,)
    np.testing.assert_allclose(vector, [stats.infectious / 400, stats.new_infectious / 400, stats.recovered / 400,
                                        stats.dead / 400, stats.economy, stats.reproduction, 1.0], rtol=1e-6)
    released = stats.vector("released")
    assert released[0] == np.float32((stats.exposed + stats.infectious) / 400)
    assert released[1] == np.float32(stats.new_exposed / 400)
    while not (sim.done(state) or sim.truncated(state)):
        sim.step(state, 0)
    assert sim.truncated(state) and state.day == 30
    quiet = GridSimulator(small(initial_infectious=0))
    assert quiet.done(quiet.reset(seed=0))


def test_reward_threshold_and_death_terms():
    reward = Ohi2020Reward().validate()
    level_economy = (1.0, 0.75, 0.25)  # E_t at levels 0, 1, 2 [paper Fig. 4]
    assert math.exp(-8 * 0.82) == pytest.approx(0.0014, abs=1e-4)
    for active_percent in (0.83, 1.0, 2.0, 5.0):  # beyond the threshold the economy no longer matters
        values = [reward(e, active_percent / 100, 0.0, 0.0) for e in level_economy]
        assert max(values) - min(values) < 0.001
    values = [reward(e, 0.001, 0.0, 0.0) for e in level_economy]  # 0.1 % active: the economy dominates
    assert values[0] - values[2] > 0.3
    assert reward(1.0, 0.0, 0.1, 0.01) == pytest.approx(1.0 - 5 * 0.1)
    assert Ohi2020Reward(death_term="daily")(1.0, 0.0, 0.1, 0.01) == pytest.approx(1.0 - 5 * 0.01)
    with pytest.raises(EpictlError):
        Ohi2020Reward(death_term="weekly").validate()


def test_ode_conserves_population_and_matches_scipy():
    ode = SeirdOde()
    curves = ode.solve(days=300)
    total = sum(curves[name] for name in "SEIRD")
    np.testing.assert_allclose(total, 10_000, rtol=1e-9)
    assert curves["S"][0] == 9930 and curves["I"][0] == 70
    assert np.all(np.diff(curves["S"]) <= 0) and np.all(np.diff(curves["D"]) >= 0)
    integrate = pytest.importorskip("scipy.integrate")
    days = np.arange(301)
    exact = integrate.solve_ivp(lambda t, y: ode.derivative(y), (0, 300), [9930, 0, 70, 0, 0], t_eval=days,
                                rtol=1e-9, atol=1e-6)
    for k, name in enumerate("SEIRD"):
        np.testing.assert_allclose(curves[name], exact.y[k], atol=0.05)


def test_reference_simulates_the_same_model():
    """The bench's pure-Python baseline: same mean spread and economy as the kernel (independent code)."""
    params = GridParams(population=400, density=0.05, initial_infectious=10)
    kernel, reference = [], []
    for seed in range(20):
        sim = GridSimulator(params)
        state = sim.reset(seed)
        for _ in range(8):
            stats = advance(sim, state, 0)
        kernel.append((400 - stats.susceptible, stats.economy))
        world = ReferenceGrid(params, seed)
        for _ in range(8):
            day = world.step_day(0)
        reference.append((400 - day["S"], day["economy"]))
    kernel, reference = np.array(kernel), np.array(reference)
    standard_error = np.sqrt((kernel.var(axis=0) + reference.var(axis=0)) / 20)
    assert np.all(np.abs(kernel.mean(axis=0) - reference.mean(axis=0)) < 4 * standard_error + 1e-3)


def test_xoshiro_matches_its_reference_and_draws_uniform_offsets():
    state = np.array([1, 2, 3, 4], dtype=np.uint64)  # outputs of the authors' C code from this state
    assert [int(next_u64(state)) for _ in range(4)] == [11520, 0, 1509978240, 1215971899390074240]
    offsets = np.empty(90_001, dtype=np.int64)
    fill_below(offsets, len(offsets), 9, state)
    counts = np.bincount(offsets, minlength=9)
    assert counts.sum() == 90_001 and np.all(np.abs(counts - 10_000) < 500)  # 5 standard deviations
