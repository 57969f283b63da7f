"""Does predict.py say "not a digit" for what is not one, and still read the digits people write?

    python3 bench/notdigits.py --data mnist.npz --weights model.weights.h5
    python3 bench/notdigits.py --data mnist.npz --realworld ../shared/realworld-dev --keep pictures/

The non-digits are made here, as a user would hand them in: letters in Debian's handwriting
fonts (the ones bench/writers.py uses; letters shaped like a digit, O I l S Z B G b g q, left
out), symbols and doodles drawn with a pen's strokes (plus, equals, arrow, star, smiley, house,
spiral, scribble...), photos of things (matplotlib's sample pictures), and words (hello, cat,
Max..., their letters as they come) written in each font. Each goes through predict.py's own
pipeline; a picture is caught when none of its pieces is read as a digit.

predict.py's own verdict (reading.judge, with the digit stats saved beside the weights:
the Mahalanobis distance to the nearest class on the 128-unit layer, each class's covariance
shrunk toward the shared one, unless the network is at least 99.9% sure; in a number twice as
far; the letter detector learnt from printed characters; and the rules on the ink: a blob, a
face, a drawn loop, a 6 or an 8 that closes no loop) is compared with three scores,
each with the threshold that refuses 1% of MNIST's validation digits: the Mahalanobis distance
alone, the energy of the logits (-logsumexp), and the softmax's top probability. Beside what each
catches, it prints what each refuses of real digits: MNIST test, the handwriting fonts'
digits, and, with --realworld, real people's pictures of digits. Last, how many of the signs
written between two digits (4+7, 4%7, ...) predict.py leaves out of the number, and how many
numbers written with a minus sign, a decimal point, a comma or a dash (-7, 3.14, 1,000, 12-05)
or with a unit (12cm, 5kg, $5, 25%) it reads digit for digit, what is not a digit left out and
said so.
"""

import csv
import sys
import tempfile
from pathlib import Path

import matplotlib
import numpy as np
from common import bench_parser, parse_data
from PIL import Image, ImageDraw, ImageFont
from writers import installed_fonts

from mnist_cnn import novelty
from mnist_cnn.batches import prepare
from mnist_cnn.errors import UserError
from mnist_cnn.mnist import load_mnist, split_validation
from mnist_cnn.pictures import Digit
from mnist_cnn.reading import Piece, Reader, judge, read_pictures

LETTERS = "ACEFHKMNPRTUVWXYacdefhkmnprtuvwxy"  # none of them shaped like a digit
SIGNS = "+=%/()#$*x?&@"  # written between two digits, as in a sum, a date, a price
MARKED = ("-7", "-12", "3.14", "0.5", "1,000", "2,50", "12-05", "7-3")  # numbers with a mark among their digits
UNITS = ("12cm", "5kg", "30km", "7h", "$5", "25%")  # numbers with a unit
# Words a user might write to try it, some with letters shaped like digits (o, l, s, b, g, q, Z, I)
WORDS = ("hello", "cat", "Max", "yes", "name", "dog", "Tim", "word", "Paris", "fun", "big", "Zoe")
CANVAS = 300


def pen(size: int = CANVAS) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    img = Image.new("L", (size, size), 255)
    return img, ImageDraw.Draw(img)


