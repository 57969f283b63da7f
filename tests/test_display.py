"""The windows on a real X server (the training plot, --show, the drawing pad), reached over TCP as
the Docker container reaches XQuartz.

Xvfb stands in for XQuartz (DISPLAY=host.docker.internal:0 in the container is a TCP display,
as 127.0.0.1:N is here); xdotool finds the window by its title and presses q, matplotlib's key
to close a figure; ImageMagick's `import` captures what the window shows. Skipped, with the
reason, where those Debian packages (xvfb, xdotool, imagemagick) are missing; CI installs them.
"""

import io
import os
import select
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import ROOT, assert_one_line_error, run_script
from PIL import Image

from mnist_cnn import figures, pad

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


def start_on(display: str, script: str, *args: str, cwd) -> subprocess.Popen:
    """One of the project's scripts, unbuffered, on the display, as a user starts it."""
    return subprocess.Popen(
        [sys.executable, "-u", str(ROOT / script), *args],
        cwd=cwd,
        env={**os.environ, "DISPLAY": display, "MPLBACKEND": ""},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
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
    run = start_on(display, "model.py", "--data", str(small_mnist_path), "--epochs", "2", cwd=tmp_path)
    # Before the window, model.py draws the printed characters its letter detector learns from:
    # over a minute on an idle 2-core AMD EPYC, and past 120 s there while benchmarks ran beside it.
    window = find_window(display, figures.PLOT_WINDOW_TITLE, run, timeout=300)
    shot = capture(display, window)
    assert_shows_a_plot(shot, (1000, 400))  # figsize 11 x 4.5 inches at 100 dpi
    pixels = np.asarray(shot)
    # The training and validation curves, in matplotlib's first two colours.
    assert share_of(pixels, MATPLOTLIB_BLUE) > 0.0005 and share_of(pixels, MATPLOTLIB_ORANGE) > 0.0005
    assert (tmp_path / "results.png").is_file()  # saved before the window opened

    press(display, window, "q")
    stdout, stderr = run.communicate(timeout=60)
    assert run.returncode == 0, stderr
    assert "saved model.weights.h5, model.digits.npz, results.png and results-mistakes.png" in stdout
    assert "cannot open a window" not in stderr


def test_predict_show_opens_a_window_per_image_with_what_the_network_saw(display, untrained_weights, tmp_path):
    picture = Image.new("L", (200, 200), 235)
    picture.paste(20, (90, 40, 110, 160))  # a "1"
    picture.save(tmp_path / "one.png")
    run = start_on(display, "predict.py", "one.png", "--show", "--weights", str(untrained_weights), cwd=tmp_path)
    window = find_window(display, "predict.py: one.png", run)
    shot = capture(display, window)
    assert_shows_a_plot(shot, (900, 300))  # figsize 10 x 3.6 inches at 100 dpi
    # The probability bars are matplotlib's blue; the 28x28 digit is white on black.
    assert share_of(np.asarray(shot), MATPLOTLIB_BLUE) > 0.001

    press(display, window, "q")
    stdout, stderr = run.communicate(timeout=60)
    assert run.returncode == 0, stderr
    assert stdout.split()[0].isdigit()


def pad_points(window_width: int, points: list[tuple[float, float]]) -> list[tuple[int, int]]:
    """Where points of the pad's canvas (0..280 pixels) lie in its window: the pad's own layout,
    at the dpi the window was drawn at."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dpi = window_width / pad.FIGSIZE[0]
    fig = Figure(figsize=pad.FIGSIZE, dpi=dpi)
    FigureCanvasAgg(fig)
    canvas, _, _ = pad.layout(fig)
    fig.canvas.draw()
    height = pad.FIGSIZE[1] * dpi
    return [(round(x), round(height - y)) for x, y in canvas.transData.transform(points)]


def write_on(display: str, window: str, points: list[tuple[float, float]]) -> None:
    """One stroke through `points` of the canvas, as a mouse draws it: down, moves, up."""
    env = {**os.environ, "DISPLAY": display}
    width = int(
        subprocess.run(
            ["xdotool", "getwindowgeometry", "--shell", window], env=env, capture_output=True, text=True, check=True
        )
        .stdout.split("WIDTH=")[1]
        .split()[0]
    )
    placed = pad_points(width, points)

    def xdotool(*args):
        subprocess.run(["xdotool", *args], env=env, check=True, timeout=30)
        time.sleep(0.03)

    xdotool("mousemove", "--window", window, *map(str, placed[0]))
    xdotool("mousedown", "1")
    for x, y in placed[1:]:
        xdotool("mousemove", "--window", window, str(x), str(y))
    xdotool("mouseup", "1")


def next_line(run: subprocess.Popen, timeout: float = 30) -> str:
    """The pad's next line on stdout."""
    ready, _, _ = select.select([run.stdout], [], [], timeout)
    assert ready, "the pad printed nothing after the stroke"
    return run.stdout.readline().strip()


def press(display: str, window: str, key: str) -> None:
    subprocess.run(
        ["xdotool", "windowfocus", "--sync", window, "key", key],
        env={**os.environ, "DISPLAY": display},
        check=True,
        timeout=30,
    )


def test_drawing_pad_reads_each_stroke_clears_saves_and_quits(display, trained_run, tmp_path):
    workdir, _ = trained_run
    run = start_on(display, "predict.py", "--draw", "--weights", str(workdir / "model.weights.h5"), cwd=tmp_path)
    window = find_window(display, pad.TITLE, run)
    write_on(display, window, [(140, 40 + 10 * i) for i in range(21)])  # a vertical stroke
    assert next_line(run).split()[0] == "1"
    shot = np.asarray(capture(display, window).convert("L"))
    left, top = pad_points(shot.shape[1], [(140, 140)])[0]
    assert shot[top - 5 : top + 5, left - 5 : left + 5].max() < 60  # ink on the canvas where it was drawn

    press(display, window, "c")
    loop = [(140 + 70 * np.cos(a), 140 + 95 * np.sin(a)) for a in np.linspace(0, 2 * np.pi, 40)]
    write_on(display, window, loop)
    assert next_line(run).split()[0] == "0"
    press(display, window, "s")
    deadline = time.monotonic() + 10
    while not (tmp_path / "drawing-1.png").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    reread = run_script("predict.py", "drawing-1.png", "--weights", str(workdir / "model.weights.h5"), cwd=tmp_path)
    assert reread.stdout.split()[0] == "0", reread.stderr

    press(display, window, "q")
    _, stderr = run.communicate(timeout=60)
    assert run.returncode == 0, stderr


def test_drawing_pad_without_a_display_is_one_line(untrained_weights, tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = run_script("predict.py", "--draw", "--weights", str(untrained_weights), cwd=tmp_path, env=env)
    assert_one_line_error(result, "no display: --draw needs a window")
    assert result.returncode == 1
