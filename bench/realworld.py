"""How well predict.py reads real people's pictures of digits: a folder laid out like ../shared/realworld-dev.

    python3 bench/realworld.py ../shared/realworld-dev --weights model.weights.h5
    python3 bench/realworld.py ../shared/realworld-dev --sheet misreads.png   # also a contact sheet

The folder holds pictures and a labels.csv with the columns file, label, source_repo and kind
(photo, scan, drawn, mnist-like). Pictures whose label is one digit are read through
predict.py's own pipeline and through the naive "invert and resize" beside it. It prints the
accuracy overall, per kind and per source repository, a confusion table, and with --sheet
writes a PNG of every misread: the picture, what the network saw, the answer and the runner-up.
Where the folder is absent it says so and exits 0, so that a checkout without it still runs.
"""

import csv
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from common import ROOT, bench_parser
from PIL import Image
from realistic import preprocess_both_ways

from mnist_cnn.pictures import Digit
from mnist_cnn.reading import Piece, Reader, judge


def read_labels(folder: Path) -> list[dict]:
    """The rows of labels.csv whose label is a single digit, each with its path."""
    with open(folder / "labels.csv", newline="") as f:
        rows = [row for row in csv.DictReader(f) if len(row["label"]) == 1 and row["label"].isdigit()]
    return [{**row, "path": folder / row["file"], "label": int(row["label"])} for row in rows]


def accuracy_by(rows: list[dict], key: str, right: np.ndarray, naive: np.ndarray) -> None:
    """One line per value of `key`: how many pictures, and the share read right both ways."""
    groups = defaultdict(list)
    for i, row in enumerate(rows):
        groups[row[key]].append(i)
    for value, members in sorted(groups.items()):
        print(
            f"    {value[:60]:60s} {len(members):4d}  predict.py {right[members].mean():6.1%}"
            f"   naive {naive[members].mean():6.1%}"
        )


def confusion_table(labels: np.ndarray, answers: np.ndarray) -> None:
    """Rows: the true digit; columns: the answer."""
    print("  confusion (rows: label, columns: answer)")
    print("       " + "".join(f"{d:5d}" for d in range(10)))
    for label in range(10):
        counts = np.bincount(answers[labels == label], minlength=10)
        print(f"    {label:2d} " + "".join(f"{c:5d}" if c else "    ." for c in counts))


def contact_sheet(path: Path, rows: list[dict], seen: np.ndarray, pieces: list[Piece], misread: np.ndarray):
    """Every misread picture beside what the network saw, with the answer and the runner-up."""
    from matplotlib.figure import Figure

    wrong = np.flatnonzero(misread)
    columns = 4
    fig = Figure(figsize=(columns * 3.2, max(1, -(-len(wrong) // columns)) * 1.7))
    for n, i in enumerate(wrong):
        piece = pieces[i]
        picture_ax = fig.add_subplot(-(-len(wrong) // columns), 2 * columns, 2 * n + 1)
        seen_ax = fig.add_subplot(-(-len(wrong) // columns), 2 * columns, 2 * n + 2)
        with Image.open(rows[i]["path"]) as img:
            img.thumbnail((160, 160))
            picture_ax.imshow(img.convert("RGB"))
        seen_ax.imshow(seen[i][..., 0], cmap="gray", vmin=0, vmax=255)
        picture_ax.set_title(f"{rows[i]['kind']}: {rows[i]['label']}", fontsize=7)
        seen_ax.set_title(
            f"{piece.answer} {piece.confidence:.0%}, {piece.runner_up} {piece.probabilities[piece.runner_up]:.0%}",
            fontsize=7,
            color="red",
        )
        for ax in (picture_ax, seen_ax):
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def main() -> None:
    parser = bench_parser(__doc__, data=False)
    parser.add_argument(
        "folder", type=Path, nargs="?", default=ROOT.parent / "shared" / "realworld-dev", help="the pictures' folder"
    )
    parser.add_argument("--sheet", type=Path, metavar="PNG", help="write a contact sheet of the misreads there")
    args = parser.parse_args()
    if not (args.folder / "labels.csv").is_file():
        print(f"bench/realworld.py: skipped: no {args.folder}/labels.csv (the real-world pictures are not here)")
        return
    rows = read_labels(args.folder)
    both = [preprocess_both_ways(row["path"]) for row in rows]
    ours, naive = np.stack([b[0] for b in both]), np.stack([b[1] for b in both])
    reader = Reader(args.weights)
    pieces = [judge([piece])[0] for piece in reader.read([Digit(image, (0, 0, 0, 0)) for image in ours])]
    refused = np.array([not piece.is_digit for piece in pieces])
    answers = np.array([piece.answer for piece in pieces])
    labels = np.array([row["label"] for row in rows])
    right = (answers == labels) & ~refused
    right_naive = np.argmax(reader.model.predict(naive, batch_size=256, verbose=0)[1], axis=1) == labels
    found_none = int((ours.reshape(len(ours), -1).max(axis=1) == 0).sum())

    print(f"{len(rows)} single-digit pictures in {args.folder}, weights {args.weights}")
    print(
        f"  predict.py: {right.sum()} of {len(rows)} right, {right.mean():.2%} ({found_none} as no digit or several,"
        f" {refused.sum()} as not a digit, of which {(refused & (answers == labels)).sum()} would have read right)"
    )
    print(f"  naive invert-and-resize: {right_naive.mean():.2%}")
    print("  by kind:")
    accuracy_by(rows, "kind", right, right_naive)
    print("  by source repository:")
    accuracy_by(rows, "source_repo", right, right_naive)
    confusion_table(labels, answers)
    print("  misread:")
    for i in np.flatnonzero(~right):
        piece = pieces[i]
        verdict = f"not a digit (closest {piece.answer})" if refused[i] else f"read as {piece.answer}"
        print(
            f"    {rows[i]['file']} ({rows[i]['kind']}): {labels[i]} {verdict} ({piece.confidence:.0%}),"
            f" then {piece.runner_up} ({piece.probabilities[piece.runner_up]:.0%})"
        )
    if args.sheet:
        contact_sheet(args.sheet, rows, ours, pieces, ~right)
        print(f"  contact sheet of the misreads: {args.sheet}")


if __name__ == "__main__":
    sys.exit(main())
