"""The drawing pad of `predict.py --draw`: write a digit with the mouse and watch the network read it.

One matplotlib window (TkAgg, as the training plot, so it opens from Docker over XQuartz): the
canvas on the left; on the right, what the network sees of each digit (28x28, tinted by why it
answered so) and the probabilities. When a stroke ends, the drawing goes through predict.py's
own pipeline and the line predict.py would print for it as a file is printed on stdout.

    left button: write    right button or c: clear    u: undo the last stroke
    s: save the drawing as drawing-N.png (dark ink on white, read the same by predict.py)
    q or closing the window: end

Matplotlib's own event handling; the picture is drawn with Pillow, so the window shows exactly
what is read and saved.
"""

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from mnist_cnn import figures, formats, reading
from mnist_cnn.errors import UserError
from mnist_cnn.storage import atomic_path

TITLE = "predict.py: draw"
CANVAS = 280  # pixels a side: ten times MNIST's 28
# The pen, as thick against a digit written most of the canvas tall (about 200 px) as MNIST's
# strokes (2.5 px) against its 20 px digits; the pipeline evens out the rest.
PEN = 24
FIGSIZE = (11, 5.5)  # inches


class Pad:
    """The window, its strokes, and the reading after each."""

    def __init__(self, reader: reading.Reader, folder: Path = Path("."), say: Callable[[str], None] = print):
        import matplotlib.pyplot as plt  # TkAgg where the display answers

        # No toolbar (its pan and zoom would take the pen), and c and s are the pad's, not
        # matplotlib's "back" and "save figure".
        plt.rcParams.update({"toolbar": "None", "keymap.back": [], "keymap.save": []})
        self.reader, self.folder, self.say = reader, folder, say
        self.strokes: list[list[tuple[float, float]]] = []
        self.writing = False
        self.fig = plt.figure(TITLE, figsize=FIGSIZE)
        self.canvas, self.seen, self.bars = layout(self.fig)
        self.ink = self.canvas.imshow(np.asarray(self.picture()), cmap="gray", vmin=0, vmax=255)
        self.show_reading([])
        for event, handler in (
            ("button_press_event", self.on_press),
            ("motion_notify_event", self.on_move),
            ("button_release_event", self.on_release),
            ("key_press_event", self.on_key),
        ):
            self.fig.canvas.mpl_connect(event, handler)

    def picture(self) -> Image.Image:
        """The drawing: dark strokes on white paper."""
        img = Image.new("L", (CANVAS, CANVAS), 255)
        draw = ImageDraw.Draw(img)
        for stroke in self.strokes:
            if len(stroke) > 1:
                draw.line(stroke, fill=0, width=PEN, joint="curve")
            for x, y in stroke:  # a round nib at every point: smooth joints and ends, a dot for a tap
                r = (PEN - 1) / 2  # the line's own half-width, so the nib adds no bumps to it
                draw.ellipse((x - r, y - r, x + r, y + r), fill=0)
        return img

    def on_press(self, event) -> None:
        if event.inaxes is not self.canvas or event.xdata is None:
            return
        if event.button == 3:
            self.clear()
        elif event.button == 1:
            self.writing = True
            self.strokes.append([(event.xdata, event.ydata)])
            self.redraw()

    def on_move(self, event) -> None:
        if self.writing and event.inaxes is self.canvas and event.xdata is not None:
            self.strokes[-1].append((event.xdata, event.ydata))
            self.redraw()

    def on_release(self, event) -> None:
        if self.writing:
            self.writing = False
            self.read()

    def on_key(self, event) -> None:
        if event.key == "c":
            self.clear()
        elif event.key == "u" and self.strokes:
            self.strokes.pop()
            self.redraw()
            self.read()
        elif event.key == "s":
            self.save()

    def clear(self) -> None:
        self.strokes.clear()
        self.redraw()
        self.show_reading([])

    def redraw(self) -> None:
        self.ink.set_data(np.asarray(self.picture()))
        self.fig.canvas.draw_idle()

    def read(self) -> None:
        """Read the drawing as predict.py reads a file, print its line and show why."""
        try:
            pieces = [self.reader.why(p) for p in reading.read_picture(self.reader, self.picture())]
        except UserError:  # an empty canvas, or strokes too faint to be ink
            self.show_reading([])
            return
        self.say(formats.format_reading(pieces))
        self.show_reading(pieces)

    def show_reading(self, pieces: list[reading.Piece]) -> None:
        """The right half: each piece's 28x28 side by side, tinted by why, and the probabilities of
        the least sure digit (of the one piece, for a single digit)."""
        self.seen.clear()
        self.bars.clear()
        if not pieces:
            figures.draw_seen(self.seen, np.zeros((28, 28, 1)), "what the network sees (28x28)")
            self.bars.set_axis_off()
        else:
            images = np.concatenate([p.digit.image for p in pieces], axis=1)
            why = None if any(p.why is None for p in pieces) else np.concatenate([p.why for p in pieces], axis=1)
            figures.draw_seen(self.seen, images, "what the network sees (28x28)", why)
            least = min(pieces, key=lambda p: (p.is_digit, p.confidence))
            figures.draw_bars(self.bars, least, formats.format_reading(pieces) if len(pieces) > 1 else "")
        self.fig.canvas.draw_idle()

    def save(self) -> None:
        """Save the drawing as the first free drawing-N.png in the folder."""
        n = 1
        while (self.folder / f"drawing-{n}.png").exists():
            n += 1
        path = self.folder / f"drawing-{n}.png"
        try:
            with atomic_path(path) as tmp:
                self.picture().save(tmp, format="PNG")
        except UserError as e:  # the disk filled since the start: say so, keep drawing
            print(f"predict.py: {e}", file=sys.stderr)
            return
        print(f"predict.py: saved {path}", file=sys.stderr)


def layout(fig) -> tuple:
    """The pad's axes in `fig`: the canvas (left, CANVAS x CANVAS pixels once shown), what the
    network sees (top right) and the probabilities (bottom right)."""
    grid = fig.add_gridspec(2, 2, width_ratios=[1.1, 1], height_ratios=[1, 1])
    canvas = fig.add_subplot(grid[:, 0])
    canvas.set_title("write here: left button; c or right button clears, u undoes, s saves", fontsize=9)
    canvas.set_xticks([])
    canvas.set_yticks([])
    canvas.set_xlim(-0.5, CANVAS - 0.5)
    canvas.set_ylim(CANVAS - 0.5, -0.5)
    canvas.set_aspect("equal")
    return canvas, fig.add_subplot(grid[0, 1]), fig.add_subplot(grid[1, 1])


def draw(reader: reading.Reader, folder: Path = Path(".")) -> None:
    """Open the pad and wait until it is closed."""
    import matplotlib.pyplot as plt

    pad = Pad(reader, folder, say=lambda line: print(line, flush=True))
    plt.show()  # matplotlib holds the pad's handlers weakly: `pad` keeps them alive until here
    del pad
