"""The README's and docs' code blocks, run the way a new user runs them (Sybil collects them; see conftest.py).

Each block runs on its own, in a fresh copy of the project (the files git
would commit), with KERAS_BACKEND unset and an empty Keras home, as on a
machine that has never run Keras:

- a Python block in a fresh interpreter (`>>>` blocks through `python -m doctest`);
- a bash block in `bash -e`, with this environment's scripts (`keras-cnn-ref`) first on PATH.

A block that is not run says why in a comment just above it, in Sybil's
syntax, `<!-- skip: next "the reason" -->`, and pytest reports it as skipped
with that reason. Each block reads its own comment, rather than Sybil's skip
parser keeping state from one block to the next: pytest-xdist runs a
document's blocks in any order, on any worker. Output samples and other text
are fenced as `text`.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCUMENTS = ["README.md", "docs/*.md", "docs/*/*.md"]
LANGUAGES = ("python", "bash", "text")  # every fenced block names one; the first two run


def project_files() -> list[str]:
    """The files a fresh clone of this working tree holds: tracked ones, and new ones not ignored."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


def _fresh_copy(folder: pathlib.Path) -> pathlib.Path:
    project = folder / "keras-cnn-ref"
    for name in project_files():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, project / name)
    return project


def _user_environment(folder: pathlib.Path) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if key != "KERAS_BACKEND"}
    scripts = os.path.dirname(sys.executable)  # this environment's python and keras-cnn-ref, as if activated
    return {
        **environment,
        "PATH": f"{scripts}{os.pathsep}{environment.get('PATH', '')}",
        "KERAS_HOME": str(folder / "keras-home"),
    }


def _run(example, command: list[str], suffix: str, timeout: int) -> None:
    if (reason := skip_reason(example)) is not None:
        pytest.skip(reason)
    with tempfile.TemporaryDirectory() as temporary:
        folder = pathlib.Path(temporary)
        project = _fresh_copy(folder)
        block = folder / f"block{suffix}"
        block.write_text(example.parsed)
        result = subprocess.run(
            [*command, str(block)],
            cwd=project,
            env=_user_environment(folder),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    if result.returncode:
        output = (result.stdout + result.stderr).strip().splitlines()
        raise AssertionError(
            f"{example.path}, line {example.line}: the block exited with status "
            f"{result.returncode}:\n" + "\n".join(output[-40:])
        )


SKIP = re.compile(r'<!-- skip: next "(.+?)" -->')


def skip_reason(example) -> str | None:
    """The reason in the skip comment among the two lines above the block, if there is one."""
    before = "\n".join(example.document.text[: example.start].rstrip().splitlines()[-2:])
    found = SKIP.search(before)
    return found.group(1) if found else None


def is_quick(example) -> bool:
    """A block of the quick tier: all but those that run and build an environment of their own."""
    return "python3 -m venv" not in example.parsed or skip_reason(example) is not None


def run_python(example) -> None:
    """Sybil's evaluator for Python blocks."""
    if example.parsed.lstrip().startswith(">>>"):
        _run(example, [sys.executable, "-m", "doctest", "-o", "NORMALIZE_WHITESPACE", "-o", "ELLIPSIS"], ".txt", 600)
    else:
        _run(example, [sys.executable], ".py", 600)


def run_bash(example) -> None:
    """Sybil's evaluator for bash blocks."""
    _run(example, ["bash", "-e"], ".sh", 1200)
