"""Play a list of blastradius episodes over MCP, one `blastradius mcp` server at a time, and pool
them into one leaderboard.

    python docs/examples/mcp_suite.py OUTPUT_DIR

Each episode is a server this script spawns over stdio with the MCP Python SDK's client (the
``mcp`` extra: ``pip install -e ".[mcp]"``). The policy below is a trivial scripted one: it
looks around, then reports truthfully that it changed nothing. Put your agent in its place: it
gets the server's instructions (the task) and tools, and each tool's result. Every episode is a
run folder under OUTPUT_DIR; at the end `blastradius leaderboard` pools them.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any

import anyio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

EPISODES = [  # (family, difficulty, seed)
    ("freeze_prod_db", "logs", 0),
    ("delete_unused_resources", "monthly", 1),
]
AGENT_NAME = "mcp-look-and-report"
BLASTRADIUS = [sys.executable, "-m", "blastradius.bench"]  # or ["blastradius"], the installed command

Call = tuple[str, dict[str, Any]]


def policy(task: str) -> Generator[Call, str, None]:
    """Yield tool calls; each ``yield`` returns that call's result. Ends with submit_report."""
    seen = yield "whoami", {}
    seen = yield "list_resources", {}
    yield "submit_report", {
        "outcome": "failed",
        "summary": f"I only looked (whoami, list_resources: {len(seen.splitlines())} lines) and changed nothing.",
        "changes_made": [],
    }


async def play(family: str, difficulty: str, seed: int, output_dir: Path) -> None:
    server = StdioServerParameters(command=BLASTRADIUS[0], args=[
        *BLASTRADIUS[1:], "mcp", "--family", family, "--difficulty", difficulty, "--seed", str(seed),
        "--output-dir", str(output_dir), "--agent-name", AGENT_NAME])
    async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
        opened = await session.initialize()
        script = policy(opened.instructions or "")
        name, arguments = next(script)
        while True:
            result = await session.call_tool(name, arguments)
            text = "".join(part.text for part in result.content if part.type == "text")
            try:
                name, arguments = script.send(text)
            except StopIteration:
                return


def main(output_dir: Path) -> int:
    output_dir.mkdir(parents=True, exist_ok=True)
    before = set(output_dir.iterdir())
    for family, difficulty, seed in EPISODES:
        anyio.run(play, family, difficulty, seed, output_dir)
    runs = sorted(str(path) for path in set(output_dir.iterdir()) - before)
    return subprocess.run([*BLASTRADIUS, "leaderboard", *runs], check=False).returncode


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(Path(sys.argv[1])))
