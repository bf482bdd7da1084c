"""Synthetic cities from district census figures: regions, populations, densities and mobility.

No region-level origin-destination data is public (reference data/SOURCES.md), so mobility comes
from a gravity model over the k nearest region centres with a 48-slot daily cycle (weekday commute,
weekend leisure). Flows are built as expected head COUNTS per half hour: a symmetric exchange part,
which never changes a region's population, plus on weekdays a directed home-to-work part in the
morning whose exact transpose brings everyone back in the evening. Probabilities are the counts
divided by the expected population present, so one expected day ends at the census populations.
Everything is deterministic given ``spec.seed``.
"""

import math
from dataclasses import dataclass, field, fields
from typing import List

import numpy as np

from epictl.errors import EpictlError
from epictl.sim.metapop.city import City, Mobility, normalise_to_mean_one, validate_mobility
from epictl.sim.metapop.compartments import SLOTS_PER_WEEK, TICKS_PER_DAY

WEEKDAYS = 5  # Monday..Friday; slot 0 is Monday 00:00-00:30
N_MATRICES = 2 * TICKS_PER_DAY  # matrices 0..47 for a weekday, 48..95 for a weekend day
EARTH_RADIUS_KM = 6371.0
MIDDAY_SPREAD_HOURS = 1.5  # width of the weekday lunchtime bump
WEEKEND_SPREAD_HOURS = 3.0  # weekend activity is spread over the afternoon
MAX_SCALING_ROUNDS = 60
KNN_CHUNK_ROWS = 512


@dataclass
class District:
    """One census district: the unit the published statistics describe."""

    name: str
    population: int  # census population (people)
    area_km2: float  # land area
    lon: float  # centre longitude (degrees)
    lat: float  # centre latitude (degrees)


def _tiny_districts() -> List[District]:
    return [
        District(name="Northtown", population=12_000, area_km2=6.0, lon=100.00, lat=30.03),
        District(name="Southvale", population=8_000, area_km2=10.0, lon=100.01, lat=30.00),
    ]


@dataclass
class SyntheticCitySpec:
    """Every knob of a synthetic city; the defaults build ``tiny``, a made-up 12-region test city."""

    name: str = "tiny"
    """City name (also used in the cache file name)."""
    n_regions: int = 12
    """Number of regions M, allotted to districts in proportion to population (each gets >= 1)."""
    seed: int = 0
    """Seed of the layout draws (region centres, population and area splits)."""
    districts: List[District] = field(default_factory=_tiny_districts)
    """Census districts the regions are carved from."""
    k_neighbors: int = 24
    """Each region exchanges people with its k nearest regions (the relation is symmetrised)."""
    gravity_scale_km: float = 5.0
    """Distance decay of the gravity weights pop_i * pop_j * exp(-d_ij / scale)."""
    region_pop_sigma: float = 0.5
    """Lognormal sigma of the weights that split a district's population among its regions."""
    region_area_sigma: float = 0.5
    """Lognormal sigma of the (independent) weights that split a district's area among its regions."""
    night_move_share: float = 0.003
    """Mean share of people changing region per half hour at night (symmetric exchange)."""
    weekday_peak_move_share: float = 0.03
    """Mean symmetric-exchange share per half hour at the weekday morning and evening peaks."""
    weekday_midday_move_share: float = 0.015
    """Mean symmetric-exchange share per half hour at weekday lunchtime."""
    weekend_peak_move_share: float = 0.015
    """Mean symmetric-exchange share per half hour at the weekend afternoon peak."""
    weekend_peak_hour: float = 15.0
    """Hour of the weekend activity peak."""
    commute_share: float = 0.2
    """Share of a region's residents who commute on weekdays toward more attractive neighbours."""
    job_centre_scale_km: float = 10.0
    """Job attraction of a region is exp(-distance to the population-weighted centre / scale)."""
    morning_commute_hour: float = 8.0
    """Hour of the weekday morning peak (commute out and symmetric exchange)."""
    evening_commute_hour: float = 18.0
    """Hour of the weekday evening peak (commuters return)."""
    commute_spread_hours: float = 1.0
    """Standard deviation, in hours, of the commute and rush-hour peaks (at least 0.25)."""
    max_leave_share: float = 0.2
    """No region ever sends more than this share of the people present out in one half hour."""


