"""The conformance suite: do the conv and pooling layers, and the plugin, behave exactly like built-in Keras?

`keras-cnn-ref check` runs it from the command line, and `pytest compat` runs
the same cases against this project's layers. It imports neither pytest nor
any test.
"""
