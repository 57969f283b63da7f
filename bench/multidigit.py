"""How well predict.py reads numbers: 2 to 6 digits written side by side on one line (or several).

    python3 bench/multidigit.py --data mnist.npz --weights model.weights.h5 --count 300
    python3 bench/multidigit.py --data mnist.npz --weights model.weights.h5 --source fonts --photo
    python3 bench/multidigit.py --data mnist.npz --source realworld --realworld ../shared/realworld-dev
    python3 bench/multidigit.py --data mnist.npz --weights model.weights.h5 --lines 2
    python3 bench/multidigit.py --data mnist.npz --weights model.weights.h5 --tilt

The digits are MNIST *test* digits (never trained on), each 4 times MNIST's size, or with
--source fonts the digits of the handwriting fonts of bench/writers.py, about as tall, or with
--source realworld each number one real writer's: the digits that one source repository of the
development set drew on a canvas or at 28x28, their ink cut out, about as tall. Each is cropped
to its ink, scaled by 0.85 to 1.15, moved up or down by up to 20 pixels, and set beside the last
with a gap of -2 to 30 pixels (about one pair in six touches or nearly; with --touching each
reaches 2 to 8 pixels into the last), dark ink on white. With --photo it is then photographed as
people write and photograph: the number slanted (sheared by up to ±0.2), a ruled line across the
page under one number in two, the paper shaded from one side with noise, saved as JPEG. With
--lines N each picture holds N numbers written one under another, each indented by up to 60
pixels, the lines' digits 10 to 80 pixels apart (MNIST's digits are about 110 tall), and is read
exactly only where each line is. With --tilt the whole picture is turned by 15 to 40 degrees,
either way, before it is photographed: a number written across the page. Every picture goes
through predict.py's own pipeline and verdict (a digit left out as "not a digit" is missing);
the script prints the share of pictures read exactly (every digit, none missing or extra) and
of digits read right where the count was right, and how many pieces were left out: those read
as no digit, and the marks beside the digits (a digit's stray fragment, a font's flourish),
which predict.py reports as left out."""

import io
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from common import bench_parser, mnist_test, parse_data
from PIL import Image
from realworld import read_labels
from writers import installed_fonts, written

from mnist_cnn.pictures import border_level, to_grayscale
from mnist_cnn.reading import Reader, read_picture


def mnist_part(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An MNIST digit (28x28, white on black) at 4 times its size, times 0.85 to 1.15."""
    size = int(28 * 4 * rng.uniform(0.85, 1.15))
    return np.asarray(Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC), np.float32)


def font_part(font: Path, digit: int, rng: np.random.Generator) -> np.ndarray:
    """A font's digit, white on black, about as tall as mnist_part's ink."""
    return written(font, digit, int(80 * rng.uniform(0.85, 1.15))) * 255


def writers_digits(folder: Path) -> list[dict[int, list[np.ndarray]]]:
    """Each source repository's digits drawn on a canvas or at 28x28 (clean digital ink, unlike
    photos, whose paper would show round each digit cut out): for each digit, its ink, white
    on black, 0..255, cropped. Only writers with eight digits or more."""
    by_source = defaultdict(lambda: defaultdict(list))
    for row in read_labels(folder):
        if row["kind"] in ("drawn", "mnist-like"):
            with Image.open(row["path"]) as img:
                ink = ink_of(to_grayscale(img))
            if ink is not None:
                by_source[row["source_repo"]][row["label"]].append(ink)
    return [dict(digits) for digits in by_source.values() if len(digits) >= 8]


def ink_of(gray: np.ndarray) -> np.ndarray | None:
    """A drawing's ink against its border's level, either polarity, cropped to it; None for a
    page drawn inside a margin of another level (the ink would be the page)."""
    border = border_level(gray)
    ink = np.clip(gray - border if border < 128 else border - gray, 0, None)
    if ink.max() <= 0:
        return None
    rows, cols = np.nonzero(ink > 0.3 * ink.max())
    crop = ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    return None if (crop > 0.3 * ink.max()).mean() > 0.6 else crop * (255 / ink.max())


def writer_part(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A writer's digit about as tall as mnist_part's ink, times 0.85 to 1.15, with a margin."""
    height = int(80 * rng.uniform(0.85, 1.15))
    width = max(1, round(ink.shape[1] * height / ink.shape[0]))
    big = np.asarray(
        Image.fromarray(ink.astype(np.float32), mode="F").resize((width, height), Image.Resampling.BICUBIC)
    )
    return np.pad(np.clip(big, 0, 255), 10)


