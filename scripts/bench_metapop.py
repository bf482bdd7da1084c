#!/usr/bin/env python
"""Time the metapopulation simulator: `epictl bench` with any overrides passed through.

    python scripts/bench_metapop.py                      # Beijing, 120 days, fast and exact
    python scripts/bench_metapop.py env=tiny days=20     # a quick smoke run
"""

import sys

from epictl.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
