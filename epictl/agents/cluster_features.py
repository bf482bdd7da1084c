"""What the cluster agents read from a multi-cluster observation: the history layout, each member's
26-number token (spec §5.1 [R]), the shared quarantine threshold (spec §6), and the compact int8 form in
which finished clusters are kept for training.

History rows never change once written, so a finished cluster's last history, cut at row t, is its day-t
observation: everything here reads rows <= t only.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch

from epictl.errors import EpictlError

# history features (last axis), as the env writes them
SYM, TESTED, RESULT, CLUSTER_TESTS, CLUSTER_POS, CLUSTER_SYM, SIZE, DAY = range(8)
FEATURES = 8
SIZE_SCALE = 40  # SIZE = N / 40; DAY = s / D (D = 30 days)
FIRST_DECISION_DAY, LAST_DECISION_DAY = 3, 26  # local days a cluster is decided on (spec §2.1)
DECISION_DAYS = LAST_DECISION_DAY - FIRST_DECISION_DAY + 1
BELIEF_OFFSETS = (-2, -1, 0, 1, 2)  # beliefs at row t: P(infectious on t-2 .. t+2)
TODAY = BELIEF_OFFSETS.index(0)
TOKEN_SIZE = 26
ALPHA3_FLOOR = 1e-4  # alpha3 = 0 (free tests, a predecessor value) enters log alpha3 as this


def history_shape(observation_space: gym.Space, agent_name: str) -> tuple[int, int, int]:
    """(K, M, D) of a multi-cluster observation space; a one-line error for any other env's."""
    spaces = observation_space.spaces if isinstance(observation_space, gym.spaces.Dict) else {}
    shape = getattr(spaces.get("history"), "shape", ())
    if len(shape) != 4 or shape[-1] != FEATURES:
        raise EpictlError(f"agent {agent_name}: needs a multi-cluster observation (env=cluster_single or "
                          f"env=clusters), got {type(observation_space).__name__} {shape or ''}".rstrip())
    return tuple(shape[:3])


SLOT_KEYS = ("history", "day", "members")  # what the networks read, one entry per cluster slot


def stack_slots(observations: list[dict]) -> dict:
    """Several observations (env copies) as one for the networks: their cluster slots one after another."""
    return {key: np.concatenate([np.asarray(observation[key]) for observation in observations]) for key in SLOT_KEYS}


def split_slots(values: np.ndarray, observations: list[dict]) -> list[np.ndarray]:
    """Per-slot results on ``stack_slots(observations)`` back as one array per observation."""
    return np.split(values, np.cumsum([len(observation["day"]) for observation in observations])[:-1])


def window_rows(history: torch.Tensor, day: torch.Tensor) -> torch.Tensor:
    """[K, M, 4, F]: each slot's rows t-3 .. t (rows before 0 read as 0)."""
    k, m, _, f = history.shape
    padded = torch.nn.functional.pad(history, (0, 0, 3, 0))  # padded row r + 3 is row r
    index = day[:, None] + torch.arange(4, device=history.device)  # padded rows of t-3 .. t
    return torch.gather(padded, 2, index[:, None, :, None].expand(k, m, 4, f))


