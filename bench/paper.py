"""Photos of digits on real stationery: plain, ruled and squared paper, a table beside the page,
the whole sheet on a desk, shading, a line drawn under the digit, a form's box round it.

    python3 bench/paper.py --data mnist.npz --weights model.weights.h5

MNIST test digits are drawn 6x their size in dark ink on grey paper (400x300, mild noise),
then given the lines of ruled paper (every 45 px), of squared paper (every 30 px, both ways),
a dark table along the left edge, a desk all round the sheet (tilted up to 3 degrees),
shading from one side to the other, or a line drawn under the digit and running on past it at
both ends (touching the digits that reach down to MNIST's box, apart from the others), or a
box drawn round the digit as on a form (3 px, as dark as the ink, clear of MNIST's box), or one
half as tall as MNIST's box, which the digit overflows above and below, its lines crossing it.
predict.py reads every picture in one call; the script prints how many of each kind it read right.
"""

import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
from common import ROOT, bench_parser, mnist_test, parse_data
from PIL import Image


def on_paper(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 28x28 white-on-black MNIST digit as dark ink in the middle of a 400x300 grey page."""
    ink = np.asarray(Image.fromarray(digit).resize((168, 168), Image.Resampling.BICUBIC), np.float32) / 255
    page = np.full((300, 400), 225.0) + rng.normal(0, 3, (300, 400))
    page[66:234, 116:284] -= ink * 190
    return page


def stationery(page: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    ruled, squared, table = page.copy(), page.copy(), page.copy()
    ruled[40::45, :] -= 60
    squared[::30, :] -= 45
    squared[:, ::30] -= 45
    table[:, :60] = 60 + rng.normal(0, 3, (300, 60))
    sheet = Image.fromarray(page.clip(0, 255).astype(np.uint8)).rotate(rng.uniform(-3, 3), fillcolor=60)
    desk = np.full((400, 520), 60.0)
    desk[50:350, 60:460] = sheet  # the desk shows in the tilted sheet's corners too
    desk += rng.normal(0, 3, desk.shape)
    shaded = page - np.linspace(0, 120, page.shape[1])[None, :]
    underlined = page.copy()
    underlined[212:217, 90:310] -= 150  # MNIST's 20x20 box ends at y = 210 here
    boxed = page.copy()
    boxed[62:238, 112:288] -= 190  # 28 px round MNIST's 20x20 box (y 90-210, x 140-260)...
    boxed[65:235, 115:285] += 190  # ...3 px wide
    overflowing = page.copy()
    overflowing[120:180, 112:288] -= 190  # a box the digit is written too big for: its lines cross it
    overflowing[123:177, 115:285] += 190
    return {
        "plain": page,
        "ruled": ruled,
        "squared": squared,
        "table": table,
        "desk": desk,
        "shaded": shaded,
        "underlined": underlined,
        "boxed": boxed,
        "overflowing": overflowing,
    }


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--count", type=int, default=12, help="MNIST test digits per kind of paper (default: 12)")
    parser.add_argument("--seed", type=int, default=5, help="the set's seed (default: 5)")
    args = parse_data(parser)
    x_test, y_test = mnist_test(args.data)
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for n, i in enumerate(rng.choice(len(x_test), args.count, replace=False)):
            for kind, picture in stationery(on_paper(x_test[i], rng), rng).items():
                path = Path(tmp) / f"{n:03d}_{kind}_{y_test[i]}.png"
                Image.fromarray(picture.clip(0, 255).astype(np.uint8)).save(path)
                paths.append(path)
        command = [sys.executable, str(ROOT / "predict.py"), "--json", "--weights", str(args.weights), *map(str, paths)]
        out = subprocess.run(command, capture_output=True, text=True).stdout
    right = defaultdict(list)
    for line in out.splitlines():
        record = json.loads(line)
        _, kind, label = Path(record["path"]).stem.split("_")
        right[kind].append(record.get("digit") == int(label))
    for kind, results in right.items():
        print(f"{kind:10s} {sum(results):3d} of {len(results)} read right")


if __name__ == "__main__":
    main()
