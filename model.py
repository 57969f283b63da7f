"""Train a small convolutional network on MNIST; save its weights and a plot of the training.

    python3 model.py                        # 13 epochs; MNIST is downloaded once by Keras
    python3 model.py --data mnist.npz       # offline: a local copy (or MNIST_NPZ=mnist.npz)

The network reads raw 0..255 pixels and normalizes them itself, so predict.py feeds it
the same pixels it would see in MNIST:

    Lambda(x / 255) -> Conv2D(64, 3x3) -> MaxPooling2D -> Flatten -> Dense(128) -> Dense(10)

1,386,506 parameters, no Dropout. 6,000 of the 60,000 training images are held out for
validation; the 10,000 test images are used once, at the end. The README gives the test
accuracy and time this script reaches.
"""

import argparse
import os
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# TensorFlow's C++ start-up chatter would bury our one-line errors; warnings still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # after the log level, which TensorFlow reads at import
import numpy as np

IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
VALIDATION_FRACTION = 0.1  # 6,000 of MNIST's 60,000 training images
PLOT_WINDOW_TITLE = "MNIST training history"


class UserError(Exception):
    """A problem the user can fix (bad file, missing data): reported as one line, no traceback."""


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
            keras.layers.Dense(NUM_CLASSES, activation="softmax"),
        ],
        name="mnist_cnn",
    )


def load_mnist(path: str | None) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """(x_train, y_train), (x_test, y_test) as uint8 arrays, x shaped (N, 28, 28, 1).

    With a path, read that .npz (the layout of keras.datasets.mnist); without, let Keras
    download MNIST once and cache it in ~/.keras/datasets.
    """
    if path is None:
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


def split_validation(x: np.ndarray, y: np.ndarray, fraction: float) -> tuple[tuple, tuple]:
    """Hold out the last `fraction` of the training images, as fit(validation_split=) would."""
    n_train = len(x) - max(1, round(len(x) * fraction))
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])


def train(
    model: keras.Model,
    train_data: tuple[np.ndarray, np.ndarray],
    val_data: tuple[np.ndarray, np.ndarray],
    epochs: int,
    batch_size: int,
) -> keras.callbacks.History:
    """Train with Adam on sparse labels; a progress bar per epoch, or one line each in a log."""
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    verbose = 1 if sys.stdout.isatty() else 2  # the live bar floods files and pipes with updates
    return model.fit(*train_data, validation_data=val_data, epochs=epochs, batch_size=batch_size, verbose=verbose)


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`, moved over it only if the block succeeds.

    An interrupted or failing write leaves the previous file untouched. The name is unique
    per call, so two runs writing the same file cannot mix their bytes; it keeps the
    suffixes because Keras insists weights files end in .weights.h5.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix="".join(path.suffixes))
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb") as f:  # on disk before the rename, so a power cut keeps one whole file
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save_weights(model: keras.Model, path: Path) -> None:
    with atomic_path(path) as tmp:
        model.save_weights(tmp)


def draw_history(fig, history: dict[str, list[float]], test_accuracy: float | None = None) -> None:
    """Accuracy and loss per epoch, training and validation, on two panels of `fig`."""
    from matplotlib.ticker import MaxNLocator

    epochs = range(1, len(history["loss"]) + 1)
    for ax, metric, label in zip(fig.subplots(1, 2), ("accuracy", "loss"), ("Accuracy", "Loss"), strict=True):
        ax.plot(epochs, history[metric], "o-", label=f"training {metric}")
        ax.plot(epochs, history[f"val_{metric}"], "s-", label=f"validation {metric}")
        ax.set_xlabel("Epoch")
        ax.set_ylabel(label)
        ax.set_title(f"{label} per epoch")
        ax.set_xlim(0.5, len(epochs) + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    title = "MNIST CNN training"
    if test_accuracy is not None:
        title += f" (test accuracy {test_accuracy:.2%})"
    fig.suptitle(title)
    fig.tight_layout()


def save_plot(history: dict[str, list[float]], path: Path, test_accuracy: float | None = None) -> None:
    from matplotlib.figure import Figure  # the object API needs no GUI, with or without a display

    fig = Figure(figsize=(11, 4.5))
    draw_history(fig, history, test_accuracy)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")


def has_display() -> bool:
    """Whether a window can be opened: on Linux (the Docker image) only with an X/Wayland display."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def show_plot(history: dict[str, list[float]], plot_path: Path, test_accuracy: float | None = None) -> None:
    """Open the plot in a window and wait for it to be closed; never fatal, the file is saved."""
    import matplotlib.pyplot as plt  # picks TkAgg when the display answers, else falls back to Agg

    if plt.get_backend().lower() == "agg":
        display = os.environ.get("DISPLAY", "")
        print(
            f"model.py: cannot open a window on DISPLAY={display!r} (display unreachable or python3-tk "
            f"missing); the plot is in {plot_path}",
            file=sys.stderr,
        )
        return
    fig = plt.figure(PLOT_WINDOW_TITLE, figsize=(11, 4.5))
    draw_history(fig, history, test_accuracy)
    plt.show()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=13, help="training epochs (default: 13)")
    parser.add_argument("--batch-size", type=int, default=32, help="images per step (default: 32)")
    parser.add_argument(
        "--data",
        default=os.environ.get("MNIST_NPZ"),
        help="local MNIST .npz (keys x_train, y_train, x_test, y_test); default: $MNIST_NPZ, else download with Keras",
    )
    parser.add_argument("--weights", type=Path, default=Path("model.weights.h5"), help="where to save the weights")
    parser.add_argument("--plot", type=Path, default=Path("results.png"), help="where to save the history plot")
    parser.add_argument("--seed", type=int, help="random seed for a reproducible run (default: a fresh one, printed)")
    parser.add_argument("--no-show", action="store_true", help="save the plot without opening a window")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1:
        parser.error("--epochs and --batch-size must be at least 1")
    if not args.weights.name.endswith(".weights.h5"):
        parser.error("--weights must end in .weights.h5 (Keras' weights format)")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(2), "little")
    keras.utils.set_random_seed(seed)

    (x_train, y_train), (x_test, y_test) = load_mnist(args.data)
    train_data, val_data = split_validation(x_train, y_train, VALIDATION_FRACTION)
    print(f"{len(train_data[0])} training, {len(val_data[0])} validation, {len(x_test)} test images; seed {seed}")

    model = build_model()
    model.summary()
    history = train(model, train_data, val_data, args.epochs, args.batch_size).history
    save_weights(model, args.weights)

    test_loss, test_accuracy = model.evaluate(x_test, y_test, batch_size=256, verbose=0)
    print(f"test accuracy: {test_accuracy:.4f}  test loss: {test_loss:.4f}")
    save_plot(history, args.plot, test_accuracy)
    print(f"saved {args.weights} and {args.plot}")
    if not args.no_show and has_display():
        show_plot(history, args.plot, test_accuracy)


if __name__ == "__main__":
    try:
        main()
    except UserError as e:
        sys.exit(f"model.py: error: {e}")
    except KeyboardInterrupt:
        sys.exit("model.py: interrupted; the previous weights and plot, if any, are untouched")
