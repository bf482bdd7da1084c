"""Every number of the contact-tracing city (spec papw-contact-tracing.md §1-§7, §9), with its source tag.

[doc] the challenge documentation (final round), [bin] the challenge's compiled simulator (medium confidence),
[kit] the starter kit, [paper] the IDRLECA paper, [epictl] our choice where they are silent. No Numba here: the
config schemas load this module on every command.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from epictl.errors import EpictlError

HOURS = 14  # hour index 0..13 = 08:00-21:00 [doc]
HISTORY_DAYS = 5  # days of visit history a policy sees [doc]
WEEKDAYS = 5  # day d is a weekday if d mod 7 <= 4 [bin]

# intervention levels (epictl's; the API code is level + 1) [doc §7]
NONE, CONFINE, QUARANTINE, ISOLATE, HOSPITAL = range(5)
LEVELS = 5
ORDER_LEVELS = (CONFINE, QUARANTINE, ISOLATE)  # the levels an order sets for a number of days
COST_WEIGHTS = (0.0, 0.2, 0.3, 0.5, 1.0)  # person-day weight of each level in Q [doc, kit]

# disease stages [doc §6] and the API infection code of each (S and pre-symptomatic look alike)
SUSCEPTIBLE, PRESYMPTOMATIC, SYMPTOMATIC, CRITICAL, RECOVERED = range(5)
API_CODE_OF_STAGE = (1, 1, 3, 4, 5)  # [doc]

# area categories [doc]; locations outside the city
RESIDENTIAL, WORKING, COMMERCIAL = range(3)
OUT_OF_CITY = -1  # hospital or isolation [doc]
NO_RECORD = -2  # a visit-history hour before day 0 [epictl]

# the daily log (spec §9's columns, snake_case), one row per simulated day
LOG_COLUMNS = (
    "day", "hospitalised", "isolated", "quarantined", "confined", "free",  # people at each level that day
    "current_healthy",  # susceptible + recovered at the end of the day [epictl]
    "infected",  # cumulative I: ever infected, imports and recovered included [doc]
    "infected_free",  # currently infected and under no intervention that day [epictl]
    "susceptible", "incubating", "symptomatic", "critical", "recovered",  # stages at the end of the day
    "cumulative_symptomatic", "cumulative_critical",  # ever reached that stage
    "acquaintance_infections", "stranger_infections",  # cumulative, by the trial that infected [bin]
    "new_infections",  # infected that day, imports included
    "onsets",  # became symptomatic at the end of that day
    "cost",  # Q_t: that day's person-days weighted by COST_WEIGHTS
)
TRANSMISSIONS = ("fraction", "per_contact")
MAX_DAYS = 2**16 - 1  # the counter-based draws keep the day in 16 bits (kernels.py)
MAX_PEOPLE = 2**31 - 1  # person ids are int32
MAX_AREAS = 2**15 - 1  # area ids are int16 in the visit history
MAX_GROUP = 1000  # largest group size allowed: the hazard tables are (size + 1)² [epictl]


@dataclass
class ContactParams:
    """City, mobility, acquaintance groups, transmission, disease course and imports."""

    n_people: int = 10_000  # M [doc, bin]
    n_areas: int = 11  # 11 = the sample map of spec §1 [doc]; any other value >= 3 is generated (areas.py) [epictl]
    map_seed: int = 0  # seed of a generated map [epictl]
    days: int = 60  # days 0..59 [doc]
    p_acquaintance: float = 0.025  # P_c [doc round 2]; round 1: 1.5e-3
    p_stranger: float = 0.005  # P_s [doc round 2]; round 1: 3e-6
    transmission: str = "fraction"  # P x infectious fraction [bin] | per_contact: 1 - (1 - P)^k [epictl option]
    work_start_min: int = 1  # T_start ~ U{1..3}, hour index [doc]
    work_start_max: int = 3  # [doc]; 8 in the larger start-working range scenario
    work_hours_min: int = 7  # T_work ~ U{7..10} [doc]
    work_hours_max: int = 10
    commercial_after_work_p: float = 0.1  # then the nearest commercial area [doc]
    commercial_hours_min: int = 1  # U{1..2} hours there [doc]
    commercial_hours_max: int = 2
    weekend_visit_p: float = 0.3  # a uniformly random commercial area at the weekend [doc]
    weekend_start_min: int = 1  # from hour U{1..5} [doc], for commercial_hours U{1..2}
    weekend_start_max: int = 5
    residential_group_min: int = 1  # K_l ~ U{1..6} [doc, bin]
    residential_group_max: int = 6
    work_group_min: int = 5  # K_w ~ U{5..15} [doc, bin]
    work_group_max: int = 15
    incubation_min: int = 1  # days pre-symptomatic, U{1..5} [doc]
    incubation_max: int = 5
    critical_mean: float = 2.0  # days from onset to critical ~ N(2, 3) [doc]; read as mean 2, sd 3 [epictl]
    critical_sd: float = 3.0  # rounded to whole days and clipped at 0 [epictl]
    treat_days: int = 15  # TREAT: consecutive days in hospital until recovery [doc]
    self_recovery: bool = True  # recover RECOVER days after infection without treatment [doc final round]
    recover_min: int = 15  # RECOVER ~ U{15..30}, drawn at infection [doc, bin]
    recover_max: int = 30
    import_last_day: int = 20  # imports on days 0..20 [bin]; large-initial scenario: 0
    import_trials: int = 7  # Bernoulli trials per day [bin]; large-initial scenario: 300
    import_p: float = 0.3  # success probability of each [bin]; large-initial scenario: 1.0
    hospitalise_symptomatic: bool = True  # IDRLECA's rule: every symptomatic person to hospital [paper]

    def validate(self) -> "ContactParams":
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise EpictlError(f"env.sim.{item.name}={value} must be finite")
        if self.transmission not in TRANSMISSIONS:
            raise EpictlError(f"env.sim.transmission={self.transmission!r}; choose one of {', '.join(TRANSMISSIONS)}")
        if not 1 <= self.n_people <= MAX_PEOPLE:
            raise EpictlError(f"env.sim.n_people={self.n_people} must lie in 1..{MAX_PEOPLE}")
        if not 3 <= self.n_areas <= MAX_AREAS:
            raise EpictlError(f"env.sim.n_areas={self.n_areas} must lie in 3..{MAX_AREAS} (3: one of each category)")
        if self.map_seed < 0:
            raise EpictlError(f"env.sim.map_seed={self.map_seed} must be >= 0")
        if not 1 <= self.days <= MAX_DAYS:
            raise EpictlError(f"env.sim.days={self.days} must lie in 1..{MAX_DAYS}")
        for name in ("p_acquaintance", "p_stranger", "commercial_after_work_p", "weekend_visit_p", "import_p"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise EpictlError(f"env.sim.{name}={getattr(self, name)} must lie in [0, 1]")
        self._check_range("work_start", 0, HOURS - 1)
        self._check_range("weekend_start", 0, HOURS - 1)
        self._check_range("work_hours", 1, HOURS)
        self._check_range("commercial_hours", 1, HOURS)
        self._check_range("residential_group", 1, MAX_GROUP)
        self._check_range("work_group", 1, MAX_GROUP)
        self._check_range("incubation", 1, MAX_DAYS)
        self._check_range("recover", 1, MAX_DAYS)
        if self.critical_sd < 0:
            raise EpictlError(f"env.sim.critical_sd={self.critical_sd} must be >= 0")
        if self.treat_days < 1:
            raise EpictlError(f"env.sim.treat_days={self.treat_days} must be >= 1")
        for name in ("import_last_day", "import_trials"):
            if getattr(self, name) < 0:
                raise EpictlError(f"env.sim.{name}={getattr(self, name)} must be >= 0")
        return self

    def _check_range(self, stem: str, low: int, high: int) -> None:
        """``<stem>_min`` <= ``<stem>_max``, both within ``low..high``."""
        first, last = getattr(self, f"{stem}_min"), getattr(self, f"{stem}_max")
        if not low <= first <= last <= high:
            raise EpictlError(f"env.sim.{stem}_min={first}, env.sim.{stem}_max={last}: need "
                              f"{low} <= {stem}_min <= {stem}_max <= {high}")
