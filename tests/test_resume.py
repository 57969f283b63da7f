"""Training survives interruption: kill and resume, Ctrl-C, one run at a time per weights file."""

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import ROOT, assert_one_line_error, run_script

from mnist_cnn import network, recipe, resume, training
from mnist_cnn.errors import UserError


def start_training(cwd: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "model.py"), *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until(run: subprocess.Popen, done: Callable[[], bool], timeout: float = 120) -> None:
    """Wait, while `run` goes on, until `done()`."""
    deadline = time.monotonic() + timeout
    while not done():
        assert run.poll() is None, run.communicate()
        assert time.monotonic() < deadline, "training did not get that far in time"
        time.sleep(0.05)


def wait_for_epochs(run: subprocess.Popen, history: Path, epochs: int) -> None:
    """Wait until `run` has logged `epochs` finished epochs."""
    wait_until(run, lambda: len(resume.read_history(history).get("loss", [])) >= epochs)


# What a complete run leaves beside the weights: its state folder is gone.
COMPLETE_RUN = ["model.digits.npz", "model.weights.h5", "results-mistakes.png", "results.png"]


def test_killed_run_resumes_from_its_last_finished_epoch_and_ends_complete(small_mnist_path, tmp_path):
    args = ("--data", str(small_mnist_path), "--epochs", "4", "--no-show")
    first = start_training(tmp_path, *args)
    wait_for_epochs(first, tmp_path / "model.resume" / "history.csv", 2)
    first.kill()  # SIGKILL: no chance to clean up, as in a power cut
    first.wait()

    second = run_script("model.py", *args, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    resumed_at = int(second.stdout.split("resuming the interrupted run in model.resume/ from epoch ")[1].split()[0])
    assert resumed_at >= 2  # at least epoch 1 was not trained again
    assert second.stdout.count("Epoch ") == 4 - resumed_at + 1
    assert "of 4 (validation accuracy" in second.stdout  # the history spans all 4 epochs
    assert sorted(p.name for p in tmp_path.iterdir()) == COMPLETE_RUN
    network.build_model().load_weights(tmp_path / "model.weights.h5")


def test_run_killed_after_its_last_epoch_finishes_without_training_again(small_mnist_path, tmp_path):
    args = ("--data", str(small_mnist_path), "--epochs", "1", "--no-show")
    first = start_training(tmp_path, *args)
    # The last epoch backed up: what follows takes a minute (model.letter_examples).
    wait_until(first, (tmp_path / "model.resume" / "backup" / "training_metadata.json").exists)
    first.kill()
    first.wait()
    assert not (tmp_path / "model.weights.h5").exists()  # saved only with its stats, after the drawing

    second = run_script("model.py", *args, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "Epoch " not in second.stdout and "kept epoch 1 of 1" in second.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == COMPLETE_RUN


def test_ctrl_c_stops_in_one_line_and_keeps_what_resuming_needs(small_mnist_path, tmp_path):
    run = start_training(tmp_path, "--data", str(small_mnist_path), "--epochs", "20", "--no-show")
    wait_for_epochs(run, tmp_path / "model.resume" / "history.csv", 2)  # so epoch 1 is backed up
    run.send_signal(signal.SIGINT)
    _, stderr = run.communicate(timeout=60)
    assert_one_line_error(subprocess.CompletedProcess(run.args, run.returncode, "", stderr), "run the same command")
    state = tmp_path / "model.resume"
    assert (state / "run.json").is_file() and (state / "backup").is_dir()
    assert not (tmp_path / "model.weights.h5").exists()  # nothing half-trained passed off as the result


def test_unreadable_backup_is_one_line_that_points_to_fresh(small_mnist_path, tmp_path):
    settings = {
        "epochs": 3,
        "batch_size": recipe.DEFAULT.batch_size,
        "learning_rate": recipe.DEFAULT.learning_rate,
        "plain": False,
        "data": str(small_mnist_path),
    }
    state = tmp_path / "model.resume"
    state.mkdir()
    resume.start_or_resume(state, settings, 1, fresh=False)
    (state / "history.csv").write_text("epoch,loss,val_accuracy\n0,1.5,0.5\n")
    (state / "backup").mkdir()
    (state / "backup" / "latest.weights.h5").write_bytes(b"half a backup, as a power cut leaves it")
    (state / "backup" / "training_metadata.json").write_text('{"epoch": 1, "batch": 0}')
    result = run_script("model.py", "--data", str(small_mnist_path), "--epochs", "3", "--no-show", cwd=tmp_path)
    assert_one_line_error(result, "cannot resume from model.resume/", "add --fresh")


def test_second_run_into_the_same_weights_is_refused_and_touches_nothing(small_mnist_path, tmp_path):
    state = tmp_path / "model.resume"
    with resume.exclusive_state(state):  # a run in progress, as another process
        (state / "history.csv").write_text("epoch,loss\n0,1.5\n")
        result = run_script("model.py", "--data", str(small_mnist_path), "--no-show", cwd=tmp_path)
        assert_one_line_error(result, "another model.py run is training into model.resume/")
        assert sorted(p.name for p in state.iterdir()) == ["history.csv", "lock"]
        assert (state / "history.csv").read_text() == "epoch,loss\n0,1.5\n"
    with resume.exclusive_state(state):  # released with its holder
        pass


def test_run_with_other_weights_trains_beside_a_running_one(small_mnist_path, tmp_path):
    with resume.exclusive_state(tmp_path / "model.resume"):
        result = run_script(
            "model.py",
            *("--data", str(small_mnist_path), "--epochs", "1", "--no-show", "--weights", "other.weights.h5"),
            cwd=tmp_path,
        )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "other.weights.h5").is_file() and not (tmp_path / "other.resume").exists()


def tiny_training(state: Path, epochs: int, callbacks=()) -> tuple[keras.Model, dict]:
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 256, (256, 28, 28, 1), dtype=np.uint8), rng.integers(0, 10, 256)
    net = network.build_model()
    history = training.train(
        net, (x[:192], y[:192]), (x[192:], y[192:]), recipe.Recipe(epochs, 64, 1e-3), state, list(callbacks)
    )
    return net, history


