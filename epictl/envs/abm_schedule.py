"""The layout of the ABM env's action (spec §9), read by its env, its family declaration and the report: a start
and a duration in days for each intervention, in this order. No kernels here, so config validation stays light."""

from __future__ import annotations

from epictl.sim.abm.params import AGE_GROUPS

INTERVENTIONS = ("lockdown", *(f"vaccination_{group}" for group in AGE_GROUPS))
MAX_REPEATS = 1000  # repeat r of episode seed s simulates seed s x MAX_REPEATS + r (envs/abm.py)
