"""Printed letters and symbols, printed digits and MNIST's digits on paper, as predict.py sees
them: what novelty.py's letter detector learns "not a digit" from.

MNIST holds digits only, so the network's view of a letter is learnt nowhere. Printed characters
in the fonts matplotlib ships (DejaVu, STIX, Computer Modern) teach the shape of a letter without
a writer's hand: letters unlike any digit and symbols on one side; on the other the same fonts'
digits, the letters shaped like one (O, I, S, Z, B...) and MNIST digits drawn on a page, so that
what the detector learns is a letter's shape, not a printed character's style nor the look of a
picture read by the pipeline. Each is drawn and read by pictures.read_digits, as a user's
picture would be. Pillow and NumPy only.
"""

from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

from mnist_cnn.errors import UserError
from mnist_cnn.pictures import read_digits

LETTERS = "ACEFHKMNPRTUVWXYacdefhkmnprtuvwxy"  # none of them shaped like a digit
SYMBOLS = "+=%#@?*<>"  # not & nor $, whose strokes are an 8's or an S's
DIGITS = "0123456789"
SHAPED_LIKE_DIGITS = "OoIlSZBGbgq"  # a round O is a 0 to any reader: never taught as "not a digit"
FONTS = (
    "DejaVuSans", "DejaVuSans-Bold", "DejaVuSans-Oblique", "DejaVuSansMono", "DejaVuSerif", "DejaVuSerif-Bold",
    "DejaVuSerif-Italic", "STIXGeneral", "STIXGeneralBol", "STIXGeneralItalic", "cmr10", "cmss10", "cmtt10",
)  # fmt: skip
OUTLINES = (0, 3, 7)  # pixels of outline round each glyph: a fine pen to a marker
CANVAS = 300


def printed(font: Path, char: str, outline: int, rng: np.random.Generator) -> Image.Image:
    """One character, 130-200 pixels tall, black on a white page, turned up to 8 degrees."""
    img = Image.new("L", (CANVAS, CANVAS), 255)
    face = ImageFont.truetype(str(font), int(rng.uniform(130, 200)))
    ImageDraw.Draw(img).text(
        (CANVAS // 2, CANVAS // 2), char, font=face, fill=0, anchor="mm", stroke_width=outline, stroke_fill=0
    )
    return img.rotate(rng.uniform(-8, 8), fillcolor=255)


def as_read(chars: str, rng: np.random.Generator) -> np.ndarray:
    """Each of `chars` in each font and outline, as the 28x28 predict.py makes of it (those it
    reads as one piece): an (n, 28, 28, 1) float32 array."""
    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    images = []
    for name in FONTS:
        for char in chars:
            for outline in OUTLINES:
                try:
                    pieces = read_digits(printed(folder / f"{name}.ttf", char, outline, rng))
                except UserError:
                    continue
                if len(pieces) == 1:
                    images.append(pieces[0].image)
    return np.stack(images)


def on_paper(digits: np.ndarray) -> np.ndarray:
    """MNIST digits (white on black 28x28s) written dark on a white page, four times their size,
    as predict.py reads them: digits in the look of the printed characters, which also went
    through its pipeline, so that the look is not what tells a letter. Those it reads as one piece
    only, as as_read keeps: half of a digit it splits in two is not a digit (2 of 4,154)."""
    images = []
    for digit in digits:
        ink = Image.fromarray(digit.reshape(28, 28).astype(np.uint8)).resize((112, 112), Image.Resampling.BICUBIC)
        page = Image.new("L", (140, 140), 255)
        page.paste(ImageOps.invert(ink), (14, 14))
        try:
            pieces = read_digits(page)
        except UserError:  # a blank image in a dataset given with --data: no digit to learn from
            continue
        if len(pieces) == 1:
            images.append(pieces[0].image)
    return np.stack(images) if images else np.zeros((0, 28, 28, 1), np.float32)


def printed_characters(mnist_digits: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(not digits, digits): printed letters and symbols; printed digits, letters shaped like
    them, and `mnist_digits` on paper (on_paper), as 28x28s."""
    rng = np.random.default_rng(seed)
    digits = np.concatenate([as_read(DIGITS + SHAPED_LIKE_DIGITS, rng), on_paper(mnist_digits)])
    return as_read(LETTERS + SYMBOLS, rng), digits
