"""model.py: the network's design, data loading and its errors, safe saving, the plot, the CLI."""

import errno
import os
import re
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest
from conftest import assert_one_line_error, run_script
from matplotlib.figure import Figure
from PIL import Image

from mnist_cnn import figures, mnist, network, storage
from mnist_cnn.errors import UserError


def test_network_has_the_documented_layers_shapes_and_parameter_count():
    net = network.build_model()
    layers = [type(layer).__name__ for layer in net.layers]
    assert layers == ["Lambda", "Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dense"]
    shapes = [tuple(layer.output.shape) for layer in net.layers]
    assert shapes == [(None, 28, 28, 1), (None, 26, 26, 64), (None, 13, 13, 64), (None, 10816), (None, 128), (None, 10)]
    assert net.count_params() == 1_386_506
    assert sum(int(np.prod(w.shape)) for w in net.trainable_weights) == 1_386_506


def test_network_normalizes_raw_pixels_itself():
    net = network.build_model()
    raw = np.full((1, 28, 28, 1), 255.0, dtype=np.float32)
    assert np.allclose(net.get_layer("normalize")(raw), 1.0)


def test_network_outputs_probabilities_over_ten_digits():
    probabilities = network.build_model().predict(np.random.default_rng(0).uniform(0, 255, (3, 28, 28, 1)), verbose=0)
    assert probabilities.shape == (3, 10)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_saved_weights_load_back_to_identical_predictions(tmp_path):
    images = np.random.default_rng(1).uniform(0, 255, (4, 28, 28, 1)).astype(np.float32)
    original = network.build_model()
    network.save_weights(original, tmp_path / "model.weights.h5")
    restored = network.build_model()
    restored.load_weights(tmp_path / "model.weights.h5")
    np.testing.assert_array_equal(original.predict(images, verbose=0), restored.predict(images, verbose=0))
    assert [p.name for p in tmp_path.iterdir()] == ["model.weights.h5"]  # no temporary file left behind


def test_failed_write_keeps_the_previous_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "results.png"
    target.write_bytes(b"the good plot")
    with pytest.raises(RuntimeError), storage.atomic_path(target) as tmp:
        tmp.write_bytes(b"half a plo")
        raise RuntimeError("disk full")
    assert target.read_bytes() == b"the good plot"
    assert list(tmp_path.iterdir()) == [target]


def test_saved_files_are_ordinary_files_not_private_temporaries(tmp_path):
    old_mask = os.umask(0o022)
    try:
        with storage.atomic_path(tmp_path / "results.png") as tmp:
            tmp.write_bytes(b"plot")
    finally:
        os.umask(old_mask)
    assert (tmp_path / "results.png").stat().st_mode & 0o777 == 0o644


def test_weights_write_that_fails_midway_keeps_the_previous_weights(tmp_path):
    target = tmp_path / "model.weights.h5"
    network.save_weights(network.build_model(), target)
    good = target.read_bytes()

    with (
        pytest.raises(storage.WriteError, match=f"cannot write {target}: no space left on device"),
        storage.atomic_path(target) as tmp,
    ):
        tmp.write_bytes(good[:100])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert target.read_bytes() == good
    assert list(tmp_path.iterdir()) == [target]


def hdf5_contents(path: Path) -> dict:
    """Every dataset of an HDF5 file by name, and every group's attributes."""
    contents = {}
    with h5py.File(path) as f:
        f.visititems(lambda name, o: contents.update({name: o[()] if isinstance(o, h5py.Dataset) else dict(o.attrs)}))
    return contents


def test_weights_made_in_memory_are_the_file_keras_writes(tmp_path):
    net = network.build_model()
    net.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    net.fit(np.zeros((4, 28, 28, 1)), np.arange(4), verbose=0)  # optimizer state too, as training saves it
    network.save_weights(net, tmp_path / "ours.weights.h5")
    net.save_weights(tmp_path / "keras.weights.h5")
    ours, theirs = hdf5_contents(tmp_path / "ours.weights.h5"), hdf5_contents(tmp_path / "keras.weights.h5")
    assert ours.keys() == theirs.keys() and any("optimizer" in name for name in ours)
    for name, value in ours.items():
        np.testing.assert_array_equal(value, theirs[name], err_msg=name)
    loaded = network.build_model()
    loaded.load_weights(tmp_path / "ours.weights.h5")
    for ours, theirs in zip(loaded.get_weights(), net.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)


def write_npz(path: Path, **overrides) -> Path:
    arrays = {
        "x_train": np.zeros((20, 28, 28), np.uint8),
        "y_train": np.arange(20) % 10,
        "x_test": np.zeros((10, 28, 28), np.uint8),
        "y_test": np.arange(10),
    }
    arrays.update(overrides)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return path


