"""Sections "layer_grid" (every argument of every layer, 1-D to 3-D) and "edge_semantics".

Each case compares the forward output and the gradients with respect to every
weight and the input with built-in Keras (weights copied), within the
tolerance of the case's dtype, plus the output shape of a symbolic call with
None batch and spatial dimensions. Layers this Keras lacks (adaptive pooling
before 3.13) have no cases.
"""

from keras_cnn_ref.conformance.cases import CONV2D_CASES, EDGE_CASES, MAXPOOL2D_CASES, ND_CASES
from keras_cnn_ref.conformance.family_cases import FAMILY_CASES, FAMILY_EDGE_CASES
from keras_cnn_ref.conformance.harness import run_layer_case
from keras_cnn_ref.conformance.suite import Section

SECTION = Section.for_this_keras("layer_grid", CONV2D_CASES + MAXPOOL2D_CASES + ND_CASES + FAMILY_CASES, run_layer_case)
EDGE_SECTION = Section.for_this_keras("edge_semantics", EDGE_CASES + FAMILY_EDGE_CASES, run_layer_case)
