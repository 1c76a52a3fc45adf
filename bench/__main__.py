"""``python -m blastradius.bench``: the same as the ``blastradius`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
