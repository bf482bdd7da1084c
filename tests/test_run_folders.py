"""Run folders: named after what ran, one per run even in the same second, gone again when a run fails
before writing anything, kept whole (and cheap to keep) when a run is interrupted or killed."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO
from fuzz_harness import assert_clean_rejection, run_cli

from epictl.report import run_folder
from epictl.report.run_folder import PARTS, RunFolder
from epictl.runners.progress import LINE_EVERY_SECONDS, PlainProgress

TINY = ["env=tiny", "seeds=1", "plots=false"]


def tiny(tmp_path: Path, *args: str) -> list[str]:
    return [*TINY, f"env.city.cache_dir={tmp_path / 'cache'}", *args]


def start_epictl(cwd: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "epictl", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def dated_folders(root: Path) -> list[Path]:
    return sorted(p for p in (root / "outputs").glob("*/*") if p.is_dir())


def test_run_folder_names_the_env_and_agent(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run_cli("eval", *tiny(tmp_path, "agent=no_medical", "progress=false"))
    assert result.code == 0, result.stderr
    (folder,) = dated_folders(tmp_path)
    assert folder.name.endswith("_tiny_no_medical") and (folder / "metrics.csv").is_file()
    dt.datetime.strptime(folder.parent.name + folder.name[:8], "%Y-%m-%d%H-%M-%S")


def test_a_run_in_a_taken_second_gets_a_suffix(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    now = dt.datetime.now()
    taken = set()
    for second in range(-1, 30):  # every name the run could pick while it starts
        moment = now + dt.timedelta(seconds=second)
        folder = tmp_path / "outputs" / f"{moment:%Y-%m-%d}" / f"{moment:%H-%M-%S}_tiny_no_medical"
        folder.mkdir(parents=True, exist_ok=True)
        taken.add(folder)
    result = run_cli("eval", *tiny(tmp_path, "agent=no_medical", "progress=false"))
    assert result.code == 0, result.stderr
    (new,) = set(dated_folders(tmp_path)) - taken
    assert new.name.endswith("_tiny_no_medical-2") and (new / "metrics.csv").is_file()
    assert not any((folder / "metrics.csv").exists() for folder in taken)
    (tmp_path / "city").mkdir()
    failing = run_cli("eval", *tiny(tmp_path, "agent=no_medical", "progress=false"), "env.city.source=original",
                      f"env.city.path={tmp_path / 'city'}")
    assert failing.code == 2 and set(dated_folders(tmp_path)) == taken | {new}  # its own suffixed folder is gone again


CLAIM = """
import sys, time
from pathlib import Path
from epictl.paths import claim_run_dir
start = float(sys.argv[1])
time.sleep(max(0.0, start - time.time()))
print("\\n".join(str(claim_run_dir(Path(sys.argv[2]))) for _ in range(5)))
"""


# Child epictl processes signalled or raced (a few seconds each): with the interrupted trainings in `make test-smoke`,
# so the fast suite keeps its 5 minutes.
@pytest.mark.smoke
def test_processes_claiming_one_name_at_once_get_distinct_folders(tmp_path):
    start = time.time() + 1.5
    processes = [subprocess.Popen([sys.executable, "-c", CLAIM, str(start), str(tmp_path / "day" / "same")],
                                  stdout=subprocess.PIPE, text=True, cwd=REPO) for _ in range(6)]
    claimed = [line for p in processes for line in p.communicate(timeout=60)[0].split()]
    assert all(p.returncode == 0 for p in processes)
    assert len(claimed) == len(set(claimed)) == 30
    assert sorted(p.name for p in (tmp_path / "day").iterdir()) == sorted(Path(c).name for c in claimed)


# Child epictl processes signalled or raced (a few seconds each): with the interrupted trainings in `make test-smoke`,
# so the fast suite keeps its 5 minutes.
@pytest.mark.smoke
def test_two_evals_started_together_write_two_folders(tmp_path):
    args = tiny(tmp_path, "agent=no_medical", "progress=false")
    run_cli("eval", *args, f"hydra.run.dir={tmp_path / 'warm'}")  # builds the city cache both will read
    processes = [start_epictl(tmp_path, "eval", *args) for _ in range(2)]
    for process in processes:
        assert process.wait(timeout=300) == 0, process.stderr.read()
    folders = dated_folders(tmp_path)
    assert len(folders) == 2 and all((f / "metrics.csv").is_file() for f in folders)
    assert all("_tiny_no_medical" in f.name for f in folders)


def test_failed_run_removes_the_folders_it_created(tmp_path, monkeypatch):
    (tmp_path / "city").mkdir()
    missing_city = ["env=tiny", "env.city.source=original", f"env.city.path={tmp_path / 'city'}", "progress=false"]
    monkeypatch.chdir(tmp_path)
    assert_clean_rejection(run_cli("eval", *missing_city), "pop_region.json", tmp_path / "outputs")
    nested = tmp_path / "a" / "b" / "run"
    assert_clean_rejection(run_cli("eval", *missing_city, f"hydra.run.dir={nested}"), "pop_region.json", tmp_path / "a")
    sweep = tmp_path / "sweep"
    result = run_cli("eval", "-m", *missing_city, "agent=no_medical,expert_seriousness", f"hydra.sweep.dir={sweep}")
    assert result.code == 2 and not sweep.exists()  # (the jobs' own stderr is the worker processes')


def test_failed_run_keeps_a_folder_that_was_there(tmp_path):
    (tmp_path / "city").mkdir()
    missing_city = ["env=tiny", "env.city.source=original", f"env.city.path={tmp_path / 'city'}", "progress=false"]
    for name, content in (("empty", None), ("notes", "notes.txt")):
        folder = tmp_path / name
        folder.mkdir()
        if content:
            (folder / content).write_text("mine")
        assert run_cli("eval", *missing_city, f"hydra.run.dir={folder}").code == 2
        assert folder.is_dir() and (content is None or (folder / content).read_text() == "mine")


def test_failed_resume_keeps_the_resume_folder(tmp_path):
    run_dir = tmp_path / "train"
    (run_dir / "checkpoints").mkdir(parents=True)
    (run_dir / "checkpoints" / "last.pt").write_bytes(b"not a checkpoint")
    result = run_cli("train", "env=tiny", "agent=hrl", f"resume={run_dir}", f"hydra.run.dir={run_dir}", "progress=false",
                     f"env.city.cache_dir={tmp_path / 'cache'}")
    assert result.code == 2 and "unreadable checkpoint" in result.stderr
    assert (run_dir / "checkpoints" / "last.pt").read_bytes() == b"not a checkpoint"


@pytest.mark.parametrize("place", ["file_as_parent", "file_itself"])
def test_unwritable_run_folder_is_one_line(tmp_path, place):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    run_dir = blocker / "run" if place == "file_as_parent" else blocker
    result = run_cli("eval", *tiny(tmp_path, "progress=false"), f"hydra.run.dir={run_dir}")
    assert_clean_rejection(result, f"hydra.run.dir={run_dir}: cannot write the run folder")
    assert blocker.read_text() == "a file"


def wait_for_rows(metrics: Path, rows: int, process: subprocess.Popen) -> None:
    deadline = time.time() + 120
    while time.time() < deadline and process.poll() is None:
        if metrics.is_file() and metrics.read_text().count("\n") > rows:
            return
        time.sleep(0.05)
    raise AssertionError(f"no {rows} rows in {metrics}: {process.stderr.read() if process.poll() is not None else ''}")


# Child epictl processes signalled or raced (a few seconds each): with the interrupted trainings in `make test-smoke`,
# so the fast suite keeps its 5 minutes.
@pytest.mark.smoke
def test_interrupted_eval_writes_summary_and_plots_of_finished_episodes(tmp_path):
    run_dir = tmp_path / "run"
    process = start_epictl(tmp_path, "eval", "env=tiny", "seeds=100000", "progress=false", f"hydra.run.dir={run_dir}",
                           f"env.city.cache_dir={tmp_path / 'cache'}")
    wait_for_rows(run_dir / "metrics.csv", 3, process)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=120) == 130, process.stderr.read()
    metrics = pd.read_csv(run_dir / "metrics.csv")
    assert len(metrics) >= 3
    assert f"Episodes: {len(metrics)} " in (run_dir / "summary.md").read_text()
    assert (run_dir / "plots" / "infected.png").is_file() and not (run_dir / PARTS).exists()
    assert list(pd.read_parquet(run_dir / "curves.parquet")["seed"].unique()) == list(metrics["seed"])


# Child epictl processes signalled or raced (a few seconds each): with the interrupted trainings in `make test-smoke`,
# so the fast suite keeps its 5 minutes.
@pytest.mark.smoke
def test_killed_eval_never_leaves_half_a_metrics_row(tmp_path):
    for attempt, delay in enumerate((0.3, 0.9)):
        run_dir = tmp_path / f"run{attempt}"
        process = start_epictl(tmp_path, "eval", "env=tiny", "seeds=100000", "progress=false", "plots=false",
                               f"hydra.run.dir={run_dir}", f"env.city.cache_dir={tmp_path / 'cache'}")
        wait_for_rows(run_dir / "metrics.csv", 1, process)
        time.sleep(delay)
        process.kill()
        process.wait(timeout=60)
        text = (run_dir / "metrics.csv").read_text()
        assert text.endswith("\n")
        header, *rows = text.splitlines()
        assert rows and all(row.count(",") == header.count(",") for row in rows)
        assert list(pd.read_csv(run_dir / "metrics.csv")["seed"]) == list(range(len(rows)))


def episode(seed: int) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    row = {"agent": "a", "env": "e", "experiment": "-", "seed": seed, "infected_pct": seed / 3, "bed_days": 7 * seed}
    curves = pd.DataFrame({"seed": seed, "day": range(3), "I": [1.5 * seed, 2.0, 0.1]})
    regions = pd.DataFrame({"seed": seed, "day": [0, 0], "region": [0, 1], "I": [1.0, 2.0]})
    return row, curves, regions


def test_each_episode_writes_only_its_own_rows(tmp_path, monkeypatch):
    written: list[tuple[str, int]] = []

    def recording(write):
        def record(path, frame):
            written.append((Path(path).name, len(frame)))
            write(path, frame)
        return record

    monkeypatch.setattr(run_folder, "write_parquet", recording(run_folder.write_parquet))
    monkeypatch.setattr(run_folder, "write_csv", recording(run_folder.write_csv))
    folder = RunFolder(tmp_path, "t")
    for seed in range(5):
        folder.add_episode(*episode(seed))
    assert written and all(rows == (3 if name.startswith("curves") else 2) for name, rows in written)
    assert not any(name == "metrics.csv" for name, _ in written)


def test_finished_folder_holds_the_whole_tables(tmp_path):
    folder = RunFolder(tmp_path, "t")
    (tmp_path / "metrics.csv").write_text("stale,table\n1,2\n")  # a rerun into the same folder starts afresh
    episodes = [episode(seed) for seed in range(4)]
    for parts in episodes:
        folder.add_episode(*parts)
    folder.finish({"infected": ["I"]}, None, draw=False)
    rows = pd.DataFrame([row for row, _, _ in episodes])
    assert (tmp_path / "metrics.csv").read_text() == rows.to_csv(index=False, float_format="%.6g")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "curves.parquet"),
                                  pd.concat([c for _, c, _ in episodes], ignore_index=True))
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "curves_regions.parquet"),
                                  pd.concat([r for _, _, r in episodes], ignore_index=True))
    assert not (tmp_path / PARTS).exists() and (tmp_path / "summary.md").is_file()


def test_progress_prints_plain_lines_when_not_on_a_terminal(tmp_path):
    args = tiny(tmp_path, "seeds=3", f"hydra.run.dir={tmp_path / 'run'}")
    result = run_cli("eval", *args)
    assert result.code == 0, result.stderr
    assert "expert_seriousness on tiny (-): 3/3 (100 %)" in result.stdout
    quiet = run_cli("eval", *args, "progress=false", f"hydra.run.dir={tmp_path / 'quiet'}")
    assert quiet.code == 0 and "(100 %)" not in quiet.stdout


def test_plain_progress_prints_each_tenth_and_on_a_slow_clock(capsys):
    now = [0.0]
    progress = PlainProgress(clock=lambda: now[0])
    with progress:
        task = progress.add_task("work", total=20)
        for _ in range(20):
            progress.advance(task)
        slow = progress.add_task("slow", total=1000)
        now[0] = LINE_EVERY_SECONDS + 1
        progress.advance(slow)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[1].split()[0] for line in lines[:10]] == [f"{2 * k}/20" for k in range(1, 11)]
    assert lines[-1].startswith("slow: 1/1000 (0 %), 0:01:01 elapsed, about ")
