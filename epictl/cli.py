"""`epictl <command> [hydra overrides]`: dispatch only; heavy imports wait until a command runs."""

from __future__ import annotations

import sys

COMMANDS = {
    "train": "train a learning agent (checkpoints, resume=<run dir>)",
    "eval": "evaluate an agent over seeds and write metrics, summary, curves and plots",
    "rebuild": "train the GRU network rebuilding E, Iu, R from It, Ih, D (checkpoint=<run dir>: score one)",
    "table": "build a paper-style table from run folders: epictl table runs='[outputs/...]'",
    "bench": "time the simulator (fast, exact) against the plain NumPy reference",
    "calibrate": "fit a city to confirmed cases or to a paper's blank-control rows: epictl calibrate env=beijing "
                 "target=xinfadi | target=kdd21_beijing_no_medical",
}

USAGE = """usage: epictl <command> [overrides ...] [-m]

Commands:
{commands}

Overrides are Hydra's: group choices (env=shanghai agent=expert_population experiment=kdd21_exp2)
and values (seeds=10 env.sim.mobility=exact). -m runs a sweep over comma-separated values, e.g.
  epictl eval -m env=beijing,shanghai agent=no_medical,expert_population seed=0,1
Groups: env, agent, rebuild, reward, budget, experiment (see conf/).
Runs write outputs/YYYY-MM-DD/HH-MM-SS_<env>_<agent>/ (rebuild: ..._rebuild_<env>/).
`epictl <command> --cfg job` prints the composed config; hydra/launcher=submitit_slurm sends a sweep to SLURM.
"""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE.format(commands="\n".join(f"  {name:<9} {text}" for name, text in COMMANDS.items())))
        return 0
    command, overrides = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"epictl: error: unknown command {command!r}; choose one of {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    from epictl.app import run_command

    return run_command(command, overrides)


if __name__ == "__main__":
    sys.exit(main())
