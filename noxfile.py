"""The ends of the supported range (pyproject.toml): `nox -s oldest` runs the smoke subset on the oldest
Keras and JAX, installed before keras_cnn_ref, and checks that installing keras_cnn_ref kept them.

The newest versions get the whole suite from the README's test command, which CI runs first (.ci/run).
"""

import nox

nox.options.default_venv_backend = "venv"

OLDEST = {"keras": "3.12", "jax": "0.8"}  # the lower ends of pyproject.toml's ranges

# Fails unless each package's installed version starts with the given one.
KEPT = """
import importlib.metadata, sys
found = {name: importlib.metadata.version(name) for name in sys.argv[1::2]}
wanted = dict(zip(sys.argv[1::2], sys.argv[2::2]))
print("installed:", ", ".join(f"{name} {version}" for name, version in found.items()))
sys.exit(any(not found[name].startswith(wanted[name] + ".") for name in wanted))
"""


@nox.session
def oldest(session: nox.Session) -> None:
    """The smoke subset (`pytest -m smoke`) on Keras 3.12 and JAX 0.8, in an environment that held them first."""
    session.install(*(f"{name}=={version}.*" for name, version in OLDEST.items()))
    session.install("-e", ".[test]")  # as a user installs into an environment they have: it must keep both
    session.run("python", "-c", KEPT, *(part for item in OLDEST.items() for part in item))
    session.run("pytest", "-m", "smoke", *session.posargs)
