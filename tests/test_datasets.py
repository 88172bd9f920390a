"""Where MNIST comes from: a given file, the environment, Keras, or the bundled sample."""

import numpy as np
import pytest

from keras_cnn_ref import datasets
from keras_cnn_ref.models import keras

pytestmark = pytest.mark.quick


def test_the_bundled_sample_is_real_mnist_in_keras_layout():
    (x_train, y_train), (x_test, y_test) = datasets.load_npz(datasets.SAMPLE_PATH)
    assert (x_train.shape, x_test.shape, x_train.dtype) == ((3000, 28, 28), (1000, 28, 28), np.uint8)
    assert list(y_train[:10]) == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]  # the first labels of MNIST's training set
    assert set(np.unique(y_test)) == set(range(10))


def test_a_given_path_and_the_environment_variable_are_used(tmp_path, monkeypatch):
    path = tmp_path / "tiny.npz"
    np.savez(
        path,
        x_train=np.zeros((2, 28, 28), np.uint8),
        y_train=np.zeros(2, np.uint8),
        x_test=np.zeros((1, 28, 28), np.uint8),
        y_test=np.zeros(1, np.uint8),
    )
    (train, _), source = datasets.load_mnist(path)
    assert len(train[0]) == 2 and source == f"file {path}"
    monkeypatch.setenv(datasets.ENV_VAR, str(path))
    assert datasets.load_mnist()[1] == f"file {path}"


def test_a_file_in_another_layout_gets_a_clear_error(tmp_path):
    np.savez(tmp_path / "wrong.npz", images=np.zeros(3))
    with pytest.raises(ValueError, match=r"is not an MNIST file: .*; it lacks x_train, y_train, x_test, y_test\.$"):
        datasets.load_npz(tmp_path / "wrong.npz")
    (tmp_path / "text.npz").write_text("x_train,y_train\n")  # not what NumPy's "pickled data" message suggests
    with pytest.raises(ValueError, match=r"is not an MNIST file: not an \.npz file \(a zip of NumPy arrays"):
        datasets.load_npz(tmp_path / "text.npz")


def test_without_network_the_bundled_sample_is_used_and_said(monkeypatch, capsys):
    def offline():
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: None -- no network")

    monkeypatch.delenv(datasets.ENV_VAR, raising=False)
    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    (train, _), source = datasets.load_mnist()
    assert source == datasets.SAMPLE_CREDIT and len(train[0]) == 3000
    message = capsys.readouterr().err
    assert "no network" in message and "CC BY-SA 3.0" in message and "--data PATH" in message
