"""Ctrl-C or kill -9 in the middle of training, then `resume=<run>`: the training log must be the
uninterrupted run's, byte for byte, for every learner.

Every run is a real `python -m epictl train` process (`epictl rebuild` for the rebuild network). The
signal goes out just after the run has written its first checkpoint and log, so it lands while a later
step is under way (wherever it lands, the resumed log must match). The runs are started by a module fixture, two at a time (most
of a run is Python and torch starting up); each uninterrupted reference serves both signals.
"""

from __future__ import annotations

import signal
import subprocess
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO
from test_cli import EPICTL, epictl

# Whole training processes for every learner (on one env copy and on several), twice: with the table
# pipelines in `make test-smoke`. The fast suite keeps the in-process resume tests of tests/test_hrl.py,
# tests/test_ddqn_lstm.py and tests/test_vector_env.py.
pytestmark = pytest.mark.smoke

SIGNALS = {"ctrl-c": signal.SIGINT, "kill-9": signal.SIGKILL}
EXIT_CODES = {"ctrl-c": 130, "kill-9": -signal.SIGKILL}
TINY_CITY = ["env=tiny", "seed=3"]
# batch_size=2: learning updates from the second step on, so most of a step is the update (the Ctrl-C
# that once left a half-saved step landed there)
HRL = [*TINY_CITY, "agent.updates=15", "agent.checkpoint_every=3", "agent.batch_size=2"]
LEARNERS = {
    "hrl": ["agent=hrl", *HRL],
    "dqn_greedy": ["agent=dqn_greedy", *HRL],
    "dqn_expert": ["agent=dqn_expert", *HRL],
    "ddqn_lstm": ["env=grid_tiny", "agent=ddqn_lstm", "agent.memory=4", "agent.lstm_units=[8,4]", "agent.dense_units=[8]",
                  "agent.batch_size=4", "agent.updates=60", "agent.checkpoint_every=10"],
    "sl_encoder": ["env=cluster_single", "agent=sl_encoder", "agent.updates=96", "agent.batch_size=2",
                   "agent.dataset_clusters=4", "agent.train_every=4", "agent.checkpoint_every=10"],
    "cluster_dqn": ["env=cluster_single", "agent=cluster_dqn", "agent.updates=60", "agent.learning_starts=20",
                    "agent.batch_size=8", "agent.sl_batch_size=2", "agent.replay_capacity=200", "agent.train_every=1",
                    "agent.lr_warmup_steps=5", "agent.checkpoint_every=10"],
    "idrleca": ["env=papw_tiny", "agent=idrleca", "agent.updates=48", "agent.rollout=8", "agent.minibatch=4",
                "agent.checkpoint_every=5"],
    "ddpg": ["env=abm_tiny", "agent=ddpg", "agent.updates=30", "agent.burn_in=4", "agent.hidden=[16,16]",
             "agent.checkpoint_every=4"],
    # Learners on several env copies (env.num_envs): every copy's episode in progress is saved and restored.
    "hrl_copies": ["agent=hrl", *HRL, "env.num_envs=3"],
    "ddqn_lstm_copies": ["env=grid_tiny", "agent=ddqn_lstm", "agent.memory=4", "agent.lstm_units=[8,4]",
                         "agent.dense_units=[8]", "agent.batch_size=4", "agent.updates=40", "agent.checkpoint_every=10",
                         "env.num_envs=3"],
    "cluster_dqn_copies": ["env=cluster_single", "agent=cluster_dqn", "agent.updates=30", "agent.learning_starts=20",
                           "agent.batch_size=8", "agent.sl_batch_size=2", "agent.replay_capacity=200",
                           "agent.train_every=1", "agent.lr_warmup_steps=5", "agent.checkpoint_every=5",
                           "env.num_envs=3"],
    # The extreme-experience stop fires (its penalty scale carries over episodes), on 3 copies.
    "idrleca_copies": ["env=papw_tiny", "agent=idrleca", "agent.updates=24", "agent.rollout=8", "agent.minibatch=4",
                       "agent.stop_new_infections=3", "agent.checkpoint_every=5", "env.num_envs=3"],
    "ddpg_copies": ["env=abm_tiny", "agent=ddpg", "agent.updates=16", "agent.burn_in=4", "agent.hidden=[16,16]",
                    "agent.checkpoint_every=4", "env.num_envs=2"],
    # Two gradient steps per epoch (4 trajectories, batches of 2), so Ctrl-C can land mid-epoch.
    "rebuild": [*TINY_CITY, "rebuild.hidden=8", "rebuild.layers=1", "rebuild.scale=20", "rebuild.train_episodes=4",
                "rebuild.validation_episodes=1", "rebuild.test_episodes=1", "rebuild.batch_size=2", "rebuild.epochs=24",
                "rebuild.checkpoint_every=4"],
}
# Right after the log is written the loop starts the next step by acting; a little later it is most
# likely inside the learning update, where a Ctrl-C once left a half-saved step.
INTO_THE_NEXT_STEP = 0.03


