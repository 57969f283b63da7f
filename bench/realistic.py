"""How well predict.py reads realistic pictures of digits, against the naive "invert and resize".

    python3 bench/realistic.py --data mnist.npz --weights model.weights.h5          # 1,000 pictures
    python3 bench/realistic.py --data mnist.npz --weights model.weights.h5 --keep pictures/

It draws MNIST *test* digits (never trained on) the way people hand them over: dark ink on light
paper with shading and noise, or light on dark; 30 to 350 pixels tall, anywhere on canvases of
any shape; thick and thin pens; saved as PNG, JPEG, BMP, or RGBA with a transparent background.
The same seed gives the same pictures. Every picture then goes through predict.py's own loading
and preprocessing, and through the naive approach the first predict.py used; it prints both
accuracies beside the network's accuracy on the same digits as plain 28x28 MNIST images.
"""

import io
import tempfile
from pathlib import Path

import numpy as np
from common import bench_parser, mnist_test, parse_data
from PIL import Image, ImageFilter
from scipy import ndimage

from mnist_cnn.errors import UserError
from mnist_cnn.network import load_model
from mnist_cnn.pictures import load_image, read_digits, to_grayscale

FORMATS = ("PNG", "JPEG", "BMP", "RGBA")


PENS = ("thin", "same", "thick")


def pen(digit: np.ndarray, choice: str) -> np.ndarray:
    """The digit at MNIST's 28x28 scale as drawn by the same or a thicker pen, or with its strokes
    broken: eroded by a pixel, which leaves them faint and broken in places, and some gone (a
    stress case, not a pen: a person could not read all of them). A thin pen is drawn later, at
    the picture's own scale (fine_liner)."""
    img = Image.fromarray(digit)
    if choice == "thick":
        img = img.filter(ImageFilter.MaxFilter(3))
    elif choice == "broken":
        thin = img.filter(ImageFilter.MinFilter(3)).filter(ImageFilter.GaussianBlur(0.3))
        img = thin if np.asarray(thin).max() >= 100 else img  # a digit that would vanish stays whole
    return np.asarray(img)


def fine_liner(ink: np.ndarray, mnist_pixel: float) -> np.ndarray:
    """The strokes of `ink` (0..1, drawn `mnist_pixel` pixels to one of MNIST's) redrawn along
    the same path by a pen about 0.8 of MNIST's pixels wide, a third of its usual width: what is
    within that of each stroke's middle line, where the distance to the paper peaks."""
    inside = ndimage.distance_transform_edt(ink > 0.5)
    middle = ndimage.maximum_filter(inside, size=int(3 * mnist_pixel) | 1)  # the stroke's own middle
    line = (inside > 0) & (inside >= middle - 0.4 * mnist_pixel)
    return ndimage.gaussian_filter(line.astype(np.float32), 0.5)


def realistic_picture(
    digit: np.ndarray, rng: np.random.Generator, pen_choice: str | None = None
) -> tuple[Image.Image, str, str]:
    """One MNIST digit (white on black, 28x28) as a photo or scan of it; its file format and pen.

    `pen_choice` picks the pen (one of PENS, or "broken"; at random among PENS by default)."""
    pen_used = pen_choice or str(rng.choice(PENS, p=[0.25, 0.45, 0.3]))
    ink = pen(digit, pen_used).astype(np.float32) / 255.0  # 1 where the pen went
    height = int(rng.uniform(30, 350))
    # The 28x28 frame holds a 20x20 digit: scale the frame so the digit itself is `height` tall.
    frame = max(8, round(height * 28 / 20))
    ink = np.asarray(Image.fromarray(ink, mode="F").resize((frame, frame), Image.Resampling.BICUBIC)).clip(0, 1)
    if pen_used == "thin":
        ink = fine_liner(ink, frame / 28)
    width_factor, height_factor = rng.uniform(1.0, 4.0, size=2)
    canvas_w, canvas_h = int(frame * width_factor) + 10, int(frame * height_factor) + 10
    top, left = rng.integers(0, canvas_h - frame + 1), rng.integers(0, canvas_w - frame + 1)
    coverage = np.zeros((canvas_h, canvas_w), np.float32)
    coverage[top : top + frame, left : left + frame] = ink

    fmt = FORMATS[rng.integers(len(FORMATS))]
    if fmt == "RGBA":  # ink on a transparent canvas, as drawing programs export it
        rgba = np.zeros((canvas_h, canvas_w, 4), np.uint8)
        rgba[..., :3] = rng.integers(0, 80, size=3)
        rgba[..., 3] = (coverage * 255).astype(np.uint8)
        return Image.fromarray(rgba, "RGBA"), "PNG", pen_used

    dark_on_light = rng.random() < 0.75
    paper, pen_level = (
        (rng.uniform(150, 250), rng.uniform(0, 90)) if dark_on_light else (rng.uniform(0, 70), rng.uniform(170, 255))
    )
    # Shading: the light falls off linearly across the page, up to 35%, from a random side.
    ys, xs = np.mgrid[0:canvas_h, 0:canvas_w]
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * xs / canvas_w + np.sin(angle) * ys / canvas_h
    ramp = (ramp - ramp.min()) / max(np.ptp(ramp), 1e-6)
    light = 1.0 - rng.uniform(0, 0.35) * ramp
    gray = (paper + (pen_level - paper) * coverage) * light
    gray += rng.normal(0, rng.uniform(1, 8), size=gray.shape)
    tint = rng.uniform(0.9, 1.1, size=3) if rng.random() < 0.5 else np.ones(3)
    rgb = np.clip(gray[..., None] * tint, 0, 255).astype(np.uint8)
    return Image.fromarray(rgb, "RGB"), fmt, pen_used


