"""A training run's state folder (model.resume/ beside model.weights.h5): its lock, start or resume, its history.

After every epoch the folder holds what a run needs to go on: the metrics so far (history.csv),
the best epoch's weights, Keras' backup of the model and optimizer, and the run's settings and
seed (run.json). A run killed or interrupted continues from its last finished epoch when the
same command is started again; the folder is removed once a run finishes.
"""

import csv
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mnist_cnn.errors import UserError
from mnist_cnn.storage import WriteError, write_atomically

try:
    import fcntl
except ImportError:  # Windows: no flock; runs there go unlocked
    fcntl = None


def state_dir(weights: Path) -> Path:
    """Where a run that trains into `weights` keeps its resume state: model.weights.h5 -> model.resume/."""
    return weights.with_name(weights.name.removesuffix(".weights.h5") + ".resume")


@contextmanager
def exclusive_state(state: Path) -> Iterator[None]:
    """Hold the lock on a run's state directory, so that two runs never train into the same files.

    It is an flock, which the kernel drops when its process dies: a killed run leaves no stale lock.
    """
    while True:
        try:
            state.mkdir(parents=True, exist_ok=True)
            fd = os.open(state / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise WriteError(state / "lock", e) from None
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
    write_atomically(state / "run.json", json.dumps({"settings": settings, "seed": seed}))
    return seed


def history_path(state: Path) -> Path:
    return state / "history.csv"


def epochs_done(state: Path) -> int:
    """How many epochs the run whose state is in `state` has finished and logged."""
    return len(read_history(history_path(state)).get("loss", []))


def read_history(path: Path) -> dict[str, list[float]]:
    """The metrics per epoch that CSVLogger wrote, {} if none. An epoch logged twice (a run
    killed between logging it and backing it up trains it again) counts once, the last time."""
    if not path.exists():
        return {}
    with open(path, newline="") as f:
        rows = {int(row["epoch"]): row for row in csv.DictReader(f)}
    ordered = [rows[epoch] for epoch in sorted(rows)]
    return {key: [float(row[key]) for row in ordered] for key in (ordered[0] if ordered else {}) if key != "epoch"}
