"""Packaging: the import names, the package list, and the command line's entry points.

The three folders envs/, agents/ and bench/ install as ``blastradius.envs``,
``blastradius.agents`` and ``blastradius.bench``; no top-level ``envs``, ``agents`` or ``bench``
may be importable. The subprocess tests run with a temporary directory as the working directory
so that the repository folder is not on ``sys.path`` (``python -m pytest`` puts the working
directory there, which would make ``import envs`` succeed in this process).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TOP_FOLDERS = ("envs", "agents", "bench")
NAMESPACE = "blastradius"


def _pyproject() -> dict:
    with (REPO / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)


def _package_folders() -> set[str]:
    """Dotted ``blastradius.*`` names of every folder under the three roots with an __init__.py."""
    names: set[str] = set()
    for top in TOP_FOLDERS:
        root = REPO / top
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d != "__pycache__" and not d.startswith(".")]
            if "__init__.py" in filenames:
                rel = Path(dirpath).relative_to(REPO)
                names.add(".".join((NAMESPACE, *rel.parts)))
    return names


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH")}
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_packages_list_matches_folders() -> None:
    listed = _pyproject()["tool"]["setuptools"]["packages"]
    assert len(listed) == len(set(listed)), "duplicate entries in [tool.setuptools] packages"
    assert set(listed) == _package_folders(), (
        "[tool.setuptools] packages in pyproject.toml must list exactly the folders under "
        f"{', '.join(TOP_FOLDERS)} that hold an __init__.py, as blastradius.* names"
    )


def test_package_dir_maps_every_package_to_its_folder() -> None:
    setuptools_cfg = _pyproject()["tool"]["setuptools"]
    package_dir: dict[str, str] = setuptools_cfg["package-dir"]
    for package in setuptools_cfg["packages"]:
        # setuptools resolves a package through its longest mapped prefix.
        parts = package.split(".")
        for cut in range(len(parts), 0, -1):
            prefix = ".".join(parts[:cut])
            if prefix in package_dir:
                folder = Path(package_dir[prefix], *parts[cut:])
                break
        else:
            pytest.fail(f"{package} has no package-dir mapping")
        assert folder.parts[0] in TOP_FOLDERS, f"{package} maps outside the three folders"
        assert (REPO / folder / "__init__.py").is_file(), f"{package} -> {folder}/ has no __init__.py"
        assert package == ".".join((NAMESPACE, *folder.parts)), f"{package} -> {folder}/"


def test_mypy_sees_the_packages_by_their_installed_names() -> None:
    """mypy cannot follow the editable install's import hook: it reads the packages through
    .mypy/blastradius/, one link per top-level folder, and checks the packages its config lists."""
    pyproject = _pyproject()
    mypy_cfg = pyproject["tool"]["mypy"]
    folders = {name: folder for name, folder in pyproject["tool"]["setuptools"]["package-dir"].items()
               if name.count(".") == 1}  # blastradius.envs -> envs, and so on
    assert set(mypy_cfg["packages"]) == set(folders)
    links = REPO / mypy_cfg["mypy_path"].removeprefix("$MYPY_CONFIG_FILE_DIR/") / NAMESPACE
    assert {link.name for link in links.iterdir()} == {name.split(".")[1] for name in folders}
    for name, folder in folders.items():
        link = links / name.split(".")[1]
        assert link.is_symlink() and link.resolve() == (REPO / folder).resolve(), link


def test_blastradius_is_a_namespace() -> None:
    assert not (REPO / NAMESPACE / "__init__.py").exists()
    for top in TOP_FOLDERS:
        assert (REPO / top / "__init__.py").is_file()


@pytest.mark.parametrize("name", TOP_FOLDERS)
def test_no_top_level_package(name: str, tmp_path: Path) -> None:
    code = (
        "import importlib\n"
        "try:\n"
        f"    importlib.import_module({name!r})\n"
        "except ModuleNotFoundError as exc:\n"
        f"    assert exc.name == {name!r}, exc\n"
        "else:\n"
        f"    raise SystemExit('top-level {name} is importable')\n"
    )
    result = _run("-c", code, cwd=tmp_path)
    assert result.returncode == 0, result.stderr or result.stdout


def test_blastradius_packages_import(tmp_path: Path) -> None:
    code = (
        "import blastradius, blastradius.envs, blastradius.agents, blastradius.bench\n"
        "assert getattr(blastradius, '__file__', None) is None, blastradius.__file__\n"
    )
    result = _run("-c", code, cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_version(tmp_path: Path) -> None:
    expected = _pyproject()["project"]["version"]
    assert version("blastradius-bench") == expected, "installed metadata is stale: reinstall"
    result = _run("-m", "blastradius.bench", "--version", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"blastradius {expected}\n"


def test_unknown_subcommand_is_a_usage_error(tmp_path: Path) -> None:
    result = _run("-m", "blastradius.bench", "no-such-command", cwd=tmp_path)
    assert result.returncode == 2
    assert "invalid choice: 'no-such-command'" in result.stderr
    assert result.stderr.startswith("usage: blastradius")


def test_no_subcommand_prints_help_and_exits_2(tmp_path: Path) -> None:
    result = _run("-m", "blastradius.bench", cwd=tmp_path)
    assert result.returncode == 2
    assert "usage: blastradius" in result.stderr
    assert "perf" in result.stderr
