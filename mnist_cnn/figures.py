"""Figures and windows: the training history, what the network saw in a picture, opening a window.

Matplotlib only, no TensorFlow: `predict.py --show` asks for a display before loading the network.
Figures are drawn into a Figure given by the caller, so the same drawing goes to a file or a window.
"""

import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from mnist_cnn.storage import atomic_path

PLOT_WINDOW_TITLE = "MNIST training history"
HISTORY_SIZE = (11, 4.5)  # inches
PREDICTION_SIZE = (10, 3.6)
MISTAKES_SIZE = (15, 6)


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


def prediction_size(pieces: list) -> tuple[float, float]:
    """The figure's size in inches for a picture of these pieces: one row for one, more for a number."""
    return PREDICTION_SIZE if len(pieces) == 1 else (max(PREDICTION_SIZE[0], 1.6 * len(pieces)), 7.5)


def draw_prediction(fig, path: Path, picture: Image.Image, pieces: list) -> None:
    """The picture with each piece's box, the 28x28 image the network saw of each, and their
    probabilities (reading.Piece): side by side for one piece, in a column per piece for a number."""
    if len(pieces) == 1:
        picture_ax, seen_ax, bars_ax = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 1, 1.4]})
        draw_picture(picture_ax, path, picture, pieces)
        draw_seen(seen_ax, pieces[0].digit.image, "what the network sees (28x28)", pieces[0].why)
        draw_bars(bars_ax, pieces[0], "prediction")
    else:
        grid = fig.add_gridspec(3, len(pieces), height_ratios=[2, 1, 1])
        draw_picture(fig.add_subplot(grid[0, :]), path, picture, pieces)
        for n, piece in enumerate(pieces):
            # Each column is 1.6 inches wide: the colours' legend once, for the row, and the bars'
            # axis labels on the first column only, or the titles and labels run into each other.
            seen_ax, bars_ax = fig.add_subplot(grid[1, n]), fig.add_subplot(grid[2, n])
            draw_seen(seen_ax, piece.digit.image, f"piece {n + 1}", piece.why, legend=False)
            draw_bars(bars_ax, piece, "", labels=n == 0)
            bars_ax.tick_params(labelsize=7)
        if any(piece.why is not None for piece in pieces):
            fig.supxlabel("what the network saw of each piece (28x28): red, the ink for its answer; blue, against it")
    fig.tight_layout()


