"""Time predict.py as a user runs it: one image, and 1,000 images in one call.

    python3 bench/predict.py --weights model.weights.h5

Prints the median wall time (of --repeats runs) of `python -c "import tensorflow"`, the floor
for any TensorFlow tool; of `predict.py one.png`; and of `predict.py` on 1,000 pictures of a few
hundred pixels, with the images per second that gives. Targets (issue #17): one image within
1.2x the import, 1,000 images within the one-image time + 3 s, on a 2-core machine.
"""

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import ROOT, bench_parser
from PIL import Image, ImageDraw


def wall_time(command: list[str], repeats: int) -> float:
    """Median seconds of `command` over `repeats` runs; it must run, though a picture in which
    predict.py finds no digit makes it exit 1 (those are counted, not fatal)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        times.append(time.perf_counter() - start)
        if result.returncode not in (0, 1) or "Traceback" in result.stderr:
            sys.exit(f"bench/predict.py: {' '.join(command)} failed:\n{result.stderr}")
    no_digit = result.stderr.count("no digit found")
    if no_digit:
        print(f"  ({no_digit} of the pictures in {command[-1]} had no digit found)")
    return statistics.median(times)


def write_pictures(folder: Path, count: int) -> None:
    """`count` pictures of a stroke-drawn digit-like shape, 200-400 pixels a side, as PNG."""
    rng = np.random.default_rng(0)
    for i in range(count):
        w, h = rng.integers(200, 400, size=2)
        img = Image.new("L", (int(w), int(h)), int(rng.integers(180, 255)))
        points = [tuple(rng.uniform([0.2 * w, 0.2 * h], [0.8 * w, 0.8 * h])) for _ in range(4)]
        ImageDraw.Draw(img).line(points, fill=int(rng.integers(0, 80)), width=int(rng.integers(4, 15)))
        img.save(folder / f"{i:04d}.png")


def main() -> None:
    parser = bench_parser(__doc__, data=False)
    parser.add_argument("--count", type=int, default=1000, help="pictures in the batch call (default: 1000)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each command (default: 3)")
    args = parser.parse_args()

    predict = [sys.executable, str(ROOT / "predict.py"), "--weights", str(args.weights)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "pictures"
        folder.mkdir()
        write_pictures(folder, args.count)
        import_time = wall_time([sys.executable, "-c", "import tensorflow"], args.repeats)
        single = wall_time([*predict, str(folder / "0000.png")], args.repeats)
        batch = wall_time([*predict, str(folder)], args.repeats)

    print(f"import tensorflow:           {import_time:6.2f} s")
    print(f"predict.py, 1 image:         {single:6.2f} s  ({single / import_time:.2f}x the import; target <= 1.2x)")
    print(
        f"predict.py, {args.count} images:    {batch:6.2f} s  (1 image + {batch - single:.2f} s; target <= + 3 s); "
        f"{args.count / (batch - single):.0f} images/s beyond the first"
    )


if __name__ == "__main__":
    main()
