"""Train a small convolutional network on MNIST; save its weights and a plot of the training.

    python3 model.py                        # 13 epochs; MNIST is downloaded once by Keras
    python3 model.py --data mnist.npz       # offline: a local copy (or MNIST_NPZ=mnist.npz)

The network reads raw 0..255 pixels and normalizes them itself, so predict.py feeds it
the same pixels it would see in MNIST:

    Lambda(x / 255) -> Conv2D(64, 3x3) -> MaxPooling2D -> Flatten -> Dense(128) -> Dense(10)

1,386,506 parameters, no Dropout. 6,000 of the 60,000 training images are held out for
validation; the 10,000 test images are used once, at the end. The README gives the test
accuracy and time this script reaches.

A run keeps its state in model.resume/ beside the weights, updated after every epoch: a run
that is killed or interrupted continues from its last finished epoch when the same command
is started again. The directory is locked while a run trains and removed once it finishes.
"""

import argparse
import csv
import json
import math
import os
import shutil
import signal
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

try:
    import fcntl
except ImportError:  # Windows: no flock; runs there go unlocked
    fcntl = None

# TensorFlow's C++ start-up chatter would bury our one-line errors; warnings still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# oneDNN's kernels train this network 2.5x faster on x86 CPUs, but TensorFlow only turns
# them on by itself for some Intel chips (measured on a 2-core AMD EPYC; see the README).
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


@contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Discard what C++ code writes to fd 2: TensorFlow announces oneDNN at import with a log
    line no setting suppresses. Python exceptions raised inside still show, after it."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


with _native_stderr_silenced():
    import keras
    import tensorflow as tf

IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
VALIDATION_FRACTION = 0.1  # 6,000 of MNIST's 60,000 training images
PLOT_WINDOW_TITLE = "MNIST training history"
BATCH_SIZE = 256
LEARNING_RATE = 3e-3


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


def random_affine(images: tf.Tensor) -> tf.Tensor:
    """Rotate (±10°), scale (0.9-1.1), shear (±0.15) and shift (±2 px) each image of a batch.

    One resampling per image, so strokes stay as sharp as MNIST's. It runs in the input
    pipeline, not in the network: the saved model and predict.py never see it.
    """
    n = tf.shape(images)[0]
    angle = tf.random.uniform([n], -10.0, 10.0) * (np.pi / 180)
    scale = tf.random.uniform([n], 0.9, 1.1)
    shear = tf.random.uniform([n], -0.15, 0.15)
    shift_x, shift_y = tf.unstack(tf.random.uniform([2, n], -2.0, 2.0))
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    # affine_transform maps each output pixel back to the input pixel it samples: this is the
    # inverse transform, built about the image centre so a digit turns in place.
    a0, a1, b0, b1 = cos, -sin + shear * cos, sin, cos + shear * sin
    centre = (IMAGE_SHAPE[0] - 1) / 2
    a2 = centre - a0 * centre - a1 * centre - shift_x
    b2 = centre - b0 * centre - b1 * centre - shift_y
    zeros = tf.zeros([n])
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    return keras.ops.image.affine_transform(images, transforms, interpolation="bilinear", fill_value=0)


def make_dataset(
    x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool = False, augment: bool = False
) -> tf.data.Dataset:
    """Batches of (float32 images, labels): cached once, reshuffled each epoch, prefetched."""
    ds = tf.data.Dataset.from_tensor_slices((x, y.astype("int32"))).cache()
    if shuffle:
        ds = ds.shuffle(len(x), reshuffle_each_iteration=True)
    ds = ds.batch(batch_size).map(lambda images, labels: (tf.cast(images, tf.float32), labels))
    if augment:  # per batch: one vectorized transform is far cheaper than one per image
        ds = ds.map(lambda images, labels: (random_affine(images), labels), num_parallel_calls=2)
    # No autotuning: its background thread can hold up the end of an epoch's iterator for as
    # long as its current sleep, which had grown to 6-8 s in 1 epoch in 4 (seen with py-spy).
    # Fixed settings do as well here: the pipeline needs 0.6 s of CPU per epoch.
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.prefetch(2).with_options(options)


