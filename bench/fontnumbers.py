"""Numbers written in the handwriting fonts as a person would write them on a page: how many
predict.py reads digit for digit, as written, on ruled paper, slightly out of focus, written close, touching.

    python3 bench/fontnumbers.py --weights model.weights.h5

Each of the 16 fonts of bench/writers.py writes a set of numbers, 90-point, in dark ink on grey
paper with noise (900 x 500 pixels), under five conditions: as written; on paper ruled every 60
pixels, the digits about as tall as the space between two lines, so that they rest on one and
touch the other; out of focus (a Gaussian blur of 1 pixel, where the glyphs of some fonts
touch); written close (4 pixels less between glyphs); touching (each digit begun 3 pixels before
the last one's ink ends, so that upright digits touch and slanted ones reach over each other).
The numbers are `2026 15 3.14 1987 41 711 100 -12`, or with --ones the two-digit numbers with a
1 (10 to 91), whose 1 often touches its neighbour. A number is read right where predict.py's
digits, marks left out, are its digits.
"""

import sys

import numpy as np
from common import bench_parser
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from writers import installed_fonts

from mnist_cnn.reading import Reader, read_picture

NUMBERS = ("2026", "15", "3.14", "1987", "41", "711", "100", "-12")
ONES = ("10", "11", "12", "14", "16", "17", "18", "19", "21", "31", "41", "51", "61", "71", "81", "91")
CONDITIONS = {
    "as written": {},
    "ruled": {"ruled": True},
    "out of focus": {"blur": 1.0},
    "written close": {"closer": 4},
    "touching": {"touching": 3},
}


def page(
    text: str,
    font: ImageFont.FreeTypeFont,
    rng: np.random.Generator,
    ruled: bool = False,
    blur: float = 0.0,
    closer: int = 0,
    touching: int | None = None,
) -> Image.Image:
    """`text` written on grey paper, one glyph after another, `closer` pixels nearer than the font
    sets them; or, `touching`, each digit after a digit begun that many pixels before the last
    one's ink ends, as digits written close touch or, slanted, reach over each other."""
    img = Image.new("L", (900, 500), 235)
    draw = ImageDraw.Draw(img)
    if ruled:  # the glyphs' ink runs from about y = 167 to 240
        for y in range(40, 500, 60):
            draw.line([(0, y), (900, y)], fill=170, width=2)
    x, ink_end, last = 100.0, 0.0, ""
    for char in text:
        left, _, right, _ = font.getbbox(char)
        if touching is not None and char.isdigit() and last.isdigit():
            x = ink_end - touching - left
        draw.text((x, 150), char, fill=30, font=font)
        ink_end, last = x + right, char
        x += font.getlength(char) - closer
    if blur:
        img = img.filter(ImageFilter.GaussianBlur(blur))
    noisy = np.asarray(img, np.float32) + rng.normal(0, 5, (500, 900))
    return Image.fromarray(noisy.clip(0, 255).astype(np.uint8))


def main() -> None:
    parser = bench_parser(__doc__, data=False)
    parser.add_argument("--ones", action="store_true", help="the two-digit numbers with a 1 (10 to 91)")
    parser.add_argument("--seed", type=int, default=5, help="the paper's noise (default: 5)")
    args = parser.parse_args()
    fonts = installed_fonts()
    if not fonts:
        sys.exit("bench/fontnumbers.py: no handwriting font installed; see the apt-get line in bench/writers.py")
    reader, rng = Reader(args.weights), np.random.default_rng(args.seed)
    numbers = ONES if args.ones else NUMBERS
    print(f"{len(numbers)} numbers in each of {len(fonts)} handwriting fonts, weights {args.weights}")
    for condition, drawn in CONDITIONS.items():
        right = 0
        for path in fonts:
            font = ImageFont.truetype(str(path), 90)
            for number in numbers:
                pieces = read_picture(reader, page(number, font, rng, **drawn))
                right += "".join(str(p.answer) for p in pieces if p.is_digit) == number.strip("-").replace(".", "")
        print(f"  {condition:14s} {right:4d} of {len(fonts) * len(numbers)} read digit for digit")


if __name__ == "__main__":
    main()
