import sys

from epictl.cli import main

sys.exit(main())