class KeepBest(keras.callbacks.Callback):
    """Save the weights of each epoch that beats the best validation accuracy so far.

    They go to a file rather than memory, so a resumed run still ends with the best epoch of
    all, including those trained before the interruption.
    """

    def __init__(self, path: Path, best: float = -math.inf):
        super().__init__()
        self.path, self.best = path, best

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs["val_accuracy"] > self.best:
            self.best = logs["val_accuracy"]
            save_weights(self.model, self.path)


class ResumeNotice(keras.callbacks.Callback):
    """Say in one line where a resumed run picks up, once BackupAndRestore has restored it."""

    def __init__(self, state: Path):
        super().__init__()
        self.state, self.first = state, True

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if self.first and epoch > 0:
            print(f"resuming the interrupted run in {self.state}/ from epoch {epoch + 1} of {self.params['epochs']}")
        self.first = False


def epochs_done(state: Path) -> int:
    """How many epochs the run whose state is in `state` has finished and logged."""
    return len(read_history(state / "history.csv").get("loss", []))


def read_history(path: Path) -> dict[str, list[float]]:
    """The metrics per epoch that CSVLogger wrote, {} if none. An epoch logged twice (a run
    killed between logging it and backing it up trains it again) counts once, the last time."""
    if not path.exists():
        return {}
    with open(path, newline="") as f:
        rows = {int(row["epoch"]): row for row in csv.DictReader(f)}
    ordered = [rows[epoch] for epoch in sorted(rows)]
    return {key: [float(row[key]) for row in ordered] for key in (ordered[0] if ordered else {}) if key != "epoch"}


