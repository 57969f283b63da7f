"""How well predict.py reads digits by writers outside MNIST, photographed as people photograph them.

    apt-get install fonts-bwht fonts-breip fonts-comic-neue fonts-dancingscript fonts-dkg-handwriting \
        fonts-ecolier-court fonts-humor-sans fonts-kaushanscript fonts-klee fonts-kristi fonts-rufscript
    python3 bench/writers.py --weights model.weights.h5
    python3 bench/writers.py --weights model.weights.h5 --keep pictures/

The writers are the handwriting fonts that Debian packages (six of them from the "Because We Had
To" project, drawn from the hands of six people; the others each one person's hand or a brush
or felt-tip script). Each of their ten digits is written on a 1600x1200 photo of a page, 250 to
500 pixels tall at a random place, blurred and saved as JPEG, under seven conditions: plain paper;
a phone's hard shadow over part of the page; light falling off toward the corners; specks of
dust and a pencil dot; blue ink; a small digit (60 to 120 pixels); a pen of some colour on paper
of some colour, with two to four marks of another colour across the digit (a highlighter, a
crayon, a correction). It prints how many predict.py reads right, and the naive "invert and
resize", per condition and per writer. No MNIST digit is in it, and nothing here was trained
or tuned on it but the conditions themselves.
"""

import sys
import tempfile
from pathlib import Path

import numpy as np
from common import bench_parser
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from realistic import preprocess_both_ways

from mnist_cnn.network import load_model

FONTS = Path("/usr/share/fonts")
WRITERS = {  # font file: the Debian package that has it
    "opentype/bwht/BecauseWeBuild-Regular.otf": "fonts-bwht",
    "opentype/bwht/BecauseWeConnect-Regular.otf": "fonts-bwht",
    "opentype/bwht/BecauseWeCreate-Regular.otf": "fonts-bwht",
    "opentype/bwht/BecauseWeLearn-Regular.otf": "fonts-bwht",
    "opentype/bwht/BecauseWeMentor-Regular.otf": "fonts-bwht",
    "opentype/bwht/BecauseWeOrganize-Regular.otf": "fonts-bwht",
    "truetype/breip/Breip.ttf": "fonts-breip",
    "opentype/comic-neue/ComicNeue-Regular.otf": "fonts-comic-neue",
    "opentype/dancingscript/DancingScript-Regular.otf": "fonts-dancingscript",
    "truetype/fifthhorseman/dkg.ttf": "fonts-dkg-handwriting",
    "truetype/ecolier-court/Ecolier-court.ttf": "fonts-ecolier-court",
    "truetype/humor-sans/Humor-Sans.ttf": "fonts-humor-sans",
    "opentype/kaushanscript/KaushanScript-Regular.otf": "fonts-kaushanscript",
    "truetype/klee/KleeOne-Regular.ttf": "fonts-klee",
    "truetype/kristi/Kristi.ttf": "fonts-kristi",
    "truetype/rufscript/Rufscript010.ttf": "fonts-rufscript",
}
CONDITIONS = ("plain", "shadow", "vignette", "specks", "blue pen", "small", "coloured marks")
PAPERS = ((1.0, 0.95, 0.55), (1.0, 0.85, 0.9), (0.8, 0.95, 1.0), (1.0, 1.0, 1.0))  # yellow, pink, blue, white
PENS = ((30, 40, 140), (20, 20, 20), (30, 100, 40), (120, 30, 120))  # blue, black, green, purple
MARKS = ((255, 140, 30), (230, 60, 60), (90, 190, 90))  # orange, red, green highlighter or crayon
PAGE = (1200, 1600)  # height, width: a phone photo, before predict.py reduces it


def installed_fonts() -> list[Path]:
    """The fonts of WRITERS that this machine has."""
    return [FONTS / name for name in WRITERS if (FONTS / name).is_file()]