def build_synthetic(spec: SyntheticCitySpec) -> City:
    """Build the city described by ``spec`` (deterministic from ``spec.seed``)."""
    check_spec(spec)
    regions_per_district, centres, rng = _layout(spec)
    district = np.repeat(np.arange(len(spec.districts)), regions_per_district).astype(np.int64)
    population = np.concatenate([
        split_largest_remainder(d.population, rng.lognormal(0.0, spec.region_pop_sigma, n))
        for d, n in zip(spec.districts, regions_per_district)
    ])
    area = np.concatenate([
        d.area_km2 * _normalised(rng.lognormal(0.0, spec.region_area_sigma, n))
        for d, n in zip(spec.districts, regions_per_district)
    ])
    mobility = _build_mobility(spec, centres, population)
    validate_mobility(mobility, f"synthetic city {spec.name}")
    city = City(
        name=spec.name,
        population=population,
        flow=normalise_to_mean_one(mobility.expected_exchange(population.astype(np.float64))),
        density=normalise_to_mean_one(population / area),
        mobility=mobility,
        district=district,
        district_names=tuple(d.name for d in spec.districts),
    )
    return city.validate(f"synthetic city {spec.name}")


def region_centres(spec: SyntheticCitySpec) -> np.ndarray:
    """Region centres [M, 2], km east and north of the districts' mean centre, as ``build_synthetic`` places them
    (the same first draws from ``spec.seed``), without building the mobility: for maps of a built city."""
    check_spec(spec)
    return _layout(spec)[1]


def _layout(spec: SyntheticCitySpec) -> tuple[np.ndarray, np.ndarray, np.random.Generator]:
    """Regions per district and their centres: the first draws of ``spec.seed``'s generator, returned for the rest."""
    rng = np.random.default_rng(spec.seed)
    district_pops = np.array([d.population for d in spec.districts], dtype=np.int64)
    regions_per_district = _allot_regions(spec.n_regions, district_pops)
    return regions_per_district, _region_centres(spec.districts, regions_per_district, rng), rng


