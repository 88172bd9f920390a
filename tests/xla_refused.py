"""A pytest plugin: a whole session on `keras_cnn_ref.plugin`, with XLA's window ops refused.

`python tools/keras_own_tests.py` runs Keras's own convolution and pooling
tests under it (`-p tests.xla_refused`): any Keras op the plugin left on XLA
fails them (`compat.model_level.xla_window_ops_refuse`).
"""

from __future__ import annotations

import contextlib

_session = contextlib.ExitStack()


def pytest_configure(config) -> None:
    from keras_cnn_ref import plugin
    from keras_cnn_ref.conformance.model_level import xla_window_ops_refuse

    config.addinivalue_line("markers", "requires_trainable_backend: Keras's own mark (its conftest.py's)")
    _session.enter_context(plugin.enabled())
    _session.enter_context(xla_window_ops_refuse())


def pytest_unconfigure(config) -> None:
    _session.close()