class StopAtEpoch(keras.callbacks.Callback):
    def __init__(self, epoch: int):
        super().__init__()
        self.epoch, self.started, self.steps_before = epoch, [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.started.append(epoch)
        self.steps_before.append(int(self.model.optimizer.iterations))
        if epoch == self.epoch:
            raise KeyboardInterrupt


def test_resumed_training_continues_the_optimizer_and_returns_every_epoch(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        tiny_training(tmp_path, 4, [StopAtEpoch(2)])
    tracker = StopAtEpoch(-1)
    _, history = tiny_training(tmp_path, 4, [tracker])
    assert tracker.started == [2, 3]  # epochs 0 and 1 were not trained again
    assert tracker.steps_before == [2 * 3, 3 * 3]  # the learning-rate schedule went on, not back to warm-up
    assert len(history["loss"]) == len(history["val_accuracy"]) == 4


def test_history_counts_an_epoch_logged_twice_once_with_its_last_values(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("epoch,loss,val_accuracy\n0,2.0,0.5\n1,1.0,0.7\n1,0.9,0.8\n2,0.5,0.9\n")
    assert resume.read_history(path) == {"loss": [2.0, 0.9, 0.5], "val_accuracy": [0.5, 0.8, 0.9]}
    assert resume.read_history(tmp_path / "absent.csv") == {}


SETTINGS = {"epochs": 13, "batch_size": 256, "learning_rate": 0.003, "plain": False, "data": "/d/mnist.npz"}


def interrupted_state(tmp_path: Path, seed: int = 7) -> Path:
    state = tmp_path / "model.resume"
    state.mkdir()
    assert resume.start_or_resume(state, SETTINGS, seed, fresh=False) == seed
    (state / "history.csv").write_text("epoch,loss\n0,1.5\n")
    return state


def test_resume_keeps_the_interrupted_runs_seed(tmp_path):
    state = interrupted_state(tmp_path, seed=7)
    assert resume.start_or_resume(state, SETTINGS, None, fresh=False) == 7
    assert (state / "history.csv").exists()


@pytest.mark.parametrize(("change", "named"), [({"epochs": 20}, "epochs 13"), ({"plain": True}, "plain False")])
def test_resume_with_other_settings_is_refused_naming_them(tmp_path, change, named):
    state = interrupted_state(tmp_path)
    with pytest.raises(UserError, match=f"other settings \\({named}\\).*--fresh"):
        resume.start_or_resume(state, {**SETTINGS, **change}, None, fresh=False)
    assert (state / "history.csv").exists()  # the interrupted run is still there to finish


def test_resume_with_another_seed_is_refused(tmp_path):
    with pytest.raises(UserError, match="seed 7"):
        resume.start_or_resume(interrupted_state(tmp_path, seed=7), SETTINGS, 8, fresh=False)


def test_fresh_discards_an_interrupted_run(tmp_path):
    state = interrupted_state(tmp_path, seed=7)
    assert resume.start_or_resume(state, {**SETTINGS, "epochs": 20}, 8, fresh=True) == 8
    assert sorted(p.name for p in state.iterdir()) == ["run.json"]
