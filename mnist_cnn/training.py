"""Training with Keras' fit(): the recipe's learning-rate schedule, the best epoch kept, state saved each epoch."""

import json
import math
import sys
from pathlib import Path

import numpy as np

from mnist_cnn.backend import keras, tf
from mnist_cnn.cpu import cpu_flags
from mnist_cnn.network import save_weights
from mnist_cnn.pipeline import make_dataset
from mnist_cnn.recipe import Recipe
from mnist_cnn.resume import history_path, read_history
from mnist_cnn.storage import write_atomically


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


class Backup(keras.callbacks.BackupAndRestore):
    """Keras' BackupAndRestore (model and optimizer, the schedule's step included, restored when
    training starts), with each file written whole by network.save_weights: a kill in the middle
    of a backup leaves the previous one, and a full disk is a WriteError, not h5py's crash."""

    def _save_model(self) -> None:
        save_weights(self.model, Path(self._weights_path))
        # Written second: a kill between the two trains the last epoch again rather than skip one.
        metadata = {"epoch": self._current_epoch, "batch": self._last_batch_seen}
        write_atomically(Path(self._training_metadata_path), json.dumps(metadata))


class ResumeNotice(keras.callbacks.Callback):
    """Say in one line where a resumed run picks up, once BackupAndRestore has restored it."""

    def __init__(self, state: Path):
        super().__init__()
        self.state, self.first = state, True

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if self.first and epoch > 0:
            print(f"resuming the interrupted run in {self.state}/ from epoch {epoch + 1} of {self.params['epochs']}")
        self.first = False


def bfloat16_in_hardware() -> bool:
    """Whether the CPU multiplies bfloat16 in hardware (AVX512_BF16 or AMX)."""
    return bool({"avx512_bf16", "amx_bf16"} & cpu_flags())


def use_precision(asked: str) -> str:
    """Set Keras' precision for the network built next and say which: "bfloat16" (mixed: bfloat16
    arithmetic, float32 weights, so the saved weights are the same kind) or "float32". "auto" is
    bfloat16 on CPUs that have it in hardware and no GPU: there an epoch takes 6.2 s rather than
    9.4 s, with the same test accuracy after 3 epochs (98.9%; 2-core Intel Xeon with AMX)."""
    if asked == "auto":
        asked = "bfloat16" if bfloat16_in_hardware() and not tf.config.list_physical_devices("GPU") else "float32"
    keras.mixed_precision.set_global_policy("mixed_bfloat16" if asked == "bfloat16" else "float32")
    return asked


def learning_rate(recipe: Recipe, train_size: int) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """The plain recipe's constant rate, or a warm-up over the first epoch to the peak and a cosine to zero."""
    if recipe.plain:
        return recipe.learning_rate
    steps = recipe.epochs * -(-train_size // recipe.batch_size)
    warmup = min(steps // recipe.epochs, steps // 2)
    return keras.optimizers.schedules.CosineDecay(
        recipe.learning_rate / 20, decay_steps=steps - warmup, warmup_target=recipe.learning_rate, warmup_steps=warmup
    )


def train(
    model: keras.Model,
    train_data: tuple[np.ndarray, np.ndarray],
    val_data: tuple[np.ndarray, np.ndarray],
    recipe: Recipe,
    state: Path,
    callbacks: list[keras.callbacks.Callback] | None = None,
) -> dict[str, list[float]]:
    """Train with Adam; a progress bar per epoch, or one line each in a log. Returns the
    metrics of every epoch, those of an interrupted earlier run in `state` included.

    The default recipe augments the images and ends with the weights of the epoch with the
    best validation accuracy; the plain one trains on the images as they are and keeps the last.

    After each epoch the metrics, the best weights and a backup of the model and optimizer
    go to the directory `state`; if it holds those of an interrupted run, training goes on
    from its last finished epoch.
    """
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate(recipe, len(train_data[0]))),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history, best_path = history_path(state), state / "best.weights.h5"
    # Logged first, backed up last: a kill between the two repeats an epoch, never loses one.
    callbacks = [*(callbacks or []), keras.callbacks.CSVLogger(history, append=True)]
    if not recipe.plain:
        done = read_history(history)
        callbacks.append(KeepBest(best_path, max(done.get("val_accuracy", []), default=-math.inf)))
    # model.py removes the backup once the run's weights are saved.
    callbacks.append(Backup(str(state / "backup"), delete_checkpoint=False))
    model.fit(
        make_dataset(*train_data, recipe.batch_size, shuffle=True, augment=not recipe.plain),
        validation_data=make_dataset(*val_data, 1024),
        epochs=recipe.epochs,
        shuffle=False,  # the dataset reshuffles itself each epoch
        callbacks=callbacks,
        verbose=1 if sys.stdout.isatty() else 2,  # the live bar floods files and pipes with updates
    )
    if not recipe.plain:
        model.load_weights(best_path)
    return read_history(history)
