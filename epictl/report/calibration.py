"""Tables and text of a calibration run: simulated vs observed per day, the fit summary, the fitted env."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import yaml

QUANTILES = {"p05": 0.05, "p95": 0.95}
R2_LABELS = {
    "window_cumulative": "cumulative, fitted window",
    "window_daily": "daily, fitted window",
    "out_of_sample_cumulative": "cumulative, after the window",
    "out_of_sample_daily": "daily, after the window",
    "all_days_cumulative": "cumulative, all days",
}


def simulated_frame(first_date: dt.date, groups: tuple[str, ...], observed: np.ndarray, daily: np.ndarray,
                    cumulative: np.ndarray, window: int) -> pd.DataFrame:
    """One row per group and day: observed counts, simulated mean and 5 % / 95 % quantiles over runs.

    ``observed`` is [G, D] daily; ``daily`` and ``cumulative`` are [runs, G, D]. With several groups an
    extra group ``all`` holds the totals (quantiles of the per-run totals).
    """
    if len(groups) > 1:
        groups = (*groups, "all")
        observed = np.concatenate([observed, observed.sum(axis=0, keepdims=True)])
        daily = np.concatenate([daily, daily.sum(axis=1, keepdims=True)], axis=1)
        cumulative = np.concatenate([cumulative, cumulative.sum(axis=1, keepdims=True)], axis=1)
    days = observed.shape[1]
    frames = []
    for g, group in enumerate(groups):
        frame = pd.DataFrame({
            "group": group,
            "date": [str(first_date + dt.timedelta(days=d)) for d in range(days)],
            "day": np.arange(days),
            "in_window": np.arange(days) < window,
            "observed_daily": observed[g],
            "observed_cumulative": np.cumsum(observed[g]),
        })
        for kind, runs in (("daily", daily[:, g]), ("cumulative", cumulative[:, g])):
            frame[f"{kind}_mean"] = runs.mean(axis=0)
            for label, q in QUANTILES.items():
                frame[f"{kind}_{label}"] = np.quantile(runs, q, axis=0)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


class _Dumper(yaml.SafeDumper):
    """Block style, except lists of numbers or short words on one line (seeds, regions, bounds)."""


def _sequence(dumper: yaml.SafeDumper, data: list) -> yaml.Node:
    flow = all(isinstance(x, (int, float)) or (isinstance(x, str) and len(x) <= 20) for x in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _sequence)


def yaml_text(document: dict, header: str = "") -> str:
    body = yaml.dump(document, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=110, allow_unicode=True)
    return "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines()) + body


def number(value) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def summary_markdown(fit: dict) -> str:
    """fit.yaml in prose: what was fitted, to what, how well, under which assumptions."""
    target, fitted, seeding = fit["target"], fit["fitted"], fit["seeding"]
    lines = [
        f"# Calibration of {fit['env']} to {target['name']}",
        "",
        f"Target: {target['description']} ({target['source']}), {target['first_date']}..{target['last_date']}; "
        f"fitted window {target['window'][0]}..{target['window'][1]}.",
        "",
        "| parameter | value | free | bounds |",
        "|---|---:|---|---|",
    ]
    for name, value in fitted.items():
        bounds = fit["bounds"].get(name)
        shown = f"[{bounds[0]:g}, {bounds[1]:g}]" if bounds else "-"
        flag = "yes" + (" (at bound)" if name in fit["at_bound"] else "") if name in fit["free"] else "fixed"
        lines.append(f"| {name} | {value:g} | {flag} | {shown} |")
    lines += [
        "",
        f"Seed time: {fit['seed_time']} (sim day 0); {int(fitted['seed_cases'])} seeds in {seeding['compartment']} "
        f"split over regions {seeding['regions']} of {seeding['district'] or 'the city'}.",
        f"Model cases confirmed before the first day: {fit['model_cases_before_first_day']:.1f} (the cumulative "
        "comparison counts them; the data start from zero).",
        *([f"At a bound: {', '.join(fit['at_bound'])} (the best fit lies at or past it)."] if fit["at_bound"] else []),
        "",
        "| R² | value |",
        "|---|---:|",
        *[f"| {R2_LABELS[key]} | {number(value)} |" for key, value in fit["r2"].items()],
        "",
        f"Loss: sum of squared errors of {fit['loss']['kind']} cases over the window on the mean of "
        f"{fit['runs']} runs (seeds {fit['seeds'][0]}..{fit['seeds'][-1]}, the same for every candidate): "
        f"{fit['loss']['value']:.6g}.",
        *search_and_assumptions(fit),
    ]
    return "\n".join(lines)


def search_and_assumptions(fit: dict) -> list[str]:
    """The closing lines of either summary: how the search went and what the fit assumed."""
    return [f"Optimiser: {fit['optimiser']}; {fit['evaluations']} evaluations in {fit['seconds']:.1f} s "
            f"({fit['seconds_per_evaluation']:.2f} s each).", "", "Assumptions:",
            *[f"- {text}" for text in fit["assumptions"]], ""]


def row_summary_markdown(fit: dict, rows) -> str:
    """fit.yaml of a table-row calibration in prose: each row metric, the paper's beside ours, and each choice."""
    target, fitted = fit["target"], fit["fitted"]
    shared = "own free phases" if fitted["free_phase_seed"] is None else f"one shared free phase (seed {fitted['free_phase_seed']})"
    lines = [
        f"# Calibration of {fit['env']} to {target['name']}",
        "",
        f"Target: {target['description']}; rows {', '.join(target['rows'])} of {target['published']}.",
        "",
        f"Best: seeds in {fitted['initial_compartment']}, {shared}, move_scale {fitted['move_scale']:g}, "
        f"gravity_scale_km {fitted['gravity_scale_km']:g}; loss {fitted['loss']:.6g}."
        + (f" At a bound: {', '.join(fitted['at_bound'])}." if fitted["at_bound"] else ""),
        "",
        "| experiment | metric | paper mean (std) | ours mean (std) | loss term |",
        "|---|---|---:|---:|---:|",
        *[f"| {line.experiment} | {line.metric} | {line.paper_mean:.2f} ({line.paper_std:.2f}) | "
          f"{line.ours_mean:.2f} ({line.ours_std:.2f}) | {line.loss:.4g} |" for line in rows.itertuples(index=False)],
        "",
        "| seeds in | free_phase_seed | move_scale | gravity_scale_km | loss | evaluations |",
        "|---|---|---:|---:|---:|---:|",
        *[f"| {c['initial_compartment']} | {number(c['free_phase_seed'])} | {c['move_scale']:g} | "
          f"{c['gravity_scale_km']:g} | {c['loss']:.6g} | {c['evaluations']} |" for c in fit["choices"]],
        "",
        f"Loss: {fit['loss']['formula']}; {fit['runs']} runs per row (seeds {fit['seeds'][0]}..{fit['seeds'][-1]}, "
        "the same for every candidate).",
        *search_and_assumptions(fit),
    ]
    return "\n".join(lines)