def test_read_npz_accepts_the_mnist_layout(tmp_path):
    arrays = mnist.read_npz(str(write_npz(tmp_path / "ok.npz")))
    assert arrays["x_train"].shape == (20, 28, 28)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"y_test": None}, "missing arrays y_test"),
        ({"x_train": np.zeros((20, 32, 32), np.uint8)}, "x_train must be uint8 of shape (N, 28, 28)"),
        ({"x_test": np.zeros((10, 28, 28), np.float32)}, "x_test must be uint8"),
        ({"y_train": np.arange(19)}, "y_train must be 20 integer labels"),
        ({"y_train": np.linspace(0, 9, 20)}, "y_train must be 20 integer labels"),
        ({"y_test": np.arange(10) + 1}, "labels outside 0..9"),
    ],
)
def test_read_npz_rejects_malformed_data_with_a_clear_message(tmp_path, overrides, message):
    path = write_npz(tmp_path / "bad.npz", **overrides)
    with pytest.raises(UserError, match=re.escape(message)):
        mnist.read_npz(str(path))


@pytest.mark.parametrize("content", [b"", b"not a zip at all", b"PK\x03\x04truncated"])
def test_read_npz_rejects_files_that_are_not_npz(tmp_path, content):
    path = tmp_path / "broken.npz"
    path.write_bytes(content)
    with pytest.raises(UserError, match=r"broken\.npz"):
        mnist.read_npz(str(path))


def test_read_npz_names_a_missing_file(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        mnist.read_npz(str(tmp_path / "nowhere.npz"))


def test_failed_download_explains_how_to_use_a_local_copy(monkeypatch):
    def no_network():
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: None -- [Errno -3]")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", no_network)
    with pytest.raises(UserError, match="--data PATH or MNIST_NPZ=PATH"):
        mnist.load_mnist(None)


def test_validation_is_held_out_from_the_end_of_the_training_images():
    x, y = np.arange(60_000), np.arange(60_000)
    (x_train, _), (x_val, y_val) = mnist.split_validation(x, y, 0.1)
    assert len(x_train) == 54_000 and len(x_val) == 6_000
    assert x_val[0] == 54_000 and y_val[-1] == 59_999


def test_history_plot_shows_accuracy_and_loss_per_epoch_from_one():
    history = {"accuracy": [0.9, 0.95, 0.97], "val_accuracy": [0.92, 0.96, 0.96], "loss": [0.3, 0.15, 0.1]}
    history["val_loss"] = [0.25, 0.12, 0.11]
    fig = Figure()
    figures.draw_history(fig, history, test_accuracy=0.9812)
    accuracy_ax, loss_ax = fig.axes
    assert accuracy_ax.get_xlabel() == loss_ax.get_xlabel() == "Epoch"
    assert accuracy_ax.get_ylabel() == "Accuracy" and loss_ax.get_ylabel() == "Loss"
    assert [list(line.get_xdata()) for line in accuracy_ax.lines] == [[1, 2, 3], [1, 2, 3]]
    assert list(loss_ax.lines[1].get_ydata()) == history["val_loss"]
    assert {t.get_text() for t in accuracy_ax.get_legend().get_texts()} == {"training accuracy", "validation accuracy"}
    assert "98.12%" in fig.get_suptitle()


def test_saved_plot_is_a_png_image(tmp_path):
    history = {"accuracy": [0.9], "val_accuracy": [0.92], "loss": [0.3], "val_loss": [0.25]}
    figures.save_plot(history, tmp_path / "results.png")
    with Image.open(tmp_path / "results.png") as img:
        assert img.format == "PNG" and img.width > 800


@pytest.mark.parametrize(
    ("env", "expected"), [({}, False), ({"DISPLAY": ":0"}, True), ({"WAYLAND_DISPLAY": "w"}, True)]
)
def test_display_is_detected_from_the_environment_on_linux(monkeypatch, env, expected):
    monkeypatch.setattr(figures.sys, "platform", "linux")
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert figures.has_display() is expected


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--epochs", "0"], "--epochs and --batch-size must be at least 1"),
        (["--weights", "model.h5"], "must end in .weights.h5"),
        (["--data", "nowhere.npz"], "nowhere.npz: no such file"),
    ],
)
def test_cli_reports_bad_arguments_in_one_line(tmp_path, args, fragment):
    assert_one_line_error(run_script("model.py", *args, cwd=tmp_path), fragment)


def test_cli_without_data_or_network_says_how_to_train_offline(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "MNIST_NPZ"}
    env["HOME"] = str(tmp_path)  # no Keras cache: load_data() has to download
    env["KERAS_HOME"] = str(tmp_path / ".keras")
    # Point the download at a closed local port: the same failure as no network, without waiting on one.
    env["HTTPS_PROXY"] = env["HTTP_PROXY"] = env["https_proxy"] = env["http_proxy"] = "http://127.0.0.1:9"
    result = run_script("model.py", "--no-show", cwd=tmp_path, env=env)
    assert_one_line_error(result, "could not download MNIST", "--data PATH or MNIST_NPZ=PATH")
    assert not (tmp_path / "model.weights.h5").exists()