def train(
    model: keras.Model,
    train_data: tuple[np.ndarray, np.ndarray],
    val_data: tuple[np.ndarray, np.ndarray],
    epochs: int,
    batch_size: int,
    learning_rate: float,
    state: Path,
    plain: bool = False,
    callbacks: list[keras.callbacks.Callback] | None = None,
) -> dict[str, list[float]]:
    """Train with Adam; a progress bar per epoch, or one line each in a log. Returns the
    metrics of every epoch, those of an interrupted earlier run in `state` included.

    The default recipe augments the images, warms the learning rate up over the first epoch
    and then decays it along a cosine to zero, and ends with the weights of the epoch with
    the best validation accuracy. `plain` is the original recipe: none of that.

    After each epoch the metrics, the best weights and a backup of the model and optimizer
    go to the directory `state`; if it holds those of an interrupted run, training goes on
    from its last finished epoch.
    """
    if not plain:
        steps = epochs * -(-len(train_data[0]) // batch_size)
        warmup = min(steps // epochs, steps // 2)
        learning_rate = keras.optimizers.schedules.CosineDecay(
            learning_rate / 20, decay_steps=steps - warmup, warmup_target=learning_rate, warmup_steps=warmup
        )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history_path, best_path = state / "history.csv", state / "best.weights.h5"
    # Logged first, backed up last: a kill between the two repeats an epoch, never loses one.
    callbacks = [*(callbacks or []), keras.callbacks.CSVLogger(history_path, append=True)]
    if not plain:
        done = read_history(history_path)
        callbacks.append(KeepBest(best_path, max(done.get("val_accuracy", []), default=-math.inf)))
    # Model and optimizer state (the learning-rate schedule's step included). Two copies, so a
    # kill in the middle of writing one still leaves the other; main() removes them at the end.
    callbacks.append(
        keras.callbacks.BackupAndRestore(state / "backup", double_checkpoint=True, delete_checkpoint=False)
    )
    model.fit(
        make_dataset(*train_data, batch_size, shuffle=True, augment=not plain),
        validation_data=make_dataset(*val_data, 1024),
        epochs=epochs,
        shuffle=False,  # the dataset reshuffles itself each epoch
        callbacks=callbacks,
        verbose=1 if sys.stdout.isatty() else 2,  # the live bar floods files and pipes with updates
    )
    if not plain:
        model.load_weights(best_path)
    return read_history(history_path)


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
    tmp.chmod(0o666 & ~_umask())  # mkstemp makes it private; the result should be an ordinary file
    try:
        yield tmp
        with open(tmp, "rb") as f:  # on disk before the rename, so a power cut keeps one whole file
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_weights(model: keras.Model, path: Path) -> None:
    with atomic_path(path) as tmp:
        model.save_weights(tmp)


def state_dir(weights: Path) -> Path:
    """Where a run that trains into `weights` keeps its resume state: model.weights.h5 -> model.resume/."""
    return weights.with_name(weights.name.removesuffix(".weights.h5") + ".resume")


@contextmanager
def exclusive_state(state: Path) -> Iterator[None]:
    """Hold the lock on a run's state directory, so that two runs never train into the same files.

    It is an flock, which the kernel drops when its process dies: a killed run leaves no stale lock.
    """
    while True:
        state.mkdir(parents=True, exist_ok=True)
        fd = os.open(state / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        if fcntl is None:
            break
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise UserError(
                f"another model.py run is training into {state}/ right now; "
                "wait for it to finish, or give this one other --weights"
            ) from None
        try:  # a run that just finished may have removed the directory between our open and our lock
            if os.stat(state / "lock").st_ino == os.fstat(fd).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        yield
    finally:
        os.close(fd)


def start_or_resume(state: Path, settings: dict, seed: int | None, fresh: bool) -> int:
    """The seed of this run.

    If `state` holds an interrupted run that finished at least one epoch, this run continues it,
    with its seed, provided its settings are the same; otherwise `state` starts afresh.
    """
    done = epochs_done(state)
    if done and not fresh:
        try:
            saved = json.loads((state / "run.json").read_text())
        except (OSError, ValueError):
            raise UserError(f"{state}/run.json is unreadable; add --fresh to start training over") from None
        before = {**saved["settings"], "seed": saved["seed"]}
        now = {**settings, "seed": saved["seed"] if seed is None else seed}
        changed = [f"{key} {before.get(key)}" for key in now if before.get(key) != now[key]]
        if changed:
            raise UserError(
                f"{state}/ holds a run interrupted after {done} epochs with other settings ({', '.join(changed)}); "
                "run that command again to finish it, or add --fresh to start over"
            )
        return saved["seed"]
    for path in state.iterdir():
        if path.name != "lock":
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    seed = seed if seed is not None else int.from_bytes(os.urandom(2), "little")
    with atomic_path(state / "run.json") as tmp:
        tmp.write_text(json.dumps({"settings": settings, "seed": seed}))
    return seed


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


def show_window(title: str, draw, figsize: tuple[float, float]) -> None:
    """Draw into a new window titled `title` and wait until it is closed; where no window can
    open, say so in one line and carry on (what was drawn is saved to a file by the caller)."""
    import matplotlib.pyplot as plt  # picks TkAgg when the display answers, else falls back to Agg

    if plt.get_backend().lower() == "agg":
        display = os.environ.get("DISPLAY", "")
        print(
            f"{Path(sys.argv[0]).name}: cannot open a window on DISPLAY={display!r} "
            "(display unreachable or python3-tk missing)",
            file=sys.stderr,
        )
        return
    draw(plt.figure(title, figsize=figsize))
    plt.show()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=13, help="training epochs (default: 13)")
    parser.add_argument(
        "--batch-size", type=int, help=f"images per step (default: {BATCH_SIZE}; 32, Keras' default, with --plain)"
    )
    parser.add_argument(
        "--learning-rate",
        type=float,
        help=f"peak learning rate (default: {LEARNING_RATE}; with --plain a constant 0.001, Adam's default)",
    )
    parser.add_argument(
        "--plain",
        action="store_true",
        help="the original recipe, for comparison: no augmentation, constant learning rate, last epoch's weights",
    )
    parser.add_argument(
        "--data",
        default=os.environ.get("MNIST_NPZ"),
        help="local MNIST .npz (keys x_train, y_train, x_test, y_test); default: $MNIST_NPZ, else download with Keras",
    )
    parser.add_argument("--weights", type=Path, default=Path("model.weights.h5"), help="where to save the weights")
    parser.add_argument("--plot", type=Path, default=Path("results.png"), help="where to save the history plot")
    parser.add_argument("--seed", type=int, help="random seed for a reproducible run (default: a fresh one, printed)")
    parser.add_argument("--no-show", action="store_true", help="save the plot without opening a window")
    parser.add_argument(
        "--fresh", action="store_true", help="start over, discarding the state of an interrupted run (model.resume/)"
    )
    args = parser.parse_args(argv)
    if args.batch_size is None:
        args.batch_size = 32 if args.plain else BATCH_SIZE
    if args.learning_rate is None:
        args.learning_rate = 1e-3 if args.plain else LEARNING_RATE
    if args.epochs < 1 or args.batch_size < 1 or args.learning_rate <= 0:
        parser.error("--epochs and --batch-size must be at least 1, --learning-rate above 0")
    if not args.weights.name.endswith(".weights.h5"):
        parser.error("--weights must end in .weights.h5 (Keras' weights format)")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    (x_train, y_train), (x_test, y_test) = load_mnist(args.data)
    train_data, val_data = split_validation(x_train, y_train, VALIDATION_FRACTION)
    # What must not change between an interrupted run and the one that resumes it.
    settings = {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "plain": args.plain,
        "data": str(Path(args.data).resolve()) if args.data else None,
    }
    state = state_dir(args.weights)
    with exclusive_state(state):
        seed = start_or_resume(state, settings, args.seed, args.fresh)
        keras.utils.set_random_seed(seed)
        print(f"{len(train_data[0])} training, {len(val_data[0])} validation, {len(x_test)} test images; seed {seed}")
        model = build_model()
        model.summary()
        notice = ResumeNotice(state)
        try:
            history = train(
                model,
                train_data,
                val_data,
                args.epochs,
                args.batch_size,
                args.learning_rate,
                state,
                args.plain,
                [notice],
            )
        except OSError as e:
            if not notice.first or not (state / "backup").exists():  # not while restoring the backup
                raise
            raise UserError(
                f"cannot resume from {state}/: its backup is unreadable ({e}); add --fresh to start over"
            ) from None
        except KeyboardInterrupt:
            done = epochs_done(state)
            if not done:
                shutil.rmtree(state)
                sys.exit("model.py: interrupted before the first epoch finished; nothing was saved")
            sys.exit(f"model.py: interrupted after epoch {done} of {args.epochs}; run the same command to resume")
        kept = len(history["loss"]) if args.plain else int(np.argmax(history["val_accuracy"])) + 1
        print(
            f"kept epoch {kept} of {len(history['loss'])} (validation accuracy {history['val_accuracy'][kept - 1]:.4f})"
        )
        save_weights(model, args.weights)
        test_loss, test_accuracy = model.evaluate(x_test, y_test, batch_size=256, verbose=0)
        print(f"test accuracy: {test_accuracy:.4f}  test loss: {test_loss:.4f}")
        save_plot(history, args.plot, test_accuracy)
        shutil.rmtree(state)  # the run is complete: nothing left to resume
    print(f"saved {args.weights} and {args.plot}")
    if not args.no_show and has_display():
        show_window(PLOT_WINDOW_TITLE, lambda fig: draw_history(fig, history, test_accuracy), (11, 4.5))


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # docker stop: stop as cleanly as Ctrl-C
    try:
        main()
    except UserError as e:
        sys.exit(f"model.py: error: {e}")
    except KeyboardInterrupt:
        sys.exit("model.py: interrupted; the previous weights and plot, if any, are untouched")
