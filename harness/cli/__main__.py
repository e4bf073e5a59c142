"""`python -m harness.cli` = the `harness` console script."""

import sys

from harness.cli import main

sys.exit(main())
