"""Progress of long loops: a rich bar on a terminal, plain lines when output is piped or logged."""

from __future__ import annotations

import datetime as dt
import sys
import time

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

LINES_PER_TASK = 10  # a plain line each time another tenth is done ...
LINE_EVERY_SECONDS = 60.0  # ... or a minute has passed, whichever comes first


def progress_bar(enabled: bool = True) -> Progress | PlainProgress:
    """Both offer the part of rich's Progress the runners use: add_task, advance, update, as a context."""
    if enabled and not sys.stdout.isatty():
        return PlainProgress()
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(), disable=not enabled, transient=False,
    )


class PlainProgress:
    """A line each time another 1 / LINES_PER_TASK of a task is done or LINE_EVERY_SECONDS have passed."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.tasks: list[dict] = []

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc_info) -> None:
        pass

    def add_task(self, description: str, total: float | None = None, completed: float = 0) -> int:
        now = self.clock()
        self.tasks.append({"description": description, "total": total, "completed": completed, "start": completed,
                           "began": now, "printed_at": now, "printed_step": self.step(total, completed)})
        return len(self.tasks) - 1

    def advance(self, task_id: int, advance: float = 1) -> None:
        self.update(task_id, completed=self.tasks[task_id]["completed"] + advance)

    def update(self, task_id: int, completed: float | None = None) -> None:
        task = self.tasks[task_id]
        if completed is None or completed == task["completed"]:
            return
        task["completed"] = completed
        now, step = self.clock(), self.step(task["total"], completed)
        if step > task["printed_step"] or now - task["printed_at"] >= LINE_EVERY_SECONDS:
            task["printed_at"], task["printed_step"] = now, step
            print(self.line(task, now), flush=True)

    @staticmethod
    def step(total: float | None, completed: float) -> int:
        """How many tenths are done (0 without a total: then only the clock prints)."""
        return int(completed * LINES_PER_TASK // total) if total else 0

    @staticmethod
    def line(task: dict, now: float) -> str:
        elapsed = now - task["began"]
        done, total = task["completed"], task["total"]
        if not total:
            return f"{task['description']}: {done:g} done, {clock_text(elapsed)} elapsed"
        text = f"{task['description']}: {done:g}/{total:g} ({100 * done / total:.0f} %), {clock_text(elapsed)} elapsed"
        rate = (done - task["start"]) / elapsed if elapsed > 0 else 0.0
        if done < total and rate > 0:
            text += f", about {clock_text((total - done) / rate)} left"
        return text


def clock_text(seconds: float) -> str:
    return str(dt.timedelta(seconds=round(seconds)))
