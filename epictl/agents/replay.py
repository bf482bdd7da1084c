"""A FIFO experience-replay ring buffer of executed transitions (spec §10: capacity 128, batch 8)."""

from __future__ import annotations

import numpy as np


class ReplayBuffer:
    def __init__(self, capacity: int, seed: int):
        self.capacity = capacity
        self.rng = np.random.default_rng(seed)
        self.data: dict[str, np.ndarray] = {}
        self.size = 0
        self.next = 0

    def add(self, **transition) -> None:
        if not self.data:
            self.data = {key: np.zeros((self.capacity, *np.shape(value)), dtype=np.asarray(value).dtype)
                         for key, value in transition.items()}
        for key, value in transition.items():
            self.data[key][self.next] = value
        self.next = (self.next + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def __len__(self) -> int:
        return self.size

    def sample(self, batch_size: int) -> dict[str, np.ndarray]:
        index = self.rng.integers(self.size, size=batch_size)
        return {key: values[index] for key, values in self.data.items()}

    def state_dict(self) -> dict:
        return {"data": self.data, "size": self.size, "next": self.next, "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.data, self.size, self.next = state["data"], state["size"], state["next"]
        self.rng.bit_generator.state = state["rng"]
