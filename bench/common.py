"""What the benchmarks share: the checkout on sys.path, their common arguments, MNIST's test set read and checked.

from common import ROOT, bench_parser, mnist_test
"""

import argparse
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the package, from the checkout: the project is not installed

from mnist_cnn.errors import UserError  # noqa: E402  (needs the path above)
from mnist_cnn.mnist import read_npz  # noqa: E402
from mnist_cnn.storage import DEFAULT_WEIGHTS  # noqa: E402


def bench_parser(doc: str, data: bool = True, weights: bool = True) -> argparse.ArgumentParser:
    """An argument parser described by the first paragraph of `doc`, with --data (MNIST .npz,
    default $MNIST_NPZ; checked by parse_data) and --weights (default: the checkout's)."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    if data:
        parser.add_argument("--data", default=os.environ.get("MNIST_NPZ"), help="MNIST .npz (default: $MNIST_NPZ)")
    if weights:
        parser.add_argument(
            "--weights",
            type=Path,
            default=ROOT / DEFAULT_WEIGHTS,
            help="weights from model.py (default: the checkout's)",
        )
    return parser


def parse_data(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """parser.parse_args(), refusing to go on without the MNIST .npz."""
    args = parser.parse_args()
    if not args.data:
        parser.error("give the MNIST .npz with --data or MNIST_NPZ")
    return args


def mnist_test(path: str) -> tuple[np.ndarray, np.ndarray]:
    """MNIST's test images (N, 28, 28) and labels, read and checked as model.py reads them."""
    try:
        arrays = read_npz(path)
    except UserError as e:
        sys.exit(f"{Path(sys.argv[0]).name}: error: {e}")
    return arrays["x_test"], arrays["y_test"]