def compose(parts: list[np.ndarray], rng: np.random.Generator, gaps: tuple[int, int] = (-2, 30)) -> Image.Image:
    """The digits (white on black, any size) written left to right as one number, dark on white,
    each `gaps` pixels (at least, at most) beyond the last."""
    cropped = []
    for big in parts:
        cols = np.flatnonzero(big.max(axis=0) > 30)
        cropped.append(big[:, cols[0] : cols[-1] + 1])
    height = max(p.shape[0] for p in cropped) + 60
    page = np.zeros((height, sum(p.shape[1] for p in cropped) + 40 + 30 * len(cropped)), np.float32)
    x = 20
    for part in cropped:
        y = 10 + int(rng.integers(0, 21))
        region = page[y : y + part.shape[0], x : x + part.shape[1]]
        np.maximum(region, part, out=region)
        x += part.shape[1] + int(rng.integers(gaps[0], gaps[1] + 1))
    return Image.fromarray((255 - page).clip(0, 255).astype(np.uint8))


def one_under_another(numbers: list[Image.Image], rng: np.random.Generator) -> Image.Image:
    """Numbers (compose()) written one under another, each indented by up to 60 pixels and
    brought up to 20 pixels nearer the one above than compose()'s margins leave them."""
    pages = [np.asarray(number) for number in numbers]
    indents = rng.integers(0, 61, len(pages))
    tops = np.cumsum([0] + [page.shape[0] - int(rng.integers(0, 21)) for page in pages[:-1]])
    width = max(page.shape[1] + indent for page, indent in zip(pages, indents, strict=True))
    sheet = np.full((tops[-1] + pages[-1].shape[0], width), 255, np.uint8)
    for page, indent, top in zip(pages, indents, tops, strict=True):
        region = sheet[top : top + page.shape[0], indent : indent + page.shape[1]]
        np.minimum(region, page, out=region)
    return Image.fromarray(sheet)


