"""`blastradius report RUN_DIR...`: the HTML page of a real run, read back with an HTML parser.

A small run (two families, four agents, one seed) is made once with the command line, which
writes ``report.html`` into its folder. The page must show every agent and family with the
numbers of ``summary.json`` and ``leaderboard.md``, every episode's timeline with its destructive
steps marked as `blastradius show` marks them, and stand alone: nothing it loads or links to
is outside the file.
"""

from __future__ import annotations

import json
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from blastradius.bench import report
from blastradius.bench.cli import main
from blastradius.bench.report_episodes import worst_first
from blastradius.bench.runs import load_run
from blastradius.bench.step_marks import replay, step_marks
from blastradius.bench.storage import RunFolder, read_episodes

from llm_server import FakeLLM, text, tool_call

FAMILIES = ("freeze_prod_db", "wrong_replica_wipe")
AGENTS = ("careful", "reckless", "liar", "noop")


def _folder(output: Path) -> Path:
    [folder] = [path for path in output.iterdir() if path.is_dir()]
    return folder


def _run(output: Path, *argv: str) -> Path:
    args = ["run", "--seeds", "1", "--output-dir", str(output), "--quiet", *argv]
    assert main(args) == 0
    return _folder(output)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    argv = [part for agent in AGENTS for part in ("--agent", agent)]
    argv += [part for family in FAMILIES for part in ("--family", family)]
    return _run(tmp_path_factory.mktemp("report"), *argv)


class Page(HTMLParser):
    """What the tests read of the page: tables (rows of cells, each with its ``data-sort``), the
    episodes' ``<details>`` with their step rows, headings, and every URL the page refers to."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[tuple[str, str]]]] = {}
        self.h3: list[str] = []
        self.urls: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.links: list[dict[str, str]] = []
        self.episodes: dict[str, list[list[str]]] = {}  # key -> each step row's tags
        self._table: list[list[tuple[str, str]]] | None = None
        self._cell: list[str] | None = None
        self._sort = ""
        self._episode: str | None = None
        self._in_steps = False
        self._heading: list[str] | None = None
        self._tag_text: list[str] | None = None
        self._tables = 0
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        for name in ("src", "href", "action", "data", "poster", "srcset"):
            if name in found:
                self.urls.append((tag, name, found[name]))
        if tag == "link":
            self.links.append(found)
        if tag == "details" and "episode" in found.get("class", "").split():
            self._episode = found["data-key"]
            self.episodes[self._episode] = []
        if tag == "table":
            self._tables += 1
            self._table = self.tables.setdefault(found.get("id") or f"table-{self._tables}", [])
            self._in_steps = "steps" in found.get("class", "").split()
        if tag == "tr" and self._table is not None:
            self._table.append([])
            if self._in_steps and self._episode is not None:
                self.episodes[self._episode].append([])
        if tag in ("td", "th"):
            self._cell, self._sort = [], found.get("data-sort", "")
        if tag == "h3":
            self._heading = []
        if tag == "span" and "tag" in found.get("class", "").split():
            self._tag_text = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self._table[-1].append(("".join(self._cell).strip(), self._sort))
            self._cell = None
        if tag == "table":
            self._table, self._in_steps = None, False
        if tag == "h3" and self._heading is not None:
            self.h3.append("".join(self._heading).strip())
            self._heading = None
        if tag == "span" and self._tag_text is not None:
            if self._in_steps and self._episode is not None:
                self.episodes[self._episode][-1].append("".join(self._tag_text))
            self._tag_text = None

    def handle_data(self, data: str) -> None:
        for part in (self._cell, self._heading, self._tag_text):
            if part is not None:
                part.append(data)


def _page(path: Path) -> Page:
    return Page(path.read_text(encoding="utf-8"))


def _markdown_rows(text: str) -> list[list[str]]:
    """The first markdown table of ``text``, header and body, each row as its cells."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
    return [rows[0]] + [row for row in rows[1:] if not set("".join(row)) <= set("-:")]


def test_the_run_writes_its_report_with_every_episode(run: Path) -> None:
    assert (run / "report.html").is_file()
    page = _page(run / "report.html")
    assert set(page.episodes) == {record["key"] for record in read_episodes(run)}


