"""``python -m benchmarks [--sizes 64,1M,16M] [--modes ...] [--quick]``: see RESULTS.md."""

import sys

from corelosses._tools.bench import main

from . import RESULTS

if __name__ == "__main__":
    sys.exit(main(default_out=RESULTS))