def split_largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to ``weights`` that sum exactly to ``total`` (Hamilton's method)."""
    quotas = total * _normalised(np.asarray(weights, dtype=np.float64))
    counts = np.floor(quotas).astype(np.int64)
    short = int(total - counts.sum())
    order = np.argsort(-(quotas - counts), kind="stable")
    if short >= 0:
        counts[order[:short]] += 1
    else:  # float rounding pushed the floors past the total: the smallest remainders give back
        counts[order[::-1][:-short]] -= 1
    return counts


def _allot_regions(n_regions: int, district_pops: np.ndarray) -> np.ndarray:
    counts = split_largest_remainder(n_regions, district_pops)
    while np.any(counts == 0):  # every district needs at least one region
        counts[np.argmax(counts)] -= 1
        counts[np.argmin(counts)] += 1
    return counts


def _region_centres(districts: List[District], regions_per_district: np.ndarray, rng) -> np.ndarray:
    """Uniform points in a disc of each district's area around its centre, in km (equirectangular)."""
    lon0 = np.mean([d.lon for d in districts])
    lat0 = np.mean([d.lat for d in districts])
    km_per_degree = EARTH_RADIUS_KM * np.pi / 180.0
    parts = []
    for d, n in zip(districts, regions_per_district):
        centre = np.array([(d.lon - lon0) * km_per_degree * np.cos(np.radians(lat0)), (d.lat - lat0) * km_per_degree])
        radius = np.sqrt(d.area_km2 / np.pi) * np.sqrt(rng.random(n))
        angle = rng.uniform(0.0, 2.0 * np.pi, n)
        parts.append(centre + np.column_stack([radius * np.cos(angle), radius * np.sin(angle)]))
    return np.concatenate(parts)


def _neighbour_pairs(centres: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Ordered pairs (src, dst) of the symmetrised k-NN graph: the first half i<j, then reversed."""
    m = len(centres)
    k = min(k, m - 1)
    if k == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    neighbours = np.empty((m, k), dtype=np.int64)
    for lo in range(0, m, KNN_CHUNK_ROWS):  # chunks bound the distance block's memory
        rows = np.arange(lo, min(lo + KNN_CHUNK_ROWS, m))
        distance = np.linalg.norm(centres[rows, None, :] - centres[None, :, :], axis=2)
        distance[np.arange(len(rows)), rows] = np.inf
        neighbours[rows] = np.argpartition(distance, k - 1, axis=1)[:, :k]
    i = np.repeat(np.arange(m), k)
    j = neighbours.reshape(-1)
    codes = np.unique(np.minimum(i, j) * m + np.maximum(i, j))
    low, high = codes // m, codes % m
    return np.concatenate([low, high]), np.concatenate([high, low])


def _hour_profiles(spec: SyntheticCitySpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per matrix (96): symmetric move share, morning commute weights, evening commute weights."""
    hour = (np.arange(TICKS_PER_DAY) + 0.5) / 2.0
    night = spec.night_move_share

    def bump(centre: float, spread: float) -> np.ndarray:
        return np.exp(-0.5 * ((hour - centre) / spread) ** 2)

    rush, morning, evening = spec.commute_spread_hours, spec.morning_commute_hour, spec.evening_commute_hour
    weekday = (
        night
        + (spec.weekday_peak_move_share - night) * (bump(morning, rush) + bump(evening, rush))
        + (spec.weekday_midday_move_share - night) * bump((morning + evening) / 2, MIDDAY_SPREAD_HOURS)
    )
    weekend = night + (spec.weekend_peak_move_share - night) * bump(spec.weekend_peak_hour, WEEKEND_SPREAD_HOURS)

    def commute_weights(centre: float) -> np.ndarray:
        weights = bump(centre, rush)
        weights[weights < 1e-4 * weights.max()] = 0.0  # no stray commuters in the middle of the night
        return np.concatenate([_normalised(weights), np.zeros(TICKS_PER_DAY)])

    symmetric = np.clip(np.concatenate([weekday, weekend]), 0.0, None)
    return symmetric, commute_weights(morning), commute_weights(evening)


def _build_mobility(spec: SyntheticCitySpec, centres: np.ndarray, population: np.ndarray) -> Mobility:
    m = len(population)
    pop = population.astype(np.float64)
    src, dst = _neighbour_pairs(centres, spec.k_neighbors)
    reverse = (np.arange(len(src)) + len(src) // 2) % max(len(src), 1)
    distance = np.linalg.norm(centres[src] - centres[dst], axis=1)
    gravity = pop[src] * pop[dst] * np.exp(-distance / spec.gravity_scale_km)

    # Home -> work: residents commute toward neighbours with higher job attraction.
    hub = np.average(centres, axis=0, weights=pop) if pop.sum() > 0 else centres.mean(axis=0)
    attraction = np.exp(-np.linalg.norm(centres - hub, axis=1) / spec.job_centre_scale_km)
    pull = gravity * np.clip(attraction[dst] - attraction[src], 0.0, None)
    pull_total = np.bincount(src, pull, minlength=m)
    commuters = np.divide(spec.commute_share * pop[src] * pull, pull_total[src], out=np.zeros_like(pull), where=pull > 0)

    symmetric, morning, evening = _hour_profiles(spec)
    per_gravity = pop.sum() / gravity.sum() if gravity.sum() > 0 else 0.0
    counts = (
        (symmetric * per_gravity)[:, None] * gravity[None, :]
        + morning[:, None] * commuters[None, :]
        + evening[:, None] * commuters[reverse][None, :]  # the exact transpose: the day nets to zero
    )
    counts, present = _scale_to_leave_cap(counts, src, dst, pop, spec.max_leave_share)

    prob = np.divide(counts, present[:, src], out=np.zeros_like(counts), where=counts > 0)
    rows = (np.arange(N_MATRICES)[:, None] * m + src[None, :]).reshape(-1)
    prob = prob.reshape(-1)
    keep = prob > 0
    rows, prob, dest = rows[keep], prob[keep], np.tile(dst, N_MATRICES)[keep]
    order = np.lexsort((-prob, rows))  # by row, then descending probability: samplers stop early
    rows, prob, dest = rows[order], prob[order], dest[order]
    leaving = np.bincount(rows, prob, minlength=N_MATRICES * m)
    day, slot = np.divmod(np.arange(SLOTS_PER_WEEK), TICKS_PER_DAY)
    return Mobility(
        slot_matrix=np.where(day < WEEKDAYS, slot, TICKS_PER_DAY + slot).astype(np.int64),
        stay=(1.0 - leaving).reshape(N_MATRICES, m),
        indptr=np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=N_MATRICES * m))]).astype(np.int64),
        dest=dest.astype(np.int64),
        prob=prob,
    )