def written(font: Path, digit: int, height: int) -> np.ndarray:
    """How much ink covers each pixel (0..1) of `digit` written `height` pixels tall, cropped."""
    size = int(height * 2.2)
    img = Image.new("L", (size, size), 0)
    text_font = ImageFont.truetype(str(font), int(height * 1.4))
    ImageDraw.Draw(img).text((size // 2, size // 2), str(digit), font=text_font, fill=255, anchor="mm")
    ink = np.asarray(img, np.float32) / 255
    rows, cols = np.nonzero(ink > 0.1)
    return ink[max(0, rows.min() - 10) : rows.max() + 10, max(0, cols.min() - 10) : cols.max() + 10]


def photo(ink: np.ndarray, condition: str, rng: np.random.Generator) -> Image.Image:
    """The written digit on a page, photographed under `condition`."""
    h, w = PAGE
    page = np.full(PAGE, rng.uniform(190, 235), np.float32)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    coverage = np.zeros(PAGE, np.float32)
    top, left = rng.integers(100, h - ink.shape[0] - 100), rng.integers(100, w - ink.shape[1] - 100)
    coverage[top : top + ink.shape[0], left : left + ink.shape[1]] = ink
    if condition == "shadow":  # the phone's shadow, its edge at any angle, up to 300 px from the middle
        angle = rng.uniform(0, np.pi)
        side = np.cos(angle) * (xs - w / 2) + np.sin(angle) * (ys - h / 2) > rng.uniform(-300, 300)
        shade = Image.fromarray(np.where(side, rng.uniform(0.45, 0.7), 1.0) * 255).convert("L")
        page *= np.asarray(shade.filter(ImageFilter.GaussianBlur(6)), np.float32) / 255
    elif condition == "vignette":  # 30% less light in the corners
        page *= 1 - 0.15 * (((xs - w / 2) / (w / 2)) ** 2 + ((ys - h / 2) / (h / 2)) ** 2)
    elif condition == "specks":  # dust, and a pencil dot
        for _ in range(6):
            y, x, r = rng.integers(0, h), rng.integers(0, w), rng.integers(2, 6)
            coverage[max(0, y - r) : y + r, max(0, x - r) : x + r] = 1
    pen = np.array([30.0, 40.0, 140.0]) if condition == "blue pen" else np.full(3, rng.uniform(15, 60))
    paper = np.ones(3)
    if condition == "coloured marks":  # coloured paper and pen, and marks of another colour across the digit
        paper, pen = np.array(PAPERS[rng.integers(len(PAPERS))]), np.array(PENS[rng.integers(len(PENS))], np.float32)
    rgb = page[..., None] * paper * (1 - coverage[..., None]) + pen * coverage[..., None] * page[..., None] / 215
    if condition == "coloured marks":
        marked = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))
        colour = MARKS[rng.integers(len(MARKS))]
        for _ in range(rng.integers(2, 5)):
            ends = rng.uniform((left, top, left, top), (left + ink.shape[1], top + ink.shape[0]) * 2)
            ImageDraw.Draw(marked).line(list(ends), fill=colour, width=int(rng.integers(8, 25)))
        rgb = np.asarray(marked, np.float32)
    rgb += 4 * rng.standard_normal(rgb.shape, dtype=np.float32)
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.0))


def main() -> None:
    parser = bench_parser(__doc__, data=False)
    parser.add_argument("--seed", type=int, default=0, help="the set's seed (default: 0)")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="also save the photos there, named by label")
    args = parser.parse_args()
    fonts = {FONTS / name: package for name, package in WRITERS.items() if (FONTS / name).is_file()}
    missing = sorted({package for name, package in WRITERS.items() if not (FONTS / name).is_file()})
    if missing:
        print(f"not installed, left out: {' '.join(missing)} (apt-get install them)")
    if not fonts:
        sys.exit("bench/writers.py: no handwriting font installed; see the apt-get line in its docstring")

    rng = np.random.default_rng(args.seed)
    ours, naive, labels, conditions, writers = [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for condition in CONDITIONS:
            for font in fonts:
                for digit in range(10):
                    height = int(rng.uniform(60, 120) if condition == "small" else rng.uniform(250, 500))
                    path = (args.keep or Path(tmp)) / f"{condition.replace(' ', '-')}-{font.stem}-label{digit}.jpg"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    photo(written(font, digit, height), condition, rng).save(path, quality=88)
                    digit_ours, digit_naive = preprocess_both_ways(path)
                    ours.append(digit_ours)
                    naive.append(digit_naive)
                    labels.append(digit)
                    conditions.append(condition)
                    writers.append(font.stem)

    net = load_model(args.weights)
    labels, conditions, writers = np.array(labels), np.array(conditions), np.array(writers)
    right_ours, right_naive = (
        np.argmax(net.predict(np.stack(images), batch_size=256, verbose=0), axis=1) == labels
        for images in (ours, naive)
    )
    print(f"{len(labels)} photos of the digits of {len(fonts)} handwriting fonts (seed {args.seed}), {args.weights}")
    print(f"  naive invert-and-resize: {right_naive.mean():.1%}   predict.py: {right_ours.mean():.1%}")
    for column, kinds in ((conditions, CONDITIONS), (writers, [font.stem for font in fonts])):
        for kind in kinds:
            chosen = column == kind
            print(
                f"    {kind:26s} naive {right_naive[chosen].mean():6.1%}   predict.py {right_ours[chosen].mean():6.1%}"
            )


if __name__ == "__main__":
    main()
