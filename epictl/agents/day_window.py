"""The memory of a window agent: its episode's last L daily observations (Ohi et al. 2020, spec §8).

A window holds the decision day and the L - 1 days before it. Early in an episode the missing days
are filled by repeating the episode's first day, so a window never reaches into another episode.
"""

from __future__ import annotations

import numpy as np


class DayWindow:
    def __init__(self, length: int, features: int):
        self.length, self.features = length, features
        self.first: np.ndarray | None = None  # the episode's first day: the padding
        self.past = np.zeros((0, features), np.float32)  # at most length - 1 days before the current one

    def start(self, past_days: np.ndarray | None = None) -> None:
        """A new episode; ``past_days`` [days, features] came before the first decision (oldest first)."""
        self.first = None
        self.past = np.zeros((0, self.features), np.float32)
        for day in [] if past_days is None else np.asarray(past_days, np.float32):
            self.push(day)

    def window(self, today) -> np.ndarray:
        """[length, features]: the days before ``today``, then ``today``, padded at the front."""
        today = np.asarray(today, np.float32).reshape(1, self.features)
        days = np.concatenate([self.past, today])
        missing = self.length - len(days)
        if missing > 0:
            first = today if self.first is None else self.first[None]
            days = np.concatenate([np.repeat(first, missing, axis=0), days])
        return days[-self.length:]

    def push(self, today) -> None:
        """``today`` becomes a past day."""
        today = np.asarray(today, np.float32).reshape(1, self.features)
        if self.first is None:
            self.first = today[0].copy()
        keep = self.length - 1  # a window of one day keeps no past
        if keep:
            self.past = np.concatenate([self.past, today])[-keep:]

    def state_dict(self) -> dict:
        return {"first": self.first, "past": self.past}

    def load_state_dict(self, state: dict) -> None:
        self.first, self.past = state["first"], state["past"]