def letter(font: Path, char: str, rng: np.random.Generator) -> Image.Image:
    img, draw = pen()
    size = int(rng.uniform(120, 200))
    draw.text((CANVAS // 2, CANVAS // 2), char, font=ImageFont.truetype(str(font), size), fill=0, anchor="mm")
    return img.rotate(rng.uniform(-10, 10), fillcolor=255)


def written(font: Path, text: str) -> Image.Image:
    """`text` (4+7, 3.14, hello) written on one line in a handwriting font, its digits about 70
    pixels tall, on a page CANVAS + 100 pixels wide, or wider where a long text needs 40 pixels of
    paper either side."""
    text_font = ImageFont.truetype(str(font), 100)
    width = max(CANVAS + 100, round(text_font.getlength(text)) + 80)
    img = Image.new("L", (width, CANVAS // 2), 255)
    ImageDraw.Draw(img).text((40, CANVAS // 4), text, font=text_font, fill=0, anchor="lm")
    return img


def strokes(shape: str, rng: np.random.Generator) -> Image.Image:
    """A symbol or a doodle, drawn with lines about as thick as a marker's."""
    img, draw = pen()
    w = int(rng.uniform(7, 14))
    c, r = CANVAS / 2 + rng.uniform(-20, 20, 2), rng.uniform(70, 110)

    def line(*points):
        draw.line([tuple(c + r * np.array(p)) for p in points], fill=0, width=w, joint="curve")

    def ring(radius, centre=(0, 0), start=0, end=360):
        t = np.radians(np.linspace(start, end, 60))
        line(*[(centre[0] + radius * np.cos(a), centre[1] + radius * np.sin(a)) for a in t])

    if shape == "plus":
        line((-1, 0), (1, 0)), line((0, -1), (0, 1))
    elif shape == "minus":
        line((-1, 0), (1, 0))
    elif shape == "equals":
        line((-1, -0.3), (1, -0.3)), line((-1, 0.3), (1, 0.3))
    elif shape == "times":
        line((-0.8, -0.8), (0.8, 0.8)), line((-0.8, 0.8), (0.8, -0.8))
    elif shape == "star":
        t = np.radians(np.arange(0, 721, 144) - 90)
        line(*[(np.cos(a), np.sin(a)) for a in t])
    elif shape == "arrow":
        line((-1, 0), (1, 0)), line((0.5, -0.5), (1, 0), (0.5, 0.5))
    elif shape == "hash":
        for d in (-0.35, 0.35):
            line((d, -1), (d, 1)), line((-1, d), (1, d))
    elif shape == "check":
        line((-0.8, 0), (-0.2, 0.7), (0.9, -0.9))
    elif shape == "smiley":
        ring(1), ring(0.6, start=20, end=160)
        draw.ellipse([*(c + r * np.array([-0.45, -0.45])), *(c + r * np.array([-0.25, -0.2]))], fill=0)
        draw.ellipse([*(c + r * np.array([0.25, -0.45])), *(c + r * np.array([0.45, -0.2]))], fill=0)
    elif shape == "house":
        line((-0.8, 1), (-0.8, -0.1), (0, -1), (0.8, -0.1), (0.8, 1), (-0.8, 1)), line((-0.2, 1), (-0.2, 0.4))
        line((-0.2, 0.4), (0.2, 0.4), (0.2, 1))
    elif shape == "spiral":
        t = np.linspace(0, 5 * np.pi, 120)
        line(*[(a / (5 * np.pi) * np.cos(a), a / (5 * np.pi) * np.sin(a)) for a in t])
    elif shape == "heart":
        t = np.linspace(0, 2 * np.pi, 80)
        line(*[(np.sin(a) ** 3, -(13 * np.cos(a) - 5 * np.cos(2 * a) - 2 * np.cos(3 * a)) / 16) for a in t])
    elif shape == "sun":
        ring(0.45)
        for a in np.radians(np.arange(0, 360, 45)):
            line((0.65 * np.cos(a), 0.65 * np.sin(a)), (np.cos(a), np.sin(a)))
    elif shape == "triangle":
        line((-1, 0.8), (0, -0.9), (1, 0.8), (-1, 0.8))
    elif shape == "square":
        line((-0.8, -0.8), (0.8, -0.8), (0.8, 0.8), (-0.8, 0.8), (-0.8, -0.8))
    elif shape == "zigzag":
        line(*[(x, 0.4 * (-1) ** i) for i, x in enumerate(np.linspace(-1, 1, 7))])
    elif shape == "wave":
        line(*[(x, 0.4 * np.sin(3 * np.pi * x)) for x in np.linspace(-1, 1, 60)])
    elif shape == "scribble":
        line(*np.cumsum(rng.normal(0, 0.35, (25, 2)), axis=0).clip(-1, 1))
    return img.rotate(rng.uniform(-15, 15), fillcolor=255)


SHAPES = ("plus", "minus", "equals", "times", "star", "arrow", "hash", "check", "smiley", "house", "spiral")
SHAPES += ("heart", "sun", "triangle", "square", "zigzag", "wave", "scribble")


def things() -> list[Image.Image]:
    """Photos of things: matplotlib's sample pictures, whole and in quarters."""
    folder = Path(matplotlib.get_data_path()) / "sample_data"
    photos = []
    for name in ("grace_hopper.jpg", "Minduka_Present_Blue_Pack.png", "logo2.png"):
        with Image.open(folder / name) as img:
            img = img.convert("RGB")
        w, h = img.size
        photos += [img] + [img.crop((x, y, x + w // 2, y + h // 2)) for x in (0, w // 2) for y in (0, h // 2)]
    return photos


def non_digits(rng: np.random.Generator) -> list[tuple[str, Image.Image]]:
    fonts = installed_fonts()
    made = [("letter", letter(font, char, rng)) for font in fonts for char in rng.choice(list(LETTERS), 8)]
    made += [("symbol or doodle", strokes(shape, rng)) for shape in SHAPES for _ in range(4)]
    return made + [("photo of a thing", img) for img in things()]


def font_digits(rng: np.random.Generator) -> list[Image.Image]:
    fonts = installed_fonts()
    return [letter(font, str(d), rng) for font in fonts for d in range(10)]


def realworld_paths(folder: Path) -> list[Path]:
    with open(folder / "labels.csv", newline="") as f:
        return [folder / row["file"] for row in csv.DictReader(f) if len(row["label"]) == 1]


def pieces(paths: list[Path], reader: Reader) -> list[tuple[list[Digit], list[Piece]]]:
    """Every piece predict.py finds in each picture (none where it finds no ink), and how it
    judges them, with its second look where they may be digits that touch."""
    found = []
    for path in paths:
        try:
            digits, _ = prepare(path, "auto", keep_picture=False)
        except UserError:  # "no digit found": not read as a digit either
            digits = []
        found.append(digits)
    return list(zip(found, read_pictures(reader, found), strict=True))


def images(digits: list[Digit]) -> np.ndarray:
    return np.stack([d.image for d in digits]) if digits else np.zeros((0, 28, 28, 1), np.float32)


NAMES = ("Mahalanobis", "energy", "softmax")


class Scores:
    """The four scores of a batch of 28x28 images (higher: less like a digit), from a Reader's
    network and the class means and precision fitted here."""

    def __init__(self, reader: Reader, means: np.ndarray, precision: np.ndarray):
        self.model, self.kernel, self.bias = reader.model, reader.kernel, reader.bias
        self.means, self.precision = means, precision

    def __call__(self, images: np.ndarray) -> dict[str, np.ndarray]:
        if not len(images):
            return {name: np.zeros(0) for name in NAMES}
        features, probabilities = (np.asarray(a, np.float64) for a in self.model.predict(images, 512, verbose=0))
        logits = features @ self.kernel + self.bias
        top = logits.max(axis=1)
        return {
            "Mahalanobis": novelty.distances(self.means, self.precision, features),
            "energy": -(top + np.log(np.exp(logits - top[:, None]).sum(axis=1))),
            "softmax": -probabilities.max(axis=1),
        }


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--realworld", type=Path, help="a folder laid out like ../shared/realworld-dev")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="also save the non-digit pictures there")
    parser.add_argument("--seed", type=int, default=0, help="the set's seed (default: 0)")
    args = parse_data(parser)
    rng = np.random.default_rng(args.seed)
    made, digits_of_fonts = non_digits(rng), font_digits(rng)
    if not any(kind == "letter" for kind, _ in made):
        sys.exit("bench/notdigits.py: no handwriting font installed; see the apt-get line in bench/writers.py")

    reader = Reader(args.weights)
    if reader.stats is None:
        sys.exit(f"bench/notdigits.py: {args.weights} has no digit stats beside it: python3 model.py --calibrate")
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for i, (kind, img) in enumerate(made + [("font digit", img) for img in digits_of_fonts]):
            paths.append(folder / f"{kind.split()[0]}-{i}.png")
            img.save(paths[-1])
        found = pieces(paths, reader)
    real = pieces(realworld_paths(args.realworld), reader) if args.realworld and args.realworld.is_dir() else []

    (x_train, y_train), (x_test, _) = load_mnist(args.data)
    (x_fit, y_fit), (x_val, _) = split_validation(x_train, y_train)
    features = np.asarray(reader.model.predict(x_fit[..., None], 512, verbose=0)[0], np.float64)
    scores = Scores(reader, *novelty.fit_stats(features, y_fit))
    thresholds = {name: np.quantile(s, 1 - novelty.REFUSED) for name, s in scores(x_val[..., None]).items()}

    def refused(pictures: list[tuple[list[Digit], list[Piece]]]) -> dict[str, float]:
        """Per score, the share of pictures whose every piece it refuses (so they read "not a
        digit"); for predict.py, its own verdict (reading.judge and its second look)."""
        each = [scores(images(digits)) for digits, _ in pictures]
        shares = {name: np.mean([(s[name] > limit).all() for s in each]) for name, limit in thresholds.items()}
        verdicts = [verdict for _, verdict in pictures]
        return {"predict.py": np.mean([not any(p.is_digit for p in v) for v in verdicts]), **shares}

    kinds = np.array([kind for kind, _ in made] + ["font digit"] * len(digits_of_fonts))
    test_scores = scores(x_test[..., None])
    tests = reader.read([Digit(image[..., None].astype(np.float32), (0, 0, 28, 28)) for image in x_test])
    rows = {
        "refused, MNIST test digits": {
            "predict.py": np.mean([not judge([piece])[0].is_digit for piece in tests]),
            **{n: (test_scores[n] > limit).mean() for n, limit in thresholds.items()},
        }
    }
    font_pictures = [found[i] for i in np.flatnonzero(kinds == "font digit")]
    rows[f"refused, font digits ({len(font_pictures)})"] = refused(font_pictures)
    if real:
        rows[f"refused, real-world digits ({len(real)})"] = refused(real)
    for kind in ("letter", "symbol or doodle", "photo of a thing"):
        chosen = [found[i] for i in np.flatnonzero(kinds == kind)]
        rows[f"caught, {kind} ({len(chosen)})"] = refused(chosen)
    print(f"{args.weights}; thresholds refuse {novelty.REFUSED:.0%} of MNIST's {len(x_val)} validation digits")
    print(f"{'':34s}" + "".join(f"{name:>13s}" for name in ("predict.py", *NAMES)))
    for label, values in rows.items():
        print(f"  {label:32s}" + "".join(f"{values[n]:13.1%}" for n in ("predict.py", *NAMES)))
    words = written_in_fonts(reader, WORDS)
    print(f"  words ({len(words)}), none of their letters read as a digit by predict.py: {no_digit_in(words):.1%}")
    print(f"  signs between two digits, left out of the number by predict.py: {signs_left_out(reader):.1%}")
    digits_right, said = left_out_in_numbers(reader, MARKED)
    print(
        f"  numbers with a mark (-7, 3.14, 1,000, 12-05): digits read exactly {digits_right:.1%}, mark said {said:.1%}"
    )
    digits_right, said = left_out_in_numbers(reader, UNITS)
    print(f"  numbers with a unit (12cm, 5kg, $5, 25%): digits read exactly {digits_right:.1%}, unit said {said:.1%}")


def written_in_fonts(reader: Reader, texts: tuple[str, ...]) -> list[tuple[str, list[Piece]]]:
    """Each of `texts` written in each handwriting font, and its pieces as predict.py judges them."""
    fonts = installed_fonts()
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for font in fonts:
            for n, text in enumerate(texts):
                paths.append(Path(tmp) / f"{font.stem}-{n}.png")
                written(font, text).save(paths[-1])
        found = pieces(paths, reader)
    return [(text, verdict) for text, (_, verdict) in zip(texts * len(fonts), found, strict=True)]


def no_digit_in(read: list[tuple[str, list[Piece]]]) -> float:
    """The share of the written texts `read` none of whose pieces predict.py reads as a digit."""
    return float(np.mean([not any(p.is_digit for p in pieces) for _, pieces in read]))


def signs_left_out(reader: Reader) -> float:
    """The share of the numbers 4?7 (SIGNS in each handwriting font) that predict.py reads as two
    digits, the sign left out."""
    read = written_in_fonts(reader, tuple(f"4{sign}7" for sign in SIGNS))
    return float(np.mean([sum(p.is_digit for p in r) == 2 for _, r in read]))


def left_out_in_numbers(reader: Reader, texts: tuple[str, ...]) -> tuple[float, float]:
    """Of `texts` (numbers with marks or units) in each handwriting font: the share whose digits
    predict.py reads exactly (what is not a digit neither read as one nor making the whole no
    digit), and the share of those where it says something was left out."""
    read = written_in_fonts(reader, texts)
    right = np.array(
        ["".join(str(p.answer) for p in r if p.is_digit) == "".join(filter(str.isdigit, t)) for t, r in read]
    )
    said = np.array([any(not p.is_digit for p in r) for _, r in read])
    return float(right.mean()), float(said[right].mean()) if right.any() else 0.0


if __name__ == "__main__":
    main()
