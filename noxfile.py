"""The tiers and stacks CI runs (.ci/run), one session each.

- `full`: the full tier, every test (`pytest --full`), in the environment it is run from: the one the
  README's test command built. The quick tier (plain `pytest`) is its subset.
- `oldest` and `newest`: the quick tier on the ends of the supported range (pyproject.toml), each installed
  before keras_cnn_ref, which must keep them.
- `docs`: the documentation site, built in strict mode (a broken link or reference fails it).
- `lint`: ruff's linter and formatter, as configured in pyproject.toml.
"""

import subprocess

import nox

nox.options.default_venv_backend = "venv"

OLDEST = {"keras": "3.12", "jax": "0.8"}  # the lower ends of pyproject.toml's ranges
NEWEST = {"keras": "3.15", "jax": "0.12"}  # the upper ends
NEWEST_PYTHON = "3.13"  # the newest CPython this machine and the newest JAX have
EXTRAS = nox.project.load_toml("pyproject.toml")["project"]["optional-dependencies"]

# Fails unless each package's installed version starts with the given one.
KEPT = """
import importlib.metadata, sys
found = {name: importlib.metadata.version(name) for name in sys.argv[1::2]}
wanted = dict(zip(sys.argv[1::2], sys.argv[2::2]))
print("installed:", ", ".join(f"{name} {version}" for name, version in found.items()))
sys.exit(any(not found[name].startswith(wanted[name] + ".") for name in wanted))
"""


@nox.session(venv_backend="none")
def full(session: nox.Session) -> None:
    """Every test, in the current environment (`pip install -e '.[test]'` first); `-- ARGS` go to pytest."""
    session.run("pytest", "--full", *session.posargs)


def _quick_on(session: nox.Session, versions: dict[str, str]) -> None:
    session.install(*(f"{name}=={version}.*" for name, version in versions.items()))
    session.install("-e", ".[test]")  # as a user installs into an environment they have: it must keep both
    session.run("python", "-c", KEPT, *(part for item in versions.items() for part in item))
    session.run("pytest", *session.posargs)


@nox.session
def oldest(session: nox.Session) -> None:
    """The quick tier on Keras 3.12 and JAX 0.8, in an environment that held them first."""
    _quick_on(session, OLDEST)


def _interpreter(version: str) -> str:
    """Python `version`'s interpreter: pyenv's where pyenv has it (as CI's machines do), else `python{version}`."""
    try:
        prefix = subprocess.run(["pyenv", "prefix", version], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return version
    return f"{prefix.strip()}/bin/python{version}"


@nox.session(python=_interpreter(NEWEST_PYTHON))
def newest(session: nox.Session) -> None:
    """The quick tier on the newest Python, Keras and JAX in range, in an environment that held them first."""
    _quick_on(session, NEWEST)


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site, built in strict mode into site/."""
    session.install(*EXTRAS["docs"])
    session.run("mkdocs", "build", "--strict", "--site-dir", "site", env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session
def lint(session: nox.Session) -> None:
    """ruff's linter and its formatter's check, over the whole tree."""
    session.install(*EXTRAS["lint"])
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