def test_the_leaderboard_has_the_numbers_of_summary_json_and_leaderboard_md(run: Path) -> None:
    page = _page(run / "report.html")
    table = page.tables["leaderboard-table"]
    header, body = [text for text, _ in table[0]], table[1:]
    assert [[text for text, _ in row] for row in table] == _markdown_rows((run / "leaderboard.md").read_text())
    summary = json.loads((run / "summary.json").read_text())
    assert sorted(row[0][0] for row in body) == sorted(AGENTS)
    for row in body:
        entry = summary[row[0][0]]
        cells = dict(zip(header, row, strict=True))
        assert float(cells["Safe success"][1]) == entry["safe_success_rate"]["value"]
        assert float(cells["Damage"][1]) == entry["collateral_damage_mean"]["value"]
        assert float(cells["Lied"][1]) == entry["honesty_flag_rate"]["value"]
        assert int(cells["Episodes"][1]) == entry["episodes"]
        low, high = entry["safe_success_rate"]["ci_low"], entry["safe_success_rate"]["ci_high"]
        assert cells["Safe success"][0].endswith(f"[{low:.2f}, {high:.2f}]")


def test_every_family_has_its_table_with_every_agent(run: Path) -> None:
    page = _page(run / "report.html")
    for family in FAMILIES:
        assert family in page.h3
    family_tables = [rows for rows in page.tables.values() if rows and rows[0][0][0] == "Agent"
                     and any(text == "Lied" for text, _ in rows[0]) and len(rows[0]) < 12]
    assert len(family_tables) >= len(FAMILIES)
    for rows in family_tables[-len(FAMILIES):]:
        assert sorted(row[0][0] for row in rows[1:]) == sorted(AGENTS)


def test_every_episode_has_its_timeline_with_the_destructive_steps_marked(run: Path) -> None:
    page = _page(run / "report.html")
    folder = RunFolder(run)
    marked = 0
    for record in read_episodes(run):
        trajectory = folder.trajectory(record["key"])
        rows = page.episodes[record["key"]][1:]  # the steps table's header row first
        assert len(rows) == len(trajectory["steps"]), record["key"]
        marks = step_marks(run, record, trajectory)
        for number, (tags, mark) in enumerate(zip(rows, marks.steps, strict=True), 1):
            assert ("DESTRUCTIVE" in tags) == ("DESTRUCTIVE" in mark.tags), (record["key"], number)
            marked += "DESTRUCTIVE" in tags
    assert marked, "the reckless agent's drops are marked"


def test_chaos_faults_are_shown_as_such(run: Path) -> None:
    html = (run / "report.html").read_text(encoding="utf-8")
    struck = 0
    for record in read_episodes(run):
        for fault in replay(run, record, RunFolder(run).trajectory(record["key"])).faults:
            struck += 1
            assert f"{fault.kind} on {', '.join(fault.targets)}: +{fault.start} to" in html
    assert struck, "chaos 1 schedules faults in these worlds"
    assert "Chaos faults (in both runs, never charged to the agent)" in html


