"""A plain NumPy version of the metapopulation model, written the way the original authors' code was.

Per-region Python loops, one ``rng.binomial`` / ``rng.multinomial`` call per region and compartment,
and mobility drawn from the dense ``[M, M+1]`` slot matrix (KDD'21 spec §2-§4, §6). It shares no
code with the Numba kernels, so it serves as an independent test oracle and as the speed baseline
of ``epictl bench``. Mobility is always the exact multinomial (no ``fast`` mode).
"""

from __future__ import annotations

import numpy as np

from epictl.errors import EpictlError
from epictl.sim.metapop.city import City
from epictl.sim.metapop.compartments import (
    IH,
    IT,
    MOVING,
    MOVING_WITH_IT,
    N_COMPARTMENTS,
    SLOTS_PER_WEEK,
    TICKS_PER_DAY,
)
from epictl.sim.metapop.params import DiseaseParams, SimOptions
from epictl.sim.metapop.simulator import DayPlan, State
from epictl.sim.random_streams import random_streams


class ReferenceSimulator:
    """Same API and tick order as :class:`MetapopSimulator`: transitions, beds, mobility."""

    def __init__(self, city: City, params: DiseaseParams, options: SimOptions):
        self.city = city
        self.params = params.validate()
        self.options = options.validate()
        self.moving = MOVING_WITH_IT if options.it_moves else MOVING
        q = self.params  # per-tick probabilities, spec §2 (restated here, not taken from the kernels)
        self.beta = (1.0 + q.beta_day) ** (1.0 / TICKS_PER_DAY) - 1.0
        self.p_e = with_rest((1.0 - q.Pa) / q.eps_ticks, q.Pa / q.eps_ticks)  # E -> Iu, E -> Ia, stay
        self.p_i = with_rest(q.d / q.t_ticks, ((1.0 - q.d) / (q.t_days - q.d)) / TICKS_PER_DAY)  # Iu, It -> D, R
        self.p_h = with_rest(q.d_h / q.th_ticks, ((1.0 - q.d_h) / (q.th_days - q.d_h)) / TICKS_PER_DAY)  # Ih -> D, R
        self.p_test, self.p_ar = 1.0 / q.theta_ticks, 1.0 / q.t_ticks  # Iu -> It, Ia -> R
        self._dense: dict[int, np.ndarray] = {}  # unique matrix index -> [M, M+1]

    def reset(self, seed: int, initial: np.ndarray) -> State:
        counts = np.array(initial, dtype=np.int64)
        if counts.shape != (self.city.n_regions, N_COMPARTMENTS) or np.any(counts < 0):
            raise EpictlError(f"start state must be non-negative [{self.city.n_regions}][8]")
        transitions, mobility, allocation, _ = random_streams(seed)
        return State(counts, 0, transitions, mobility, allocation, np.zeros(len(counts), np.int64))

    def step(self, state: State, plan: DayPlan) -> None:
        """Simulate 48 ticks in place; ``state.saturated_ticks``: those that ended with beds saturated."""
        saturated = 0
        for _ in range(TICKS_PER_DAY):
            self.transitions(state.counts, state.ever_tested, plan.masks, state.rng_transitions)
            saturated += self.admit_to_beds(state.counts, plan, state.rng_allocation)
            state.counts[:] = self.move(state.counts, self.slot_matrix(state.tick), state.rng_mobility)
            state.tick += 1
        state.saturated_ticks = saturated

    # -- spec §2-§3.2: sequential draws per region, each on the counts left by the previous one ---
    def transitions(self, counts: np.ndarray, ever_tested: np.ndarray, masks: np.ndarray,
                    rng: np.random.Generator) -> None:
        q = self.params
        for j in range(len(counts)):
            s, e, iu, it, ia, ih, r, d = counts[j].tolist()
            present = s + e + iu + it + ia + ih + r
            if present == 0:
                continue
            base = present if self.options.mask_coverage_base == "present" else self.city.population[j]
            coverage = min(max(masks[j] / base, 0.0), 1.0) if base > 0 else 0.0
            lam = self.beta * (1.0 - q.gamma_mask * coverage) * (iu + it + q.r_a * ia + q.r_E * e) / present
            exposed = rng.binomial(s, lam)
            s, e = s - exposed, e + exposed
            to_iu, to_ia, _ = rng.multinomial(e, self.p_e)
            e, iu, ia = e - to_iu - to_ia, iu + to_iu, ia + to_ia
            tested = rng.binomial(iu, self.p_test)
            iu, it = iu - tested, it + tested
            ever_tested[j] += tested
            iu_died, iu_recovered, _ = rng.multinomial(iu, self.p_i)
            it_died, it_recovered, _ = rng.multinomial(it, self.p_i)  # includes this tick's tested (spec §15.21)
            ia_recovered = rng.binomial(ia, self.p_ar)
            ih_died, ih_recovered, _ = rng.multinomial(ih, self.p_h)
            counts[j] = (
                s, e, iu - iu_died - iu_recovered, it - it_died - it_recovered, ia - ia_recovered,
                ih - ih_died - ih_recovered, r + iu_recovered + it_recovered + ia_recovered + ih_recovered,
                d + iu_died + it_died + ih_died,
            )

    # -- spec §3.3 and §6: beds -------------------------------------------------------------------
    def admit_to_beds(self, counts: np.ndarray, plan: DayPlan, rng: np.random.Generator) -> bool:
        """Admit waiting It; True if patients still wait and no bed is free."""
        if plan.bed_rule not in ("ranked", "proportional"):
            raise EpictlError(f"bed rule {plan.bed_rule!r}; choose ranked or proportional")
        free = int(plan.n_beds) - int(counts[:, IH].sum())
        if free > 0 and plan.bed_rule == "ranked":
            for i in plan.bed_order:
                if free == 0:
                    break
                admit = min(self.rounded(plan.bed_factor * counts[i, IT], rng), counts[i, IT], free)
                counts[i, IT] -= admit
                counts[i, IH] += admit
                free -= admit
        elif free > 0:
            wants = np.array([min(self.rounded(plan.bed_factor * n, rng), n) for n in counts[:, IT]], dtype=np.int64)
            if wants.sum() > free:  # share the free beds in proportion to the wants
                wants = systematic_round(free * wants / wants.sum(), free, rng)
            counts[:, IT] -= wants
            counts[:, IH] += wants
            free -= int(wants.sum())
        return free <= 0 and counts[:, IT].sum() > 0

    def rounded(self, x: float, rng: np.random.Generator) -> int:
        whole = int(np.floor(x))
        if x == whole or self.options.bed_rounding == "floor":
            return whole
        if self.options.bed_rounding == "ceil":
            return whole + 1
        return whole + int(rng.random() < x - whole)

    # -- spec §3.4 and §4: mobility ---------------------------------------------------------------
    def slot_matrix(self, tick: int) -> np.ndarray:
        """The dense [M, M+1] matrix of this tick's slot, built once per unique matrix."""
        day_tick = tick % TICKS_PER_DAY if self.options.mobility_slots == "first_day_only" else tick
        slot = (self.options.start_weekday * TICKS_PER_DAY + day_tick) % SLOTS_PER_WEEK
        u = int(self.city.mobility.slot_matrix[slot])
        if u not in self._dense:
            self._dense[u] = self.city.mobility.dense(slot)
        return self._dense[u]

    def move(self, counts: np.ndarray, matrix: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        m = len(counts)
        moved = counts.copy()
        moved[:, list(self.moving)] = 0
        for k in range(m):
            for col in self.moving:
                if counts[k, col] == 0:
                    continue
                split = rng.multinomial(counts[k, col], matrix[k])
                moved[:, col] += split[:m]
                moved[k, col] += split[m]  # the stay column keeps people in k
        return moved


def with_rest(p0: float, p1: float) -> np.ndarray:
    """Multinomial probabilities [p0, p1, rest]."""
    return np.array([p0, p1, 1.0 - p0 - p1])


def systematic_round(values: np.ndarray, total: int, rng: np.random.Generator) -> np.ndarray:
    """Integers summing to ``total``, each the floor or ceil of ``values[i]`` (one shared uniform)."""
    edges = np.minimum(np.floor(np.cumsum(values) + rng.random()).astype(np.int64), total)
    out = np.diff(edges, prepend=0)
    out[-1] += total - edges[-1]
    return out
