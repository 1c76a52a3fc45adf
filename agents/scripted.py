"""What the scripted ``careful`` baseline runs on (and the ``liar``, through it): a table of its
family procedures, and driving a procedure's script one observation at a time.

A scripted baseline keeps one procedure per family, the ``procedure`` function of a module named
after the family id; the procedure returns a generator script that yields tool calls and is sent
each call's observation. Like the baselines, it sees only observations: it imports nothing of
the world. (The oracles, ``reference`` and ``reckless``, have no procedures: they play the
family's own scripted paths, `blastradius.agents.reference`.)
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from types import ModuleType
from typing import Any

__all__ = ["advance", "procedures"]


def procedures(*modules: ModuleType) -> dict[str, Callable[..., Any]]:
    """Family id -> the ``procedure`` of each of ``modules``, a module named after its family
    (``...careful.freeze_prod_db`` -> ``"freeze_prod_db"``)."""
    return {module.__name__.rpartition(".")[2]: module.procedure for module in modules}


def advance(script: Generator[dict[str, Any], str, None], observation: str, first: bool,
            ended: dict[str, Any]) -> dict[str, Any]:
    """The script's next call. On the ``first`` observation (the briefing itself) the script is
    started; after that it is sent ``observation``. ``ended`` once the script has returned."""
    try:
        return next(script) if first else script.send(observation)
    except StopIteration:
        return ended