def _expected_present(counts: np.ndarray, src: np.ndarray, dst: np.ndarray, pop: np.ndarray) -> np.ndarray:
    """Expected people in each region at the start of each slot; every day starts at the census."""
    m = len(pop)
    present = np.empty((N_MATRICES, m))
    for first in (0, TICKS_PER_DAY):
        current = pop.copy()
        for u in range(first, first + TICKS_PER_DAY):
            present[u] = current
            current = current - np.bincount(src, counts[u], minlength=m) + np.bincount(dst, counts[u], minlength=m)
    return present


def _scale_to_leave_cap(counts, src, dst, pop, cap) -> tuple[np.ndarray, np.ndarray]:
    """Shrink all flows until no region sends more than ``cap`` of the people present per slot.

    Shrinking also keeps commuters closer to home, so the present populations are recomputed.
    """
    m = len(pop)
    for _ in range(MAX_SCALING_ROUNDS):
        present = _expected_present(counts, src, dst, pop)
        leaving = np.stack([np.bincount(src, row, minlength=m) for row in counts])
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(present > 0, leaving / present, np.where(leaving > 0, np.inf, 0.0))
        worst = float(share.max()) if share.size else 0.0
        if worst <= cap:
            return counts, present
        counts = counts * (0.99 * cap / worst if np.isfinite(worst) else 0.5)
    raise EpictlError(f"synthetic city: could not keep every region's leaving share below max_leave_share={cap}")


def _normalised(weights: np.ndarray) -> np.ndarray:
    return weights / weights.sum()


def check_spec(spec: SyntheticCitySpec) -> None:
    """Every knob in range (finite, so NaN fails too), each error naming its key."""
    key = "env.city.synthetic"
    for item in fields(spec):
        value = getattr(spec, item.name)
        if isinstance(value, float) and not math.isfinite(value):
            raise EpictlError(f"{key}.{item.name}={value} must be a finite number")
    if not spec.districts:
        raise EpictlError(f"{key}.districts: needs at least one district")
    if spec.n_regions < len(spec.districts):
        raise EpictlError(f"{key}.n_regions={spec.n_regions} is fewer than the {len(spec.districts)} districts")
    for d in spec.districts:
        if not (d.population >= 0 and 0 < d.area_km2 < math.inf and math.isfinite(d.lon) and math.isfinite(d.lat)):
            raise EpictlError(f"{key}.districts: district {d.name} needs population >= 0, a finite area_km2 > 0 "
                              "and finite lon, lat")
    if sum(d.population for d in spec.districts) == 0:
        raise EpictlError(f"{key}.districts: the districts have no people")
    for name in ("k_neighbors", "gravity_scale_km", "job_centre_scale_km"):
        if not getattr(spec, name) > 0:
            raise EpictlError(f"{key}.{name}={getattr(spec, name)} must be > 0")
    for name in ("night_move_share", "weekday_peak_move_share", "weekday_midday_move_share",
                 "weekend_peak_move_share", "commute_share"):
        if not 0 <= getattr(spec, name) <= 1:
            raise EpictlError(f"{key}.{name}={getattr(spec, name)} must lie in [0, 1]")
    if not 0 < spec.max_leave_share < 1:
        raise EpictlError(f"{key}.max_leave_share={spec.max_leave_share} must lie in (0, 1)")
    if not 0 <= spec.morning_commute_hour < spec.evening_commute_hour < 24:
        raise EpictlError(f"{key}: need 0 <= morning_commute_hour < evening_commute_hour < 24")
    for name, low in (("commute_spread_hours", 0.25), ("region_pop_sigma", 0.0), ("region_area_sigma", 0.0)):
        if not getattr(spec, name) >= low:
            raise EpictlError(f"{key}.{name}={getattr(spec, name)} must be >= {low}")
    if not 0 <= spec.weekend_peak_hour < 24:
        raise EpictlError(f"{key}.weekend_peak_hour={spec.weekend_peak_hour} must lie in [0, 24)")