"""A fixed bed capacity and a daily mask supply (KDD'21 Table 2)."""

from __future__ import annotations

from dataclasses import dataclass

from epictl.errors import EpictlError


@dataclass
class DailyBudget:
    name: str = "beijing"
    beds: int = 10_000  # total hospital beds N_B, occupied ones included
    masks_per_day: int = 1_000_000  # surgical masks N_M handed out each day; none carry over

    def validate(self) -> "DailyBudget":
        if self.beds < 0 or self.masks_per_day < 0:
            raise EpictlError(f"budget: beds={self.beds} and masks_per_day={self.masks_per_day} must be >= 0")
        return self
