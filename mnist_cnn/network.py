"""The network, the one definition training and prediction share, and its weights saved and loaded.

    Lambda(x / 255) -> Conv2D(64, 3x3) -> MaxPooling2D -> Flatten -> Dense(128) -> Dense(10)

1,386,506 parameters, no Dropout. It reads raw 0..255 pixels and normalizes them itself, so
predict.py feeds it the same pixels it would see in MNIST.
"""

import io
from pathlib import Path

import numpy as np

from mnist_cnn.backend import keras
from mnist_cnn.errors import UserError
from mnist_cnn.mnist import IMAGE_SHAPE, NUM_CLASSES
from mnist_cnn.storage import write_atomically


def normalize(x):
    """Raw 0..255 pixels to 0..1, inside the network so every caller feeds raw pixels."""
    return x / 255.0


def build_model() -> keras.Model:
    """The network shared by training and prediction; outputs softmax probabilities."""
    return keras.Sequential(
        [
            keras.Input(shape=IMAGE_SHAPE),
            keras.layers.Lambda(normalize, name="normalize"),
            keras.layers.Conv2D(64, (3, 3), activation="relu"),
            keras.layers.MaxPooling2D((2, 2)),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            # Float32 even when training computes in bfloat16 (training.use_precision): a softmax
            # in bfloat16's 8 bits of mantissa would round the probabilities the loss is taken of.
            keras.layers.Dense(NUM_CLASSES, activation="softmax", dtype="float32"),
        ],
        name="mnist_cnn",
    )


def float32_copy(model: keras.Model) -> keras.Model:
    """The network as predict.py runs it, float32 throughout, with `model`'s weights (which are
    float32 however it was trained)."""
    keras.mixed_precision.set_global_policy("float32")
    copy = build_model()
    copy.set_weights(model.get_weights())
    return copy


def with_features(model: keras.Model) -> keras.Model:
    """The same network answering, in one pass, the 128 units before its last layer (what
    novelty.py measures) and the probabilities."""
    return keras.Model(model.inputs[0], [model.layers[-2].output, model.outputs[0]])


def features_and_probabilities(model: keras.Model, *image_sets: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each set of images, the 128 units before the last layer and the probabilities (float64,
    for novelty.py). All sets go through one predict(), which TensorFlow traces only once or twice."""
    features, probabilities = with_features(model).predict(np.concatenate(image_sets), batch_size=1024, verbose=0)
    ends = np.cumsum([len(images) for images in image_sets])
    return [
        (
            np.asarray(features[end - len(images) : end], np.float64),
            np.asarray(probabilities[end - len(images) : end], np.float64),
        )
        for images, end in zip(image_sets, ends, strict=True)
    ]


def save_weights(model: keras.Model, path: Path) -> None:
    """Save the weights (and the optimizer's state, if compiled) as Keras' .weights.h5 would,
    whole or not at all; a failed write is a storage.WriteError."""
    write_atomically(path, weights_bytes(model))


def weights_bytes(model: keras.Model) -> bytes:
    """The bytes of the .weights.h5 file model.save_weights() writes, made in memory.

    h5py writing straight to a full disk leaves its file half-open, and Python crashes on its
    way out (three "Can't decrement id ref count", then a segmentation fault, with Keras 3.15.1):
    made in memory, the file reaches the disk in one plain write whose failure is an ordinary
    OSError. save_weights() takes only a path, so this calls the saving library under it.
    """
    from keras.src.saving import saving_lib  # here, after backend has imported Keras quietly

    buffer = io.BytesIO()
    store = saving_lib.H5IOStore(buffer, mode="w")
    try:
        saving_lib._save_state(model, weights_store=store, assets_store=None, inner_path="", visited_saveables=set())
    finally:
        store.close()
    return buffer.getvalue()


def load_model(weights: Path) -> keras.Model:
    """The network with the given weights; a UserError saying what is wrong when they do not fit."""
    model = build_model()
    try:
        model.load_weights(weights)
    except Exception as e:  # h5py's OSError for a broken or foreign file, Keras' ValueError for another network
        raise UserError(
            f"{weights}: {weights_problem(weights, e)}; train new ones with python3 model.py "
            "or pass --weights of a finished run"
        ) from None
    return model


def weights_problem(weights: Path, error: Exception) -> str:
    """What is wrong with a weights file that would not load, in words."""
    size = weights.stat().st_size
    if size == 0:
        return "the file is empty"
    if "truncated file" in str(error):  # h5py's words for an HDF5 file shorter than it says it is
        return f"the file is cut short ({size:,} bytes), as an interrupted copy leaves it"
    if isinstance(error, OSError):
        return "not a Keras weights file (HDF5)"
    return "these are the weights of another network, not model.py's"
