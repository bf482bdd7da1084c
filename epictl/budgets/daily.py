"""A fixed bed capacity and a daily mask supply (KDD'21 Table 2), or a daily test budget (Hier-PPO #B)."""

from __future__ import annotations

from dataclasses import dataclass

from epictl.errors import EpictlError

# Masks are shared out with float arithmetic: beyond 2**53 counts are no longer exact.
MOST_PER_RESOURCE = 2**53


@dataclass
class DailyBudget:
    name: str = "beijing"
    beds: int = 10_000  # total hospital beds N_B, occupied ones included
    masks_per_day: int = 1_000_000  # surgical masks N_M handed out each day; none carry over
    tests_per_day: int = 0  # #B tests per global day shared by all active clusters; unused ones do not carry over

    def validate(self) -> "DailyBudget":
        for key in ("beds", "masks_per_day", "tests_per_day"):
            value = getattr(self, key)
            if not 0 <= value <= MOST_PER_RESOURCE:
                raise EpictlError(f"budget.{key}={value} must be an integer in 0..{MOST_PER_RESOURCE}")
        return self