def tokens(history, day, members, beliefs, alpha3_active):
    """[K, M, 26] member tokens (spec §5.1 [R]); non-members are all zeros.

    beliefs b_{t-2..t+2} (5); own SYM rows t-2..t (3); own TESTED rows t-2..t, i.e. tests on t-3..t-1 (3);
    own RESULT rows t-2..t (3); cluster tests/N and positives/N rows t-2..t, symptom prevalence rows
    t-3..t-1 (9); N/40, t/30, log alpha3_active (3). Numpy in, numpy out; with torch tensors the token is
    differentiable in alpha3_active (the cost-sensitivity penalty).
    """
    if isinstance(history, np.ndarray):
        return tokens(*(torch.as_tensor(np.asarray(x)) for x in (history, day, members, beliefs,
                                                                  np.asarray(alpha3_active, np.float32)))).numpy()
    k, m = history.shape[:2]
    day = day.to(history.device, torch.long).reshape(k).clamp(0, history.shape[2] - 1)  # inactive slots: any day
    rows = window_rows(history, day)
    recent = rows[:, :, 1:]
    log_alpha3 = torch.log(alpha3_active.to(history).reshape(-1).expand(k).clamp(min=ALPHA3_FLOOR))
    parts = [beliefs.to(history), recent[..., SYM], recent[..., TESTED], recent[..., RESULT],
             recent[..., CLUSTER_TESTS], recent[..., CLUSTER_POS], rows[:, :, :3, CLUSTER_SYM],
             rows[:, :, 3, SIZE:DAY + 1], log_alpha3[:, None, None].expand(k, m, 1)]
    return torch.cat(parts, dim=-1) * members.to(history)[..., None]


def threshold_quarantine(belief_today, members, alpha2) -> np.ndarray:
    """int8 [K, M]: quarantine iff b > alpha2 / (1 + alpha2), the Bayes choice between releasing (expected
    cost b) and quarantining (expected cost (1 - b) alpha2) (spec §6 [S, C])."""
    alpha2 = float(np.asarray(alpha2).reshape(-1)[0])
    return ((np.asarray(belief_today) > alpha2 / (1.0 + alpha2)) & (np.asarray(members) > 0)).astype(np.int8)


def feature_scale(size, days: int) -> np.ndarray:
    """Per feature, what turns the env's value back into a whole count (the cluster columns are / N)."""
    return np.array([1, 1, 1, size, size, size, SIZE_SCALE, days], np.float32)


def history_codes(history: np.ndarray) -> np.ndarray:
    """One cluster's history [M, D, F] as int8 counts, a quarter of float32 (replay holds thousands)."""
    scale = feature_scale(max(round(float(history[..., SIZE].max()) * SIZE_SCALE), 1), history.shape[1])
    codes = np.rint(history * scale)
    if np.abs(codes / scale - history).max() > 1e-4 or np.abs(codes).max() > 127:
        raise EpictlError("cluster history: a feature is not a count scaled as the observation layout says")
    return codes.astype(np.int8)


def decode_history(codes: torch.Tensor) -> torch.Tensor:
    """[B, M, D, F] int8 codes -> float32 history as the env wrote it."""
    sizes = codes[..., SIZE].amax(dim=(1, 2)).float().clamp(min=1)
    scale = torch.tensor(feature_scale(1, codes.shape[2]), device=codes.device).repeat(len(codes), 1)
    scale[:, CLUSTER_TESTS:CLUSTER_SYM + 1] = sizes[:, None]
    return codes.float() / scale[:, None, None, :]


class ClusterRing:
    """Finished clusters (or cluster episodes), oldest overwritten first; one array per field, allocated
    on the first add. Checkpoints hold only the filled part (views, as torch's state dicts hold live tensors)."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.data: dict[str, np.ndarray] = {}
        self.size = self.next = 0

    def add(self, **fields) -> None:
        if not self.data:
            self.data = {key: np.zeros((self.capacity, *np.shape(value)), np.asarray(value).dtype)
                         for key, value in fields.items()}
        for key, value in fields.items():
            self.data[key][self.next] = value
        self.next = (self.next + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def __len__(self) -> int:
        return self.size

    def take(self, index: np.ndarray) -> dict[str, np.ndarray]:
        return {key: values[index] for key, values in self.data.items()}

    def state_dict(self) -> dict:
        return {"data": {key: values[: self.size] for key, values in self.data.items()},
                "size": self.size, "next": self.next}

    def load_state_dict(self, state: dict) -> None:
        self.size, self.next = state["size"], state["next"]
        self.data = {}
        for key, values in state["data"].items():
            self.data[key] = np.zeros((self.capacity, *values.shape[1:]), values.dtype)
            self.data[key][: self.size] = values
