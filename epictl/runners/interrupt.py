"""Ctrl-C during a loop (training steps, evaluation episodes): finish the item under way, save, then stop."""

from __future__ import annotations

import signal
import sys
import threading

CHECKPOINT_NOTICE = "stopping after this step to save a checkpoint (Ctrl-C again: stop now, resume from the last checkpoint)"


class StopBetweenSteps:
    """Ctrl-C (SIGINT) inside the block only sets ``requested`` and prints ``notice``: the loop finishes
    its step, saves and stops, so what it saves never holds half a step (e.g. the env moved but not the
    observation, the counter or the networks). A second Ctrl-C stops at once, like kill -9."""

    def __init__(self, notice: str):
        self.notice = notice
        self.requested = self.active = False
        self._previous = None

    def __enter__(self) -> "StopBetweenSteps":
        # Python handles signals in the main thread only; an ignored SIGINT (a background job) stays ignored.
        self.active = threading.current_thread() is threading.main_thread() and \
            signal.getsignal(signal.SIGINT) is not signal.SIG_IGN
        if self.active:
            self._previous = signal.signal(signal.SIGINT, self._request)
        return self

    def _request(self, signum, frame) -> None:
        self.requested = True
        signal.signal(signal.SIGINT, self._restorable())
        print(f"epictl: {self.notice}", file=sys.stderr, flush=True)

    def _restorable(self):
        # None: a handler installed outside Python; Python's own is the closest equivalent.
        return signal.default_int_handler if self._previous is None else self._previous

    def __exit__(self, *exc) -> None:
        if self.active:
            signal.signal(signal.SIGINT, self._restorable())
