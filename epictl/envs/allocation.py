"""Decoding a (ranking principle, satisfaction factor) action into allocations (KDD'21 §3.3.1)."""

from __future__ import annotations

import numpy as np

# Weights (infections, flow, density) of the paper's 7 ranking principles, indexed by action.
PRINCIPLE_WEIGHTS = np.array(
    [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1]], dtype=np.float64
)
N_PRINCIPLES = len(PRINCIPLE_WEIGHTS)
# How an action is decoded into the day's resources (env.allocation): ranked [paper], proportional (masks
# shared by It), none (the blank control: no beds, no masks, whatever the agent chose).
ALLOCATIONS = ("ranked", "proportional", "none")


def rank_regions(principle: int, seriousness: np.ndarray, flow: np.ndarray, density: np.ndarray) -> np.ndarray:
    """Regions by descending score, ties by ascending index (spec §5).

    The infection term is seriousness / mean(seriousness), 0 everywhere when no region has cases
    (the original divided 0 by 0 and sorted NaN, spec §15.3).
    """
    mean = float(np.mean(seriousness))
    infection = seriousness / mean if mean > 0 else np.zeros(len(seriousness))
    w_inf, w_flow, w_dense = PRINCIPLE_WEIGHTS[principle]
    score = w_inf * infection + w_flow * flow + w_dense * density
    return np.argsort(-score, kind="stable").astype(np.int64)


def allocate_masks_ranked(order: np.ndarray, factor: float, population: np.ndarray, budget: int) -> np.ndarray:
    """Walk the rank; region i gets min(left, floor(factor * pop_i)) until masks run out."""
    demand = np.floor(factor * population[order]).astype(np.int64)
    given_before = np.concatenate([[0], np.cumsum(demand)[:-1]])
    granted = np.clip(budget - given_before, 0, demand)
    masks = np.zeros(len(population), dtype=np.int64)
    masks[order] = granted
    return masks


def allocate_masks_proportional(weights: np.ndarray, factor: float, population: np.ndarray, budget: int) -> np.ndarray:
    """Share the budget in proportion to ``weights`` (population if all are 0), capped at factor * pop.

    Water-filling: capped regions keep their cap and the rest is shared again among the others.
    """
    caps = np.floor(factor * population).astype(np.int64)
    weights = np.asarray(weights, dtype=np.float64)
    if weights.sum() <= 0:
        weights = population.astype(np.float64)
    masks = np.zeros(len(population), dtype=np.int64)
    open_ = (caps > 0) & (weights > 0)
    left = min(int(budget), int(caps.sum()))
    while left > 0 and open_.any():
        share = np.zeros(len(population))
        share[open_] = left * weights[open_] / weights[open_].sum()
        grant = np.minimum(np.floor(share).astype(np.int64), caps - masks)
        if grant.sum() == 0:  # only remainders left: one mask each to the heaviest open regions
            heaviest = np.argsort(-np.where(open_, weights, -1.0), kind="stable")[:left]
            grant[heaviest[open_[heaviest]]] = 1
        masks += grant
        left -= int(grant.sum())
        open_ &= masks < caps
    return masks
