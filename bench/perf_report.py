"""``blastradius perf --report RUN_DIR``: what ``blastradius report`` costs on a run, in time and size.

``blastradius run`` writes the report at the end of every run, so it must stay cheap however
large the run: a run of more than `blastradius.bench.report_episodes.LARGE` episodes shows only
each agent's worst in full. This times each stage on a run folder (reading it, building the
page's content: the pooled summary, the per-family summaries, the figures and the replays of the
shown episodes; rendering the HTML) and weighs the file. The imports of jinja2 and matplotlib
are timed on their own: the first report of a process pays them, a later one does not.

Targets (from the issue; reported, not enforced), for a 10,000-episode run: under 10 s in all,
under 20 MB.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["TARGET_MB", "TARGET_SECONDS", "ReportCost", "measure", "run_cli"]

TARGET_SECONDS = 10.0
TARGET_MB = 20.0


@dataclass(frozen=True)
class ReportCost:
    """The report of one run folder, timed by stage (seconds) and weighed (MB)."""

    episodes: int
    shown: int
    listed: int
    imports_s: float
    load_s: float
    build_s: float
    render_s: float
    total_s: float
    cpu_s: float  # this process's CPU time over the whole: what the report costs on a machine of its own
    size_mb: float


def measure(run_dir: Path) -> ReportCost:
    """Write the report of ``run_dir`` into a temporary folder, timing each stage.

    Raises:
        MissingExtra: jinja2 or matplotlib is not installed.
        RunFolderError: ``run_dir`` is not a run folder.
    """
    from .report import render, require_extra

    started, cpu = time.perf_counter(), time.process_time()
    require_extra()
    import matplotlib.figure  # noqa: F401 - the heavy import, timed here rather than inside build

    from . import report_figures  # noqa: F401
    imported = time.perf_counter()
    from .report import build
    from .runs import load_run

    run = load_run(run_dir)
    loaded = time.perf_counter()
    context = build([run])
    built = time.perf_counter()
    text = render(context)
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "report.html"
        output.write_text(text, encoding="utf-8")
        size = output.stat().st_size
    done = time.perf_counter()
    return ReportCost(len(run.episodes), len(context["episodes"]), len(context["listed"]), imported - started,
                      loaded - imported, built - loaded, done - built, done - started, time.process_time() - cpu,
                      size / 1e6)


def run_cli(run_dir: Path, as_json: bool = False) -> int:
    """Measure and print a line (or JSON); 0 whether or not the targets are met: this reports."""
    cost = measure(run_dir)
    if as_json:
        print(json.dumps({**asdict(cost), "target_seconds": TARGET_SECONDS, "target_mb": TARGET_MB}, indent=2))
        return 0
    print(f"report of {run_dir} ({cost.episodes} episodes; {cost.shown} shown in full, {cost.listed} listed): "
          f"{cost.total_s:.1f} s (target < {TARGET_SECONDS:g} s; CPU {cost.cpu_s:.1f} s), {cost.size_mb:.1f} MB "
          f"(target < {TARGET_MB:g} MB)")
    print(f"imports {cost.imports_s:.1f} s, reading the run {cost.load_s:.1f} s, building {cost.build_s:.1f} s "
          f"(summaries, figures, replays), rendering and writing {cost.render_s:.1f} s")
    return 0
