"""MNIST read and checked, and the validation split; no TensorFlow unless Keras must download it.

A local .npz has the layout of keras.datasets.mnist: x_train, y_train, x_test, y_test.
"""

import zipfile

import numpy as np

from mnist_cnn.errors import UserError

IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
VALIDATION_FRACTION = 0.1  # 6,000 of MNIST's 60,000 training images

Split = tuple[np.ndarray, np.ndarray]


def load_mnist(path: str | None) -> tuple[Split, Split]:
    """(x_train, y_train), (x_test, y_test) as uint8 arrays, x shaped (N, 28, 28, 1).

    With a path, read that .npz; without, let Keras download MNIST once and cache it in
    ~/.keras/datasets.
    """
    if path is None:
        from mnist_cnn.backend import keras

        try:
            (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
        except Exception as e:  # Keras raises bare Exceptions for network failures
            raise UserError(
                f"could not download MNIST ({type(e).__name__}); pass a local copy with --data PATH or MNIST_NPZ=PATH"
            ) from e
        arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    else:
        arrays = read_npz(path)
    return (
        (arrays["x_train"][..., None], arrays["y_train"]),
        (arrays["x_test"][..., None], arrays["y_test"]),
    )


def read_npz(path: str) -> dict[str, np.ndarray]:
    """Read and check an MNIST .npz: x_* uint8 (N, 28, 28), y_* integer labels 0..9 (N,)."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = {"x_train", "y_train", "x_test", "y_test"} - set(npz.files)
            if missing:
                raise UserError(f"{path}: missing arrays {', '.join(sorted(missing))}")
            arrays = {key: npz[key] for key in ("x_train", "y_train", "x_test", "y_test")}
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:  # empty, not a zip, truncated, pickled
        raise UserError(f"{path}: not a readable .npz file ({e})") from None
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != IMAGE_SHAPE[:2]:
            raise UserError(f"{path}: x_{split} must be uint8 of shape (N, 28, 28), got {x.dtype} {x.shape}")
        if not np.issubdtype(y.dtype, np.integer) or y.shape != (len(x),):
            raise UserError(f"{path}: y_{split} must be {len(x)} integer labels, got {y.dtype} {y.shape}")
        if len(y) and (y.min() < 0 or y.max() >= NUM_CLASSES):
            raise UserError(f"{path}: y_{split} has labels outside 0..9")
    return arrays


def split_validation(x: np.ndarray, y: np.ndarray, fraction: float = VALIDATION_FRACTION) -> tuple[Split, Split]:
    """Hold out the last `fraction` of the training images, as fit(validation_split=) would."""
    n_train = len(x) - max(1, round(len(x) * fraction))
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])
