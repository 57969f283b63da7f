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


def draw_prediction(fig, path: Path, picture: Image.Image, digit_image: np.ndarray, probabilities: np.ndarray) -> None:
    """The picture, the 28x28 image the network saw, and its ten probabilities, side by side."""
    picture_ax, seen_ax, bars_ax = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 1, 1.4]})
    picture_ax.imshow(picture, cmap="gray")
    picture_ax.set_title(f"{path.name}", fontsize=10)
    seen_ax.imshow(digit_image[..., 0], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    seen_ax.set_title("what the network sees (28x28)", fontsize=10)
    for ax in (picture_ax, seen_ax):
        ax.set_xticks([])
        ax.set_yticks([])
    best = int(np.argmax(probabilities))
    colors = ["tab:orange" if d == best else "tab:blue" for d in range(10)]
    bars_ax.bar(range(10), probabilities, color=colors)
    bars_ax.set_xticks(range(10))
    bars_ax.set_ylim(0, 1)
    bars_ax.set_xlabel("digit")
    bars_ax.set_ylabel("probability")
    bars_ax.set_title(f"prediction: {best} ({probabilities[best]:.1%})", fontsize=10)
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


def has_display() -> bool:
    """Whether a window can be opened: on Linux (the Docker image) only with an X/Wayland display."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def show_window(title: str, draw: Callable, figsize: tuple[float, float]) -> None:
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
