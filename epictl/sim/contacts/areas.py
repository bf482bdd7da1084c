"""The city's areas: the challenge's 11-area sample map (spec §1) or a generated one of any other size.

A generated map keeps the sample's category shares 5:4:2 (residential, working, commercial) rounded, with at least
one area of each, ids grouped by category in that order like the sample, and coordinates uniform in the sample's
bounding box, drawn from ``map_seed`` [epictl; the challenge's 50-area map is not published, spec §10].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from epictl.sim.contacts.params import COMMERCIAL, RESIDENTIAL, WORKING
from epictl.sim.random_streams import keyed_stream

SAMPLE_AREAS = 11  # [doc, bin]
# (category, lng, lat) of areas 0..10 [doc sample map]
SAMPLE_MAP = (
    (RESIDENTIAL, 114.1476, 30.6844), (RESIDENTIAL, 114.1671, 30.6844), (RESIDENTIAL, 114.1866, 30.6844),
    (RESIDENTIAL, 114.2061, 30.6844), (RESIDENTIAL, 114.2256, 30.6844),
    (WORKING, 114.1086, 30.4982), (WORKING, 114.1086, 30.5913), (WORKING, 114.2256, 30.4982),
    (WORKING, 114.2256, 30.5913),
    (COMMERCIAL, 114.1671, 30.4982), (COMMERCIAL, 114.1671, 30.5913),
)
MAP_STREAM = 11  # keyed_stream(map_seed, MAP_STREAM) draws a generated map's coordinates [epictl]


@dataclass(frozen=True)
class CityMap:
    category: np.ndarray  # int8 [A] RESIDENTIAL, WORKING or COMMERCIAL
    xy: np.ndarray  # float64 [A, 2] lng, lat
    nearest_commercial: np.ndarray  # int32 [A] nearest commercial area of each working area, -1 for the others

    def areas_of(self, category: int) -> np.ndarray:
        """Ids of the areas of ``category``, ascending (int32)."""
        return np.flatnonzero(self.category == category).astype(np.int32)


def city_map(n_areas: int, map_seed: int) -> CityMap:
    """The sample map for 11 areas, else a generated one (``n_areas`` >= 3)."""
    if n_areas == SAMPLE_AREAS:
        category = np.array([area[0] for area in SAMPLE_MAP], dtype=np.int8)
        xy = np.array([area[1:] for area in SAMPLE_MAP], dtype=np.float64)
    else:
        category = np.repeat(np.arange(3, dtype=np.int8), category_counts(n_areas))
        sample = np.array([area[1:] for area in SAMPLE_MAP])
        xy = keyed_stream(map_seed, MAP_STREAM).uniform(sample.min(axis=0), sample.max(axis=0), (n_areas, 2))
    return CityMap(category, xy, nearest_commercial(category, xy))


def category_counts(n_areas: int) -> tuple[int, int, int]:
    """Residential, working and commercial areas in the sample's shares 5:4:2 of 11, each at least 1.

    Rounding 5n/11 and 4n/11 never meets a half, and leaves at least one commercial area for every n >= 3."""
    residential = max(1, round(5 * n_areas / SAMPLE_AREAS))
    working = max(1, round(4 * n_areas / SAMPLE_AREAS))
    return residential, working, n_areas - residential - working


def nearest_commercial(category: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """K_com = 1: the Euclidean-nearest commercial area of each working area on (lng, lat) [doc]; ties: lowest id."""
    commercial = np.flatnonzero(category == COMMERCIAL)
    distance = np.linalg.norm(xy[:, None, :] - xy[None, commercial, :], axis=2)
    nearest = commercial[np.argmin(distance, axis=1)].astype(np.int32)
    return np.where(category == WORKING, nearest, -1).astype(np.int32)
