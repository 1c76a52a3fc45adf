"""Resolve a scenario family from what a user types: a built-in id, ``path/to/file.py:NAME``,
``package.module:NAME``, or an entry point in the group ``blastradius.families``.

A custom family is written with the same API the built-in ones use (`Family`, `Scenario`,
`Check`, `tool_call`) and runs through the same env, scoring and runner.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import sys
import zlib
from pathlib import Path
from typing import Any

from ..errors import did_you_mean
from . import FAMILIES
from .base import Family

__all__ = ["ENTRY_POINT_GROUP", "FamilySpecError", "resolve_family", "spec_of"]

ENTRY_POINT_GROUP = "blastradius.families"
# The module a family file is loaded as: this prefix and a checksum of its path (one module a file).
_FILE_MODULE = "blastradius_user_family_"


class FamilySpecError(ValueError):
    """A family spec that names no loadable Family; the message says what was tried."""


def resolve_family(spec: str) -> Family:
    if spec in FAMILIES:
        return FAMILIES[spec]
    if ":" in spec:
        where, _, name = spec.rpartition(":")
        module = _from_file(Path(where), spec) if where.endswith(".py") else _from_module(where, spec)
        return _family(module, name, spec)
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry.name == spec:
            return _checked(entry.load(), spec)
    raise FamilySpecError(
        f"unknown family {spec!r}: not a built-in ({', '.join(FAMILIES)}), not path/to/file.py:NAME or "
        f"module:NAME, and no entry point of that name in group '{ENTRY_POINT_GROUP}'."
        f"{did_you_mean(spec, FAMILIES)}")


def spec_of(family: Family) -> str | None:
    """A spec that `resolve_family` turns into ``family`` (an equal one) in any process: its
    id for a built-in, ``module:NAME`` or ``path/to/file.py:NAME`` (the path absolute) for a
    family bound to a name at the top level of the module its ``build`` is defined in. None when
    no spec names it: one made in ``__main__`` (which another process cannot import), or away
    from its ``build``. What lets an env's Gymnasium spec hold a family as JSON.
    """
    if FAMILIES.get(family.id) == family:
        return family.id
    module = sys.modules.get(getattr(family.build, "__module__", None) or "")
    if module is None or module.__name__ == "__main__":
        return None
    name = next((name for name, value in vars(module).items() if isinstance(value, Family) and value == family),
                None)
    if name is None:
        return None
    path = getattr(module, "__file__", None)
    if module.__name__.startswith(_FILE_MODULE) and path:
        return f"{Path(path).resolve()}:{name}"
    return f"{module.__name__}:{name}"


def _from_module(name: str, spec: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise FamilySpecError(f"family {spec!r}: cannot import module {name!r}: {exc}") from exc


def _from_file(path: Path, spec: str) -> Any:
    if not path.is_file():
        raise FamilySpecError(f"family {spec!r}: no file {str(path)!r}")
    module_name = f"{_FILE_MODULE}{zlib.crc32(str(path.resolve()).encode()):08x}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    loader_spec = importlib.util.spec_from_file_location(module_name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise FamilySpecError(f"family {spec!r}: cannot load {str(path)!r} as Python")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[module_name] = module
    loader_spec.loader.exec_module(module)
    return module


def _family(module: Any, name: str, spec: str) -> Family:
    if not hasattr(module, name):
        names = [n for n in dir(module) if isinstance(getattr(module, n), Family)]
        raise FamilySpecError(f"family {spec!r}: {module.__name__} has no {name!r}; Family objects in it: "
                              f"{', '.join(names) or 'none'}")
    return _checked(getattr(module, name), spec)


def _checked(value: Any, spec: str) -> Family:
    if not isinstance(value, Family):
        raise FamilySpecError(f"family {spec!r} is a {type(value).__name__}, not a "
                              "blastradius.envs.scenarios.Family")
    if value.id in FAMILIES and FAMILIES[value.id] is not value:
        raise FamilySpecError(f"family {spec!r} reuses the built-in id {value.id!r}; give it an id of its own")
    return value