def test_an_llm_episode_shows_the_models_own_words(llm_server: FakeLLM, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    llm_server.push(text("First I will find out who I am."), tool_call("whoami"))  # then the server's report
    assert main(["run", "--agent", "llm", "--agent-kwarg", f"base_url={llm_server.url}",
                 "--agent-kwarg", "model=scripted-model", "--family", FAMILIES[0], "--seeds", "1",
                 "--output-dir", str(tmp_path), "--quiet"]) == 0
    html = (_folder(tmp_path) / "report.html").read_text(encoding="utf-8")
    transcript = html[html.index("<summary>Transcript</summary>"):]
    assert "assistant  First I will find out who I am." in transcript
    assert "-&gt; whoami {}" in transcript


def test_the_page_loads_nothing_from_outside(run: Path) -> None:
    page = _page(run / "report.html")
    for tag, name, value in page.urls:
        assert not value.lower().startswith(("http:", "https:", "//", "ftp:", "data:")), (tag, name, value)
        assert tag not in ("script", "img", "iframe", "link"), (tag, name, value)
    assert not page.links, "no stylesheet or other link element at all"


def test_the_no_op_run_is_the_scorers_and_differs_where_the_agent_did_harm(run: Path) -> None:
    folder = RunFolder(run)
    for record in read_episodes(run):
        trajectory = folder.trajectory(record["key"])
        done = replay(run, record, trajectory)
        assert done.no_op_health is not None, done.marks.note
        ours = [tuple(point) for point in trajectory["health_timeline"]]
        if record["agent"] == "noop":  # doing nothing is the no-op run
            assert list(done.no_op_health) == ours, record["key"]
        elif record["score"]["damage"]["downtime"] > 0:
            assert list(done.no_op_health) != ours, record["key"]


def test_the_same_runs_give_the_same_page(run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "again.html"
    assert main(["report", str(run), "-o", str(output)]) == 0
    assert str(output) in capsys.readouterr().out
    assert output.read_bytes() == (run / "report.html").read_bytes()


def test_a_large_run_shows_each_agents_worst_and_lists_the_rest(run: Path) -> None:
    records = read_episodes(run)
    context = report.build([load_run(run)], large=len(records) - 1, worst=1)
    shown = context["episodes"]
    assert sorted(view.record["agent"] for view in shown) == sorted(AGENTS)
    assert len(context["listed"]) == len(records) - len(AGENTS)
    worst = max((record for record in records if record["agent"] == "reckless"),
                key=lambda record: record["score"]["damage"]["total"])
    assert worst["key"] in {view.key for view in shown}
    html = report.render(context)
    listed = {record["key"] for record in records} - {view.key for view in shown}
    assert all(f"{key}  completed" in html for key in listed)


def test_the_worst_come_first_and_equally_bad_ones_take_turns_by_family() -> None:
    def record(family: str, seed: int, damage: float, safe: bool = False) -> dict[str, Any]:
        return {"key": f"{family}/x/{seed}/0/a", "family": family, "agent": "a", "status": "completed",
                "score": {"damage": {"total": damage}, "safe_success": safe, "truthfulness": {}}}

    records = [record("b", 0, 0.0), record("a", 1, 0.0), record("a", 0, 0.0), record("b", 1, 5.0),
               record("a", 2, 0.0, safe=True)]
    assert [r["key"] for r in worst_first(records)] == [
        "b/x/1/0/a",  # the most damage
        "a/x/0/0/a", "b/x/0/0/a", "a/x/1/0/a",  # failed, no damage: each family's first, then the next
        "a/x/2/0/a"]  # a safe success last


def test_several_runs_are_pooled_as_the_leaderboard_pools_them(run: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    other = _run(tmp_path / "other", "--seeds", "1-1", "--agent", "careful", "--agent", "noop",
                 "--family", FAMILIES[0])
    capsys.readouterr()
    assert main(["leaderboard", str(run), str(other)]) == 0
    pooled = _markdown_rows(capsys.readouterr().out)
    output = tmp_path / "pooled.html"
    assert main(["report", str(run), str(other), "-o", str(output)]) == 0
    table = _page(output).tables["leaderboard-table"]
    assert [[text for text, _ in row] for row in table] == pooled


def test_a_folder_that_is_no_run_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path), "-o", str(tmp_path / "r.html")]) == 2
    assert "is not a run folder" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()
    assert main(["report", str(tmp_path), "-o", str(tmp_path / "nowhere" / "r.html")]) == 2
    assert "its folder does not exist; pass -o with a writable path" in capsys.readouterr().err


def test_without_the_extra_report_says_how_to_install_it_and_run_hints_on_stderr(
        run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "jinja2", None)  # an import of it now fails, as when it is not installed
    assert main(["report", str(run), "-o", str(tmp_path / "r.html")]) == 2
    assert "pip install -e '.[report]'" in capsys.readouterr().err
    assert main(["run", "--agent", "noop", "--family", FAMILIES[0], "--seeds", "1", "--json", "--quiet",
                 "--output-dir", str(tmp_path / "runs")]) == 0
    out, err = capsys.readouterr()
    summary: dict[str, Any] = json.loads(out)  # stdout is the summary alone
    assert list(summary) == ["noop"]
    assert "pip install -e '.[report]'" in err
    assert not (_folder(tmp_path / "runs") / "report.html").exists()


def test_run_writes_the_report_and_json_keeps_stdout_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--agent", "noop", "--family", FAMILIES[0], "--seeds", "1", "--quiet",
                 "--output-dir", str(tmp_path / "text")]) == 0
    folder = _folder(tmp_path / "text")
    assert f"report: {folder / 'report.html'}" in capsys.readouterr().out.splitlines()
    assert main(["run", "--agent", "noop", "--family", FAMILIES[0], "--seeds", "1", "--json", "--quiet",
                 "--output-dir", str(tmp_path / "json")]) == 0
    out, err = capsys.readouterr()
    json.loads(out)
    assert "report" not in err
    assert (_folder(tmp_path / "json") / "report.html").is_file()


def test_no_report_on_the_command_line_or_in_a_run_file_writes_none(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "quick.toml").write_text(f'family = "{FAMILIES[0]}"\nseeds = 1\nno_report = true\n\n'
                                         '[agents.idle]\nspec = "noop"\n')
    for argv in (["--agent", "noop", "--family", FAMILIES[0], "--seeds", "1", "--no-report"],
                 ["--config", str(tmp_path / "quick.toml")]):
        output = tmp_path / f"runs{len(argv)}"
        assert main(["run", *argv, "--quiet", "--output-dir", str(output)]) == 0
        out = capsys.readouterr().out
        assert "report:" not in out and "run folder:" in out
        assert {path.name for path in _folder(output).iterdir()} >= {"episodes.jsonl", "summary.json"}
        assert not (_folder(output) / "report.html").exists()
