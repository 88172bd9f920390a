"""`python -m keras_cnn_ref` runs the `keras-cnn-ref` command."""

import sys

from keras_cnn_ref.cli import main

sys.exit(main())
