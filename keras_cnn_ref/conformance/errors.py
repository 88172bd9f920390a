"""Section "errors": bad arguments and inputs raise what built-in Keras raises."""

from keras_cnn_ref.compare import Comparison, agree
from keras_cnn_ref.conformance.cases import ERROR_CASES
from keras_cnn_ref.conformance.family_cases import FAMILY_ERROR_CASES
from keras_cnn_ref.conformance.harness import BUILTIN, Implementation, keras
from keras_cnn_ref.conformance.suite import Section, error_text
from keras_cnn_ref.layers._backend import minor_version


def _raised(impl: Implementation, case: dict) -> Exception | None:
    """What building and calling the case's layer raises, or None."""
    try:
        layer = impl.layer(case["layer"])(**case["args"])
        if "build" in case:
            layer.build(case["build"])
        if case.get("input") == "symbolic":
            layer(keras.Input((8, 8, 3)))
        elif "input" in case:
            layer(keras.ops.zeros(case["input"]))
    except Exception as error:
        return error
    return None


def _name(error: Exception | None) -> str:
    return "accepts" if error is None else type(error).__name__


def run(case: dict, impl: Implementation) -> dict[str, Comparison]:
    ours, builtin = _raised(impl, case), _raised(BUILTIN, case)
    message = error_text(ours) if ours is not None else ""
    results = {"message": Comparison(case["mentions"] in message, detail=f"must name {case['mentions']!r}: {message}")}
    if case.get("expect", "builtin") == "builtin":
        results["exception type"] = agree(tested=_name(ours), builtin=_name(builtin))
    else:
        results["exception type"] = agree(tested=_name(ours), expected=case["expect"])
        results["built-in still"] = agree(builtin=_name(builtin), recorded=recorded(case["builtin_does"]))
    return results


def recorded(builtin_does: str | dict[str, str], version: str | None = None) -> str:
    """What built-in Keras does, as the case records it for `version` (default: the installed Keras).

    >>> recorded({"3.12": "accepts", "3.14": "ValueError"}, "3.13.2")
    'accepts'
    """
    if isinstance(builtin_does, str):
        return builtin_does
    minor = minor_version(version or keras.__version__)
    return builtin_does[max((since for since in builtin_does if minor_version(since) <= minor), key=minor_version)]


SECTION = Section.for_this_keras("errors", ERROR_CASES + FAMILY_ERROR_CASES, run)
