"""python -m lab up | down | status [--json] | verify-clean | check [--btrfs]"""

import sys

from .cli import main

sys.exit(main())