def encode(img: Image.Image, fmt: str, rng: np.random.Generator) -> bytes:
    buffer = io.BytesIO()
    options = {"quality": int(rng.integers(60, 95))} if fmt == "JPEG" else {}
    img.save(buffer, fmt, **options)
    return buffer.getvalue()


def naive_preprocess(img: Image.Image) -> np.ndarray:
    """What the first predict.py did: gray, invert if the border is light, squash to 28x28."""
    gray = to_grayscale(img)
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if np.median(border) > 127:
        gray = 255.0 - gray
    small = Image.fromarray(gray.astype(np.uint8)).resize((28, 28), Image.Resampling.LANCZOS)
    return np.asarray(small, dtype=np.float32)[..., None]


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--count", type=int, default=1000, help="pictures to draw (default: 1000)")
    parser.add_argument("--seed", type=int, default=0, help="the set's seed (default: 0)")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="also save the pictures there, named by label")
    args = parse_data(parser)
    x_test, y_test = mnist_test(args.data)
    rng = np.random.default_rng(args.seed)
    indices = rng.choice(len(x_test), size=args.count, replace=False)
    digits, labels = x_test[indices], y_test[indices]
    ours, naive, formats, pens, failures = draw_and_preprocess(digits, labels, rng, args.keep)
    # The same digits again, each with its strokes broken: reported apart, as no pen draws that.
    broken = draw_and_preprocess(digits, labels, np.random.default_rng(args.seed), None, "broken")

    net = load_model(args.weights)

    def accuracy(images) -> np.ndarray:
        return np.argmax(net.predict(np.stack(images), batch_size=256, verbose=0), axis=1) == labels

    right_ours, right_naive = accuracy(ours), accuracy(naive)
    right_plain = accuracy(list(digits[..., None].astype(np.float32)))
    print(f"{args.count} realistic pictures of MNIST test digits (seed {args.seed}), weights {args.weights}")
    print(f"  the same digits as plain MNIST images:   {right_plain.mean():.2%}")
    print(f"  naive invert-and-resize:                 {right_naive.mean():.2%}")
    print(f"  predict.py (MNIST-style preprocessing):  {right_ours.mean():.2%}  ({failures} as no digit or several)")
    for kinds, names in ((np.array(formats), FORMATS), (np.array(pens), PENS)):
        for name in names:
            chosen = kinds == name
            print(
                f"    {name:5s} {chosen.sum():4d} pictures: "
                f"naive {right_naive[chosen].mean():.1%}, ours {right_ours[chosen].mean():.1%}"
            )
    print(
        f"  the same digits with broken strokes:     naive {accuracy(broken[1]).mean():.1%}, "
        f"ours {accuracy(broken[0]).mean():.1%}; as 28x28 images {accuracy(broken_plain(digits)).mean():.1%}"
    )


def draw_and_preprocess(digits: np.ndarray, labels: np.ndarray, rng, keep: Path | None, pen_choice: str | None = None):
    """Draw each digit as a realistic picture, save it, and preprocess it both ways: (ours, naive,
    formats, pens, how many had 'no digit found')."""
    ours, naive, formats, pens_used, failures = [], [], [], [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for n, (digit, label) in enumerate(zip(digits, labels, strict=True)):
            img, fmt, pen_used = realistic_picture(digit, rng, pen_choice)
            pens_used.append(pen_used)
            path = (keep or Path(tmp)) / f"{n:04d}-label{label}.{fmt.lower()}"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(encode(img, fmt, rng))
            formats.append(fmt if img.mode != "RGBA" else "RGBA")
            digit_ours, digit_naive = preprocess_both_ways(path)
            ours.append(digit_ours)
            naive.append(digit_naive)
            failures += not digit_ours.any()
    return ours, naive, formats, pens_used, failures


def preprocess_both_ways(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The network's input for one picture file as predict.py makes it (all black where it finds
    no digit, or several: either counts as wrong) and as the naive approach does."""
    loaded = load_image(path)
    try:
        digits = read_digits(loaded)
    except UserError:
        digits = []
    ours = digits[0].image if len(digits) == 1 else np.zeros((28, 28, 1), np.float32)
    return ours, naive_preprocess(loaded)


def broken_plain(digits: np.ndarray) -> list[np.ndarray]:
    """The digits with broken strokes as 28x28 images, handed to the network directly."""
    return [pen(digit, "broken").astype(np.float32)[..., None] for digit in digits]


if __name__ == "__main__":
    main()
