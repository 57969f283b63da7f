"""The plot window on a real X server, reached over TCP as the Docker container reaches XQuartz.

Xvfb stands in for XQuartz (DISPLAY=host.docker.internal:0 in the container is a TCP display,
as 127.0.0.1:N is here); xdotool finds the window by its title and presses q, matplotlib's key
to close a figure; ImageMagick's `import` captures what the window shows. Skipped, with the
reason, where those Debian packages (xvfb, xdotool, imagemagick) are missing; CI installs them.
"""

import io
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import ROOT
from PIL import Image

from mnist_cnn import figures

TOOLS = ("Xvfb", "xdotool", "import")
pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in TOOLS),
    reason="needs the X tools Xvfb, xdotool and import (Debian: xvfb xdotool imagemagick)",
)


@pytest.fixture(scope="module")
def display():
    """A fresh X server listening on TCP; yields the DISPLAY value that reaches it."""
    read, write = os.pipe()
    server = subprocess.Popen(
        [
            "Xvfb",
            "-displayfd",
            str(write),
            "-screen",
            "0",
            "1600x1000x24",
            "-listen",
            "tcp",
            "-ac",
            "-nolisten",
            "unix",
            # Without it the server resets when its last client leaves (one test's window closed)
            # and refuses the next test's connection while it does.
            "-noreset",
        ],
        pass_fds=[write],
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as f:
        number = f.readline().strip()  # Xvfb writes its display number once it accepts clients
    assert number, "Xvfb did not start"
    yield f"127.0.0.1:{number}"
    server.terminate()
    server.wait(timeout=10)


def find_window(display: str, title: str, process: subprocess.Popen, timeout: float = 120) -> str:
    """The id of the visible window named `title`, once it has been drawn."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"exited before any window opened: {process.communicate()}"
        found = subprocess.run(
            ["xdotool", "search", "--onlyvisible", "--name", f"^{title}$"],
            env={**os.environ, "DISPLAY": display},
            capture_output=True,
            text=True,
        )
        if found.stdout.split():
            time.sleep(1)  # mapped; give Tk a moment to paint the figure into it
            return found.stdout.split()[0]
        time.sleep(0.25)
    pytest.fail(f"no window named {title!r} within {timeout} s")


def capture(display: str, window: str) -> Image.Image:
    shot = subprocess.run(
        ["import", "-display", display, "-window", window, "png:-"], capture_output=True, check=True, timeout=30
    )
    return Image.open(io.BytesIO(shot.stdout)).convert("RGB")


def close_with_q(display: str, window: str) -> None:
    subprocess.run(
        ["xdotool", "windowfocus", "--sync", window, "key", "q"],
        env={**os.environ, "DISPLAY": display},
        check=True,
        timeout=30,
    )


def share_of(pixels: np.ndarray, colour: tuple[int, int, int], tolerance: int = 40) -> float:
    """The fraction of pixels within `tolerance` of an RGB colour."""
    return float((np.abs(pixels.astype(int) - colour).max(axis=-1) <= tolerance).mean())


MATPLOTLIB_BLUE, MATPLOTLIB_ORANGE = (31, 119, 180), (255, 127, 14)  # the first two lines of any plot


def assert_shows_a_plot(shot: Image.Image, min_size: tuple[int, int]) -> None:
    pixels = np.asarray(shot)
    assert shot.width >= min_size[0] and shot.height >= min_size[1], shot.size
    assert share_of(pixels, (255, 255, 255)) > 0.5  # a white figure, not an empty black window
    assert share_of(pixels, (0, 0, 0), tolerance=80) > 0.005  # axes, ticks and text


def test_training_plot_opens_on_the_display_shows_the_history_and_closes_with_q(display, small_mnist_path, tmp_path):
    run = subprocess.Popen(
        [sys.executable, str(ROOT / "model.py"), "--data", str(small_mnist_path), "--epochs", "2"],
        cwd=tmp_path,
        env={**os.environ, "DISPLAY": display, "MPLBACKEND": ""},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    window = find_window(display, figures.PLOT_WINDOW_TITLE, run)
    shot = capture(display, window)
    assert_shows_a_plot(shot, (1000, 400))  # figsize 11 x 4.5 inches at 100 dpi
    pixels = np.asarray(shot)
    # The training and validation curves, in matplotlib's first two colours.
    assert share_of(pixels, MATPLOTLIB_BLUE) > 0.0005 and share_of(pixels, MATPLOTLIB_ORANGE) > 0.0005
    assert (tmp_path / "results.png").is_file()  # saved before the window opened

    close_with_q(display, window)
    stdout, stderr = run.communicate(timeout=60)
    assert run.returncode == 0, stderr
    assert "saved model.weights.h5, model.digits.npz and results.png" in stdout
    assert "cannot open a window" not in stderr


def test_predict_show_opens_a_window_per_image_with_what_the_network_saw(display, untrained_weights, tmp_path):
    picture = Image.new("L", (200, 200), 235)
    picture.paste(20, (90, 40, 110, 160))  # a "1"
    picture.save(tmp_path / "one.png")
    run = subprocess.Popen(
        [sys.executable, str(ROOT / "predict.py"), "one.png", "--show", "--weights", str(untrained_weights)],
        cwd=tmp_path,
        env={**os.environ, "DISPLAY": display, "MPLBACKEND": ""},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    window = find_window(display, "predict.py: one.png", run)
    shot = capture(display, window)
    assert_shows_a_plot(shot, (900, 300))  # figsize 10 x 3.6 inches at 100 dpi
    # The probability bars are matplotlib's blue; the 28x28 digit is white on black.
    assert share_of(np.asarray(shot), MATPLOTLIB_BLUE) > 0.001

    close_with_q(display, window)
    stdout, stderr = run.communicate(timeout=60)
    assert run.returncode == 0, stderr
    assert stdout.split()[0].isdigit()