def draw_picture(ax, path: Path, picture: Image.Image, pieces: list) -> None:
    """The picture as given, each piece's box on it labelled with its reading when there are
    several: digits in orange, marks that are not digits in grey."""
    from matplotlib.patches import Rectangle

    ax.imshow(picture, cmap="gray")
    ax.set_title(f"{path.name}", fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    if len(pieces) == 1:
        return
    scale = picture.width / picture.info.get("original_size", picture.size)[0]
    for piece in pieces:
        left, top, right, bottom = (v * scale for v in piece.digit.box)
        label = str(piece.answer) if piece.is_digit else "mark" if piece.digit.mark else "not a digit"
        color = "tab:orange" if piece.is_digit else "tab:gray"
        ax.add_patch(Rectangle((left, top), right - left, bottom - top, fill=False, color=color, lw=1.5))
        ax.text(left, top, label, color=color, fontsize=11 if piece.is_digit else 8, va="bottom")


def draw_seen(ax, image: np.ndarray, title: str, why: np.ndarray | None = None, legend: bool = True) -> None:
    """The 28x28 the network saw; with `why` (reading.Reader.why), the ink that pushed it toward its
    answer tinted red and the ink that pushed it away tinted blue, the stronger the deeper, and
    under the title, unless the figure says it once, which is which (`legend`)."""
    ax.imshow(image[..., 0], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    if why is not None and np.abs(why).max() > 0:
        strength = np.abs(why) / np.abs(why).max()
        ax.imshow(why, cmap="bwr", vmin=-np.abs(why).max(), vmax=np.abs(why).max(), alpha=0.85 * strength)
        if legend:
            title += "\nred: for the answer, blue: against"
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


def draw_bars(ax, piece, title: str, labels: bool = True) -> None:
    """Ten bars, the answer's in orange, titled with it and its probability, or with
    'not a digit' and the closest digit when the piece is not one (a mark beside the digits: so)."""
    best, probabilities = piece.answer, piece.probabilities
    colors = [("tab:orange" if piece.is_digit else "tab:gray") if d == best else "tab:blue" for d in range(10)]
    ax.bar(range(10), probabilities, color=colors)
    ax.set_xticks(range(10))
    ax.set_ylim(0, 1)
    if labels:  # the axes' names: left out beside a first column that has them
        ax.set_xlabel("digit")
        ax.set_ylabel("probability")
    answer = f"{best} ({probabilities[best]:.1%})" if piece.is_digit else f"not a digit (closest {best})"
    if piece.is_digit and piece.read_as is not None:  # reading.read_by_its_loops: why not the tallest bar
        answer += f", not {np.argmax(probabilities)}: {'no loop' if piece.loops == 0 else 'a loop'}"
    if piece.digit.mark:  # a dash or a point beside the digits: left out whatever the network makes of it
        answer = "a mark, left out"
    ax.set_title(f"{title + ': ' if title else ''}{answer}", fontsize=10)


def mistakes_path(plot: Path) -> Path:
    """Where the mistakes figure goes: beside the history plot, results.png -> results-mistakes.png."""
    return plot.with_name(f"{plot.stem}-mistakes{plot.suffix}")


def worst_mistakes(labels: np.ndarray, probabilities: np.ndarray, limit: int = 40) -> np.ndarray:
    """The indices of the misread images, the most confidently wrong first, at most `limit`."""
    answers = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(answers != labels)
    return wrong[np.argsort(-probabilities[wrong].max(axis=1), kind="stable")][:limit]


def confusion(labels: np.ndarray, answers: np.ndarray) -> np.ndarray:
    """10x10 counts: rows the true digit, columns the answer."""
    return np.bincount(labels * 10 + answers, minlength=100).reshape(10, 10)


def draw_mistakes(fig, images: np.ndarray, labels: np.ndarray, probabilities: np.ndarray) -> None:
    """The test set's confusion matrix, and the digits it misreads most confidently, each with its
    label and the answer (label -> answer, probability)."""
    answers = probabilities.argmax(axis=1)
    counts = confusion(labels, answers)
    grid = fig.add_gridspec(5, 14)
    ax = fig.add_subplot(grid[:, :6])
    off = np.where(np.eye(10, dtype=bool), 0, counts)
    ax.imshow(off, cmap="Reds")
    for (row, col), n in np.ndenumerate(counts):
        if n:
            dark = off[row, col] > off.max() / 2
            color = "tab:green" if row == col else ("w" if dark else "k")
            ax.text(col, row, str(n), ha="center", va="center", fontsize=7, color=color)
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_xlabel("answer")
    ax.set_ylabel("label")
    right = int(np.trace(counts))
    ax.set_title(f"test set: {right:,} of {len(labels):,} right; misreads off the diagonal", fontsize=10)
    for n, i in enumerate(worst_mistakes(labels, probabilities)):
        cell = fig.add_subplot(grid[n // 8, 6 + n % 8])
        cell.imshow(np.squeeze(images[i]), cmap="gray", vmin=0, vmax=255)
        cell.set_title(f"{labels[i]} → {answers[i]} {probabilities[i].max():.0%}", fontsize=8, color="tab:red")
        cell.set_xticks([])
        cell.set_yticks([])
    fig.suptitle("What the network gets wrong: label → answer, most confident misreads first")
    fig.tight_layout()


def save_figure(path: Path, draw: Callable, figsize: tuple[float, float]) -> None:
    """Draw into a new figure and save it as a PNG, whole or not at all."""
    from matplotlib.figure import Figure  # the object API needs no GUI, with or without a display

    fig = Figure(figsize=figsize)
    draw(fig)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")


def save_plot(history: dict[str, list[float]], path: Path, test_accuracy: float | None = None) -> None:
    save_figure(path, lambda fig: draw_history(fig, history, test_accuracy), HISTORY_SIZE)


def save_mistakes(path: Path, images: np.ndarray, labels: np.ndarray, probabilities: np.ndarray) -> None:
    save_figure(path, lambda fig: draw_mistakes(fig, images, labels, probabilities), MISTAKES_SIZE)


def has_display() -> bool:
    """Whether a window can be opened: on Linux (the Docker image) only with an X/Wayland display."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def show_window(title: str, draw: Callable, figsize: tuple[float, float]) -> None:
    """Draw into a new window titled `title` and wait until it is closed; where no window can
    open, say so in one line and carry on (what was drawn is saved to a file by the caller)."""
    import matplotlib.pyplot as plt

    problem = window_problem()
    if problem:
        print(f"{Path(sys.argv[0]).name}: {problem}", file=sys.stderr)
        return
    draw(plt.figure(title, figsize=figsize))
    plt.show()


def window_problem() -> str | None:
    """Why no window can open although a display is set, or None when one can."""
    import matplotlib.pyplot as plt  # picks TkAgg when the display answers, else falls back to Agg

    if plt.get_backend().lower() != "agg":
        return None
    display = os.environ.get("DISPLAY", "")
    return f"cannot open a window on DISPLAY={display!r} (display unreachable or python3-tk missing)"
