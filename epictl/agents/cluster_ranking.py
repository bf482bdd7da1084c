"""Global Q-ranking (spec §7.4, Algorithm 1) and what the global controllers share around it: the daily
test demand of the local policy, Bin-M-QR's bisection on the cost multiplier (spec §9), the global
observation of the PPO controller (spec §5.2) and the ranked action with threshold quarantine (spec §6).

Plain numpy; the local policy (epictl/agents/cluster_dqn.py, torch) is only called through its methods.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from epictl.agents.cluster_features import TODAY, threshold_quarantine
from epictl.errors import EpictlError

CLUSTER_FEATURES = 11  # per cluster (spec §5.2 [P]); the env's "clusters"
# day/H, #active/#C, B/sum N_active (the env's "globals"), demand(m=1)/B and m_{t-1} (spec §5.2 [R])
GLOBAL_SCALARS = 5


def frozen_local_policy(dqn_from: str | None, device):
    """The local policy of a `cluster_dqn` training run, used as is (never trained here)."""
    if not dqn_from:
        raise EpictlError("agent.dqn_from=<run folder of `epictl train agent=cluster_dqn`> is needed")
    from epictl.agents.cluster_dqn import load_local_policy  # torch: only when an agent is built

    return load_local_policy(dqn_from, device)


def policy_fingerprint(policy) -> str:
    """A short hash of a local policy's weights (encoder and Q network): a controller trained over one DQN is
    refused over another."""
    import hashlib

    digest = hashlib.sha1()
    for module in (policy.encoder, policy.qnet):
        for name, tensor in module.state_dict().items():
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def rank_tests(delta_q: np.ndarray, budget: int, rng: np.random.Generator,
               priority: np.ndarray | None = None) -> np.ndarray:
    """Algorithm 1 [P header, S body]: pool every (cluster, person) with dQ > 0, sort by dQ descending and
    test the first min(B, |candidates|); B == 0 means no cap. Ties go to the higher ``priority`` [K] (e.g. the
    cluster's local day) when given, then at random. -inf (non-members, inactive clusters) and NaN never test."""
    tests = np.zeros(delta_q.shape, np.int8)
    cluster, person = np.nonzero(delta_q > 0)
    if 0 < budget < len(cluster):
        dq = delta_q[cluster, person]
        keys = [rng.random(len(cluster))] + ([] if priority is None else [-priority[cluster]]) + [-dq]
        chosen = np.lexsort(keys)[:budget]  # the last key sorts first
        cluster, person = cluster[chosen], person[chosen]
    tests[cluster, person] = 1
    return tests


def demand(delta_q: np.ndarray) -> int:
    """Tests the local policy wants: #{dQ > 0} over every active cluster (spec §9)."""
    return int(np.count_nonzero(delta_q > 0))


def bisect_multiplier(demand_at: Callable[[float], int], budget: int, m_max: float, probes: int) -> float:
    """Bin-M-QR's multiplier (spec §9 [R]): 1 when the demand at the true cost fits B (or B == 0: no cap);
    else ``probes`` bisection steps on [1, m_max] (demand(mid) > B -> lo = mid, else hi = mid), returning hi,
    the smallest probed m whose demand fits (m_max when none did; the ranking then caps the tests at B)."""
    if budget <= 0 or demand_at(1.0) <= budget:
        return 1.0
    lo, hi = 1.0, float(m_max)
    for _ in range(probes):
        mid = 0.5 * (lo + hi)
        if demand_at(mid) > budget:
            lo = mid
        else:
            hi = mid
    return hi


def alpha3_active(observation: dict, m: float) -> np.ndarray:
    """The perceived test cost of every slot, m * alpha3_true [P] (inactive slots are ignored by the policy)."""
    capacity = observation["active"].shape[0]
    return np.full(capacity, m * float(observation["alpha3"][0]), np.float32)


def global_observation(observation: dict, demand_at_one: int, previous_m: float, m_max: float) -> dict:
    """The PPO controller's input (spec §5.2): the env's per-cluster table with inactive rows zeroed, the
    active mask, and 5 scalars: the env's 3 globals, demand at m = 1 / B (0 when B == 0: no cap) and
    m_{t-1}, scaled to [0, 1] as (m - 1)/(m_max - 1) like the other inputs."""
    active = observation["active"].astype(bool)
    budget = int(observation["budget"][0])
    previous = (previous_m - 1.0) / (m_max - 1.0) if m_max > 1.0 else 0.0
    scalars = np.concatenate([np.asarray(observation["globals"], np.float32),
                              [demand_at_one / budget if budget > 0 else 0.0, previous]]).astype(np.float32)
    clusters = np.where(active[:, None], observation["clusters"], 0.0).astype(np.float32)
    return {"clusters": clusters, "active": active, "scalars": scalars}


def ranked_action(observation: dict, delta_q: np.ndarray, beliefs: np.ndarray, rng: np.random.Generator,
                  tie_break: str) -> dict:
    """The day's action (spec §7.4): Q-ranked tests under B, quarantine iff b_{i,t} > alpha2/(1+alpha2) (spec §6)."""
    priority = observation["day"].astype(np.float64) if tie_break == "age" else None
    test = rank_tests(delta_q, int(observation["budget"][0]), rng, priority)
    quarantine = threshold_quarantine(beliefs[..., TODAY], observation["members"], observation["alpha2"])
    return {"test": test, "quarantine": quarantine}