def log_name(learner: str) -> str:
    return "rebuild_log.csv" if learner == "rebuild" else "train_log.csv"


def command(learner: str) -> str:
    return "rebuild" if learner == "rebuild" else "train"


@dataclass
class Interrupted:
    returncode: int
    stderr: str
    log_when_stopped: bytes
    resumed: subprocess.CompletedProcess
    log_when_resumed: bytes


class Runs:
    """Every run of the module, two processes at a time, in the background."""

    def __init__(self, root: Path):
        self.root, self.cache = root, root / "cache"
        self.pool = ThreadPoolExecutor(max_workers=2)
        self.references: dict[str, Future] = {name: self.pool.submit(self.reference, name) for name in LEARNERS}
        self.interrupted: dict[tuple[str, str], Future] = {
            (name, sig): self.pool.submit(self.interrupt_and_resume, name, sig) for name in LEARNERS for sig in SIGNALS}

    def args(self, learner: str) -> list[str]:
        args = [command(learner), *LEARNERS[learner], "progress=false", "plots=false"]
        city = not any(arg in args for arg in ("env=grid_tiny", "env=cluster_single", "env=papw_tiny", "env=abm_tiny"))
        return [*args, f"env.city.cache_dir={self.cache}"] if city else args

    def reference(self, learner: str) -> bytes:
        run_dir = self.root / learner / "reference"
        result = epictl(*self.args(learner), f"hydra.run.dir={run_dir}")
        assert result.returncode == 0, result.stderr
        return (run_dir / log_name(learner)).read_bytes()

    def interrupt_and_resume(self, learner: str, signal_name: str) -> Interrupted:
        run_dir = self.root / learner / signal_name
        process = subprocess.Popen([*EPICTL, *self.args(learner), f"hydra.run.dir={run_dir}"], cwd=REPO,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        log = run_dir / log_name(learner)
        deadline = time.monotonic() + 300
        while not log.is_file():  # written right after the checkpoint
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"no {log} from the run: {process.communicate()[1][-2000:]}")
            time.sleep(0.005)
        time.sleep(INTO_THE_NEXT_STEP)
        process.send_signal(SIGNALS[signal_name])
        _, stderr = process.communicate(timeout=300)
        stopped = log.read_bytes()
        resumed = epictl(*self.args(learner), f"resume={run_dir}", f"hydra.run.dir={run_dir}-resumed")
        return Interrupted(process.returncode, stderr, stopped, resumed, log.read_bytes())


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    runs = Runs(tmp_path_factory.mktemp("resume_exact"))
    yield runs
    runs.pool.shutdown(cancel_futures=True)


@pytest.mark.parametrize("signal_name", list(SIGNALS))
@pytest.mark.parametrize("learner", list(LEARNERS))
def test_interrupted_run_resumes_to_the_uninterrupted_log(learner, signal_name, runs):
    reference = runs.references[learner].result()
    run = runs.interrupted[(learner, signal_name)].result()
    assert run.returncode == EXIT_CODES[signal_name], run.stderr
    assert len(run.log_when_stopped) < len(reference), "the signal came after the run had finished: nothing was tested"
    assert run.resumed.returncode == 0, run.resumed.stderr
    assert run.log_when_resumed == reference
