"""Golden numbers: fixed policies on every simulator family give exactly the metrics committed in
tests/golden/golden.csv, so a change that shifts results fails here until the file is refreshed."""

from __future__ import annotations

import importlib.util
import re
import sys

import pytest

from conftest import REPO

# scripts/ is not a package: load the script itself so the test and `make golden` share one code path.
_spec = importlib.util.spec_from_file_location("golden", REPO / "scripts" / "golden.py")
golden = sys.modules["golden"] = importlib.util.module_from_spec(_spec)  # dataclasses look it up there
_spec.loader.exec_module(golden)


def test_metrics_match_the_committed_baseline():
    found = golden.check(golden.BASELINE)
    assert not found, (f"{len(found)} problems against {golden.BASELINE.relative_to(REPO)} "
                       "(failed runs; run seed metric: expected, got):\n" + "\n".join(found) +
                       f"\nIf the change is intended, refresh the baseline with `{golden.REFRESH_COMMAND}` "
                       "and commit it.")


def test_only_real_changes_count_as_differences():
    expected = {("run", 0, "deaths"): 3, ("run", 0, "return"): 87.7422, ("run", 1, "return"): 85.4734}
    noise = {**expected, ("run", 0, "return"): 87.7422 * (1 + 1e-12)}
    changed = {("run", 0, "deaths"): 4, ("run", 0, "return"): 87.7423, ("run", 0, "new"): 1.0}
    assert golden.differences(expected, noise) == []
    assert golden.differences(expected, changed) == [
        "run seed 0 deaths: expected 3, got 4",
        "run seed 0 new: not in the baseline, got 1.0",
        "run seed 0 return: expected 87.7422, got 87.7423",
        "run seed 1 return: expected 85.4734, got nothing (missing)",
    ]


@pytest.mark.parametrize("text, message", [
    (None, "not found; write it with `make golden`"),
    ("run,seed,value\n", "the first line must be run,seed,metric,value"),
    ("run,seed,metric,value\ntiny/random,0,deaths,many\n", "line 2: expected run,seed,metric,value"),
])
def test_a_missing_or_malformed_baseline_is_one_clear_error(tmp_path, text, message):
    path = tmp_path / "golden.csv"
    if text is not None:
        path.write_text(text)
    with pytest.raises(golden.GoldenError, match=re.escape(message)) as raised:
        golden.read_baseline(path)
    assert "\n" not in str(raised.value)
