"""``python -m bench.forwarding``: see ``bench/forwarding/bench.py``."""

import sys

from bench.forwarding.bench import main

sys.exit(main())
