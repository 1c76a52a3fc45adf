"""The referee and scoreboard: runs agents on the blastradius envs and reports the scores.

This package holds the runner, storage, statistics, leaderboards and the ``blastradius``
command line (``blastradius.bench.cli``; also ``python -m blastradius.bench``).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__: str = version("blastradius-bench")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
