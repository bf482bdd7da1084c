"""Each person's probability of having been infected by a discovered case, from the observed visit history of the
contact-tracing city (spec papw-contact-tracing.md §11.1): the risk the IDRLECA agent ranks people by and the
`prob_threshold` baseline thresholds. Torch-free; agents do not import the simulator, so the few constants it
shares with the observation are restated here.
"""

from __future__ import annotations

import numpy as np

from epictl.errors import EpictlError

HOURS_PER_DAY = 14  # hours 08:00-21:00 of a day's visit history (spec §2) [doc]
HISTORY_DAYS = 5  # days of visit history a policy observes (spec §8) [doc]
SYMPTOMATIC_CODES = (3, 4)  # API infection codes: symptomatic, critical (spec §6) [doc]
RECOVERED_CODE = 5  # [doc]
HOSPITAL_LEVEL = 4  # standing level of hospitalised people (epictl level = API code - 1) [epictl]
COMMERCIAL = 2  # area category: no acquaintance contact there (spec §5) [doc, bin]
TERMS = ("idr", "stranger")


def check_estimator(p_acquaintance: float, p_stranger: float, terms: str, history_days: int,
                    prefix: str = "agent.") -> None:
    """The estimator's settings, each named ``<prefix><name>`` in a one-line error."""
    for name, value in (("p_acquaintance", p_acquaintance), ("p_stranger", p_stranger)):
        if not 0.0 <= value <= 1.0:
            raise EpictlError(f"{prefix}{name}={value} must be a probability in [0, 1]")
    if terms not in TERMS:
        raise EpictlError(f"{prefix}terms={terms!r}; choose one of {', '.join(TERMS)}")
    if not 1 <= history_days <= HISTORY_DAYS:
        raise EpictlError(f"{prefix}history_days={history_days} must lie in 1..{HISTORY_DAYS} (the observed days)")


def infection_probability(observation: dict, p_acquaintance: float, p_stranger: float, terms: str = "idr",
                          history_days: int = HISTORY_DAYS) -> np.ndarray:
    """p_inf, float64 [N], over the last ``history_days`` days of ``observation["visits"]`` (spec §11.1):

        p_hel_i = prod over the hours h of the history, a = the area i was in at h (not -1/-2):
                    (1 - p_c)^k_i(a, h)              if a is residential or working and k_i(a, h) >= 1
                    1 - p_s * N_sym(a, h) / N(a, h)  otherwise
        p_inf_i = 1 - p_hel_i

    N(a, h): everyone recorded in a at h; N_sym(a, h): those of them whose API code is 3 or 4 *now*
    (discovered cases, hospitalised ones included, at the places they were before); k_i(a, h): i's distinct
    symptomatic acquaintances (members of i's residential or work group) recorded in a at h.

    terms="idr" is the IDRLECA authors' reading [idr]: in residential and working areas where acquaintances
    of i who are now symptomatic were present, their factor *replaces* the stranger factor (not both).
    terms="stranger" keeps only the stranger factor everywhere, as the organisers' example policy [kit].
    p_inf = 0 for people who are symptomatic, critical or recovered now, and for hospitalised people.
    """
    code, standing = observation["code"], observation["level"]
    areas = len(observation["area_category"])
    visits = observation["visits"][:, -history_days * HOURS_PER_DAY:]
    hours = visits.shape[1]
    symptomatic = np.isin(code, SYMPTOMATIC_CODES)
    at_risk = ~symptomatic & (code != RECOVERED_CODE) & (standing != HOSPITAL_LEVEL)
    # cell (hour, area) of each record; -1/-2 (out of the city, no record) go to an extra area `areas` of factor 1
    cell = np.where(visits >= 0, visits, areas) + np.arange(0, hours * (areas + 1), areas + 1, dtype=np.int32)
    everyone = np.bincount(cell.ravel(), minlength=hours * (areas + 1))
    cases = np.bincount(cell[symptomatic].ravel(), minlength=hours * (areas + 1))
    # p = 1 makes a factor 0: log 0 = -inf, so p_inf = 1 as it should; the 0 x -inf of people who met no case
    # is discarded by np.where
    with np.errstate(divide="ignore", invalid="ignore"):
        log_stranger = np.log1p(-p_stranger * cases / np.maximum(everyone, 1))
        log_stranger[areas::areas + 1] = 0.0
        log_healthy = log_stranger[cell]
        if terms == "idr":
            people, met = acquaintances_met(observation, visits, symptomatic, at_risk)
            log_healthy[people] = np.where(met > 0, met * np.log1p(-p_acquaintance), log_healthy[people])
    return np.where(at_risk, -np.expm1(log_healthy.sum(axis=1)), 0.0)


def acquaintances_met(observation: dict, visits: np.ndarray, symptomatic: np.ndarray, at_risk: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(people, k): the at-risk people with a symptomatic acquaintance, and k[p, h], how many distinct ones were in
    the same residential or working area as people[p] at history hour h. Pairs come from the few cases' groups,
    never from an N x N matrix."""
    cases = np.flatnonzero(symptomatic)
    category = observation["area_category"]
    could_meet = (visits[cases] >= 0) & (category[np.maximum(visits[cases], 0)] != COMMERCIAL)
    cases, could_meet = cases[could_meet.any(axis=1)], could_meet[could_meet.any(axis=1)]
    if len(cases) == 0:
        return np.empty(0, np.int64), np.empty((0, visits.shape[1]), np.int16)
    pairs = [group_pairs(np.asarray(observation[groups]), cases) for groups in ("home_group", "work_group")]
    person = np.concatenate([member for member, _ in pairs])
    case = np.concatenate([position for _, position in pairs])
    keep = at_risk[person] & (person != cases[case])
    pair = np.unique(person[keep].astype(np.int64) * len(cases) + case[keep])  # sharing both groups: counted once
    person, case = pair // len(cases), pair % len(cases)
    together = ((visits[person] == visits[cases[case]]) & could_meet[case]).astype(np.int16)
    people, first = np.unique(person, return_index=True)  # np.unique sorted the pairs by person
    if len(people) == 0:
        return people, together
    return people, np.add.reduceat(together, first, axis=0)


def group_pairs(groups: np.ndarray, cases: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(member, position): every member of each case's group (the case itself included) and the position of that
    case in ``cases``, by sorting the group ids once."""
    order = np.argsort(groups, kind="stable")
    ordered = groups[order]
    start = np.searchsorted(ordered, groups[cases], side="left")
    size = np.searchsorted(ordered, groups[cases], side="right") - start
    first = np.repeat(start - np.cumsum(size) + size, size)  # each case's run start, minus where its run lands
    return order[first + np.arange(size.sum())], np.repeat(np.arange(len(cases)), size)