def photographed(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The number written slanted, ruled under (one in two) across the whole page, on shaded
    noisy paper, through JPEG."""
    w, h = img.size
    shear = rng.uniform(-0.2, 0.2)  # the hand slants, not the paper: the ruled line stays level
    img = img.transform(
        img.size,
        Image.Transform.AFFINE,
        (1, shear, -shear * h / 2, 0, 1, 0),
        resample=Image.Resampling.BILINEAR,
        fillcolor=255,
    )
    page = Image.new("L", (w + 80, h + 80), 255)
    page.paste(img, (40, 40))
    if rng.random() < 0.5:  # a ruled line just under the digits
        y = 40 + h - 25
        page.paste(170, (0, y, page.width, y + 3))
    pixels = np.asarray(page, np.float32) * np.linspace(rng.uniform(0.7, 0.85), 1.0, page.width)[None, :]
    pixels += rng.normal(0, 4, pixels.shape)
    buffer = io.BytesIO()
    Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(buffer, format="JPEG", quality=85)
    return Image.open(buffer)


def tilted(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The number turned by 15 to 40 degrees either way, as written across a page or photographed
    with the phone turned: its digits turn with it."""
    angle = rng.uniform(15, 40) * rng.choice([-1, 1])
    return img.convert("L").rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--count", type=int, default=300, help="numbers to write (default: 300)")
    parser.add_argument("--seed", type=int, default=0, help="the set's seed (default: 0)")
    parser.add_argument(
        "--source", choices=("mnist", "fonts", "realworld"), default="mnist", help="whose digits (default: mnist)"
    )
    parser.add_argument("--realworld", type=Path, help="with --source realworld: a folder like ../shared/realworld-dev")
    parser.add_argument("--photo", action="store_true", help="slant, ruled line, shaded paper, JPEG")
    parser.add_argument("--tilt", action="store_true", help="the number turned by 15 to 40 degrees either way")
    parser.add_argument("--lines", type=int, default=1, help="numbers per picture, one under another (default: 1)")
    parser.add_argument(
        "--touching",
        action="store_true",
        help="each digit reaching 2 to 8 pixels into the last (default: gaps of -2 to 30)",
    )
    args = parse_data(parser)
    x_test, y_test = mnist_test(args.data)
    fonts = installed_fonts()
    if args.source == "fonts" and not fonts:
        sys.exit("bench/multidigit.py: no handwriting font installed; see the apt-get line in bench/writers.py")
    source = "MNIST test digits" if args.source == "mnist" else f"the digits of {len(fonts)} handwriting fonts"
    if args.source == "realworld":
        if not args.realworld:
            parser.error("--source realworld reads the folder given with --realworld")
        if not (args.realworld / "labels.csv").is_file():
            print(f"bench/multidigit.py: skipped, no {args.realworld}/labels.csv (kept outside the repository)")
            return
        writers = writers_digits(args.realworld)
        source = f"the digits of {len(writers)} real writers, drawn"
    reader = Reader(args.weights)
    rng = np.random.default_rng(args.seed)
    exact, counted, digits_right, digits_total, left_out, marks = 0, 0, 0, 0, 0, 0
    for _ in range(args.count):
        numbers = []
        for _ in range(args.lines):
            length = int(rng.integers(2, 7))
            if args.source == "mnist":
                chosen = rng.choice(len(x_test), length, replace=False)
                labels, parts = y_test[chosen], [mnist_part(d, rng) for d in x_test[chosen]]
            elif args.source == "fonts":
                labels, font = rng.integers(0, 10, length), fonts[int(rng.integers(len(fonts)))]
                parts = [font_part(font, int(d), rng) for d in labels]
            else:
                digits = writers[int(rng.integers(len(writers)))]
                labels = rng.choice(sorted(digits), length)
                parts = [writer_part(digits[d][int(rng.integers(len(digits[d])))], rng) for d in labels]
            numbers.append((labels, compose(parts, rng, (-8, -2) if args.touching else (-2, 30))))
        labels = np.concatenate([digits for digits, _ in numbers])
        lines = np.concatenate([[n] * len(digits) for n, (digits, _) in enumerate(numbers)])
        picture = numbers[0][1] if args.lines == 1 else one_under_another([p for _, p in numbers], rng)
        picture = tilted(picture, rng) if args.tilt else picture
        pieces = read_picture(reader, photographed(picture, rng) if args.photo else picture)
        answers = np.array([piece.answer for piece in pieces if piece.is_digit])
        read_lines = np.array([piece.digit.line for piece in pieces if piece.is_digit])
        left_out += sum(not piece.is_digit and not piece.digit.mark for piece in pieces)
        marks += sum(piece.digit.mark for piece in pieces)
        if len(answers) == len(labels):
            exact += bool((answers == labels).all() and (read_lines == lines).all())
            counted += 1
            digits_right += int((answers == labels).sum())
            digits_total += len(labels)
    photo = ", photographed (slant, ruled line, shading, JPEG)" if args.photo else ""
    photo += ", each touching the last" if args.touching else ""
    photo += ", turned 15 to 40 degrees" if args.tilt else ""
    pictures = f"{args.count} numbers" if args.lines == 1 else f"{args.count} pictures of {args.lines} numbers"
    print(f"{pictures} of 2 to 6 {source}{photo} (seed {args.seed}), weights {args.weights}")
    print(f"  read exactly:                 {exact / args.count:.1%}")
    print(f"  the right count of digits:    {counted / args.count:.1%}")
    print(f"  digits right, where counted:  {digits_right / max(digits_total, 1):.1%}")
    print(f"  digits left out as not digits: {left_out}")
    print(f"  marks beside them, left out:   {marks}")


if __name__ == "__main__":
    main()
