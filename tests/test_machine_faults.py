"""Faults of the machine, on real filesystems: a full disk, a read-only folder. Each ends in one
line and status 1, found before the work where it can be, and nothing the user had is lost.

The filesystems are tmpfs mounts of a few MB, which need root (CI runs as root); elsewhere
these tests skip with the reason.
"""

import subprocess
from pathlib import Path

import pytest
from conftest import assert_one_line_error, run_script
from PIL import Image, ImageDraw

from mnist_cnn import network


@pytest.fixture
def disk(tmp_path):
    """mount(size, read_only=False) -> a folder that is a tmpfs of that size; unmounted afterwards."""
    mounted = []

    def mount(size: str, read_only: bool = False) -> Path:
        folder = tmp_path / f"disk{len(mounted)}"
        folder.mkdir()
        options = f"size={size}" + (",ro" if read_only else "")
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode().strip() or 'not root'}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", "--lazy", str(folder)], check=False)


def resize(folder: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(folder)], check=True)


def weights_size() -> int:
    """Bytes of a weights file as training saves it (the optimizer's state included)."""
    model = network.build_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.optimizer.build(model.trainable_variables)
    return len(network.weights_bytes(model))


@pytest.mark.parametrize("flag", ["--weights", "--plot"])
def test_a_read_only_folder_for_training_output_is_refused_before_training(flag, disk, small_mnist_path, tmp_path):
    read_only = disk("1m", read_only=True)
    name = "m.weights.h5" if flag == "--weights" else "results.png"
    result = run_script(
        "model.py", "--data", str(small_mnist_path), "--no-show", flag, str(read_only / name), cwd=tmp_path
    )
    assert_one_line_error(result, f"cannot write {read_only / name}: read-only file system")
    assert "Epoch" not in result.stdout  # found before the work, not after it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["disk0"]  # nothing made elsewhere either


def test_a_full_disk_in_the_middle_of_training_resumes_with_the_same_command_once_there_is_room(disk, small_mnist_path):
    size = weights_size()
    # After epoch 1 the best weights and the backup fit; at epoch 2 the new copy of either does not.
    folder = disk(str(int(2.5 * size)))
    args = ("--data", str(small_mnist_path), "--epochs", "3", "--seed", "0", "--no-show")
    first = run_script("model.py", *args, cwd=folder)
    assert_one_line_error(first, "cannot write", "no space left on device", "make room and run the same command")
    assert "Segmentation" not in first.stderr and first.returncode == 1
    assert "Epoch 2/3" in first.stdout and "Epoch 3/3" not in first.stdout
    state = folder / "model.resume"
    assert not [p for p in state.rglob(".*") if p.name != ".lock"]  # no half-written temporary left
    network.build_model().load_weights(state / "backup" / "latest.weights.h5")  # the backup is whole

    resize(folder, str(4 * size))
    second = run_script("model.py", *args, cwd=folder)
    assert second.returncode == 0, second.stderr
    assert "resuming the interrupted run in model.resume/ from epoch 2 of 3" in second.stdout
    assert "of 3 (validation accuracy" in second.stdout
    assert sorted(p.name for p in folder.iterdir()) == [
        "model.digits.npz",
        "model.weights.h5",
        "results-mistakes.png",
        "results.png",
    ]


def test_a_preview_into_a_read_only_folder_is_refused_before_reading(disk, tmp_path, untrained_weights):
    read_only = disk("1m", read_only=True)
    Image.new("L", (60, 60), 255).save(tmp_path / "a.png")
    result = run_script(
        "predict.py",
        *(str(tmp_path / "a.png"), "--weights", str(untrained_weights), "--preview", str(read_only / "p.png")),
        cwd=tmp_path,
    )
    assert_one_line_error(result, f"cannot write {read_only / 'p.png'}: read-only file system")
    assert result.stdout == ""


def test_a_full_disk_under_the_previews_still_prints_every_reading_then_fails(disk, tmp_path, untrained_weights):
    folder = disk("24k")  # one preview (about 18 kB) fits, the next does not
    pictures = []
    for i in range(3):
        picture = Image.new("L", (80, 100), 255)
        ImageDraw.Draw(picture).line([(40, 15), (40, 85)], fill=0, width=8)
        picture.save(tmp_path / f"{i}.png")
        pictures.append(str(tmp_path / f"{i}.png"))
    result = run_script(
        "predict.py", *pictures, "--weights", str(untrained_weights), "--preview", str(folder / "p.png"), cwd=tmp_path
    )
    assert_one_line_error(result, "cannot write", "no space left on device")
    assert len(result.stdout.splitlines()) == 3  # every picture read
    for left in folder.iterdir():  # what was written is whole; nothing half-written is left
        assert not left.name.startswith(".")
        with Image.open(left) as figure:
            figure.load()
