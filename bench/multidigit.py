"""How well predict.py reads numbers: 2 to 6 MNIST test digits written side by side on one line.

    python3 bench/multidigit.py --data mnist.npz --weights model.weights.h5 --count 300

Each number is 2 to 6 MNIST *test* digits (never trained on), each 4 times MNIST's size, cropped
to its ink, scaled by 0.85 to 1.15, moved up or down by up to 20 pixels, and set beside the
last with a gap of -2 to 30 pixels (about one pair in six touches or nearly), dark ink on white.
Every number goes through predict.py's own pipeline and verdict (a digit left out as "not a
digit" is missing); the script prints the share of numbers read exactly (every digit, none
missing or extra) and of digits read right where the count was right.
"""

import numpy as np
from common import bench_parser, mnist_test, parse_data
from PIL import Image

from mnist_cnn.pictures import read_digits
from mnist_cnn.reading import Reader, judge


def compose(digits: list[np.ndarray], rng: np.random.Generator) -> Image.Image:
    """The digits (28x28, white on black) written left to right as one number, dark on white."""
    parts = []
    for digit in digits:
        size = int(28 * 4 * rng.uniform(0.85, 1.15))
        big = np.asarray(Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC), np.float32)
        cols = np.flatnonzero(big.max(axis=0) > 30)
        parts.append(big[:, cols[0] : cols[-1] + 1])
    height = max(p.shape[0] for p in parts) + 60
    page = np.zeros((height, sum(p.shape[1] for p in parts) + 40 + 30 * len(parts)), np.float32)
    x = 20
    for part in parts:
        y = 10 + int(rng.integers(0, 21))
        region = page[y : y + part.shape[0], x : x + part.shape[1]]
        np.maximum(region, part, out=region)
        x += part.shape[1] + int(rng.integers(-2, 31))
    return Image.fromarray((255 - page).clip(0, 255).astype(np.uint8))


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--count", type=int, default=300, help="numbers to write (default: 300)")
    parser.add_argument("--seed", type=int, default=0, help="the set's seed (default: 0)")
    args = parse_data(parser)
    x_test, y_test = mnist_test(args.data)
    reader = Reader(args.weights)
    rng = np.random.default_rng(args.seed)
    exact, counted, digits_right, digits_total, left_out = 0, 0, 0, 0, 0
    for _ in range(args.count):
        chosen = rng.choice(len(x_test), int(rng.integers(2, 7)), replace=False)
        pieces = judge(reader.read(read_digits(compose(list(x_test[chosen]), rng))))
        answers = np.array([piece.answer for piece in pieces if piece.is_digit])
        left_out += sum(not piece.is_digit for piece in pieces)
        exact += len(answers) == len(chosen) and bool((answers == y_test[chosen]).all())
        if len(answers) == len(chosen):
            counted += 1
            digits_right += int((answers == y_test[chosen]).sum())
            digits_total += len(chosen)
    print(f"{args.count} numbers of 2 to 6 MNIST test digits (seed {args.seed}), weights {args.weights}")
    print(f"  read exactly:                 {exact / args.count:.1%}")
    print(f"  the right count of digits:    {counted / args.count:.1%}")
    print(f"  digits right, where counted:  {digits_right / max(digits_total, 1):.1%}")
    print(f"  digits left out as not digits: {left_out}")


if __name__ == "__main__":
    main()
