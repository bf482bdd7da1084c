"""Env copies' state fields as Numba typed lists, for a simulator's ``step_many`` (one kernel call that
loops over the copies, each copy's arrays and random streams its own)."""

from __future__ import annotations

from collections.abc import Sequence

import numba
from numba.typed import List

from epictl.errors import EpictlError


class CopyLists:
    """One typed list per field in ``fields``, entry k from the k-th state.

    The lists are kept from the last call while the states hold the same objects: a vector env passes the
    same states day after day and new ones only at resets, and filling lists costs about 0.5 ms for 8
    copies, as much as a day of a small world.
    """

    def __init__(self, fields: Sequence[str]):
        self.fields = tuple(fields)
        self._kept: tuple[list[tuple], tuple[List, ...]] | None = None

    def __call__(self, states: Sequence) -> tuple[List, ...]:
        rows = [tuple(getattr(state, name) for name in self.fields) for state in states]
        if self._kept is not None:
            kept_rows, lists = self._kept
            if len(kept_rows) == len(rows) and all(
                    value is kept for row, kept_row in zip(rows, kept_rows) for value, kept in zip(row, kept_row)):
                return lists
        owned = [id(value) for row in rows for value in row]
        if len(set(owned)) != len(owned):  # copies run at once: a shared array or stream would race
            raise EpictlError("step_many: the states share arrays or random streams; pass independent states "
                              "(from reset, or a state's copy())")
        lists = tuple(typed_list(column) for column in zip(*rows))
        self._kept = (rows, lists)
        return lists

    def __getstate__(self) -> dict:
        """Pickles and deep copies (snapshots of a simulator) leave the lists out: they cannot be pickled."""
        return {"fields": self.fields, "_kept": None}


def typed_list(items: Sequence) -> List:
    """``numba.typed.List(items)`` (at least one item) built by cached kernels: a typed list filled from Python
    compiles its methods again in every process, about 0.3 s per item type."""
    built = _list_of(items[0])
    for item in items[1:]:
        _append(built, item)
    return built


@numba.njit(cache=True)
def _list_of(item):
    items = List()
    items.append(item)
    return items


@numba.njit(cache=True)
def _append(items, item):
    items.append(item)
