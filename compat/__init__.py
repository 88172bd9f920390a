"""The conformance suite: do the conv and pooling layers, and the plugin, behave exactly like built-in Keras?

This folder installs as `keras_cnn_ref.compat`. `keras-cnn-ref check` runs it
from the command line, and `pytest compat` runs the same cases.
"""
