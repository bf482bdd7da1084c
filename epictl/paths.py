"""Where epictl finds its config tree (`EPICTL_CONF` overrides the repository's conf/)."""

import os
from pathlib import Path

CONF_DIR = Path(os.environ.get("EPICTL_CONF", Path(__file__).resolve().parents[1] / "conf"))
