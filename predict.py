"""Read handwritten digits in pictures with the network trained by model.py.

    IMG_PATH=my_digit.png python3 predict.py          # the digit, then its probability: 7 (98.6%)
    python3 predict.py photos/ a.jpg b.png --top 3    # one line per image: path: digit (probability)
    IMG_PATH=number.png python3 predict.py            # a number: its digits, the least sure one's probability
    IMG_PATH=star.png python3 predict.py              # on stderr: star.png: not a digit (exit status 1)
    python3 predict.py a.jpg --json                   # one JSON object per line
    python3 predict.py a.jpg --show                   # picture, what the network sees and why, probabilities
    python3 predict.py --draw                         # a pad to write on: each stroke read as you write

Each picture becomes the 28x28 image MNIST would have made of its digit (mnist_cnn/pictures.py
says how). Arguments, files and images are checked and decoded before TensorFlow is imported,
so a typo fails in well under a second; many images cost little more than one, as they go
through the network in batches.
"""

import argparse
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from mnist_cnn import figures, formats, novelty, reading
from mnist_cnn.batches import find_images, prepared_chunks, quiet_pillow
from mnist_cnn.errors import UserError, run_script
from mnist_cnn.storage import DEFAULT_WEIGHTS, WriteError, check_writable


def load_reader(weights: Path) -> reading.Reader:
    """The network with `weights` and their digit stats; imports TensorFlow, so it is called after
    every cheap check. Weights saved without stats read every mark as a digit, and it says so."""
    reader = reading.Reader(weights)
    if reader.stats is None:
        print(
            f"predict.py: note: no {novelty.stats_path(weights)} beside the weights, so nothing is called "
            f"'not a digit'; make it with python3 model.py --calibrate --weights {weights}",
            file=sys.stderr,
        )
    return reader


def check_weights(weights: Path) -> None:
    """Say now, before any work, when there are no weights to read with."""
    if not weights.is_file():
        raise UserError(f"{weights}: no trained weights; train first with python3 model.py")


def draw_pad(weights: Path) -> int:
    """predict.py --draw: the drawing pad (mnist_cnn/pad.py), once the display, the folder its
    drawings are saved in and the weights are known to be there."""
    if not figures.has_display():
        raise UserError("no display: --draw needs a window (DISPLAY is not set; with Docker, see the README)")
    check_writable(Path("drawing-1.png"))
    check_weights(weights)
    problem = figures.window_problem()
    if problem:
        raise UserError(problem)
    from mnist_cnn import pad

    pad.draw(load_reader(weights))
    return 0


def preview_path(preview: Path, index: int, count: int) -> Path:
    """The preview file itself for one image; numbered beside it (name-1.png, ...) for several."""
    return preview if count == 1 else preview.with_name(f"{preview.stem}-{index}{preview.suffix}")


def report_error(message: str, as_json: bool, path: Path | None = None) -> None:
    print(f"predict.py: error: {message}", file=sys.stderr)
    if as_json and path is not None:
        print(json.dumps({"path": str(path), "error": message.removeprefix(f"{path}: ")}), flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, help="image files or directories of them (default: $IMG_PATH)")
    parser.add_argument(
        "--weights", type=Path, default=DEFAULT_WEIGHTS, help=f"weights saved by model.py (default: {DEFAULT_WEIGHTS})"
    )
    parser.add_argument("--top", type=int, default=1, metavar="K", help="print the K most likely digits (default: 1)")
    parser.add_argument("--json", action="store_true", help="one JSON object per image, with all ten probabilities")
    parser.add_argument(
        "--invert",
        choices=("auto", "yes", "no"),
        default="auto",
        help="yes: dark ink on light paper; no: light ink on dark; auto (default): judged from each picture",
    )
    parser.add_argument("--show", action="store_true", help="open a window per image: what the network sees, and why")
    parser.add_argument(
        "--preview", type=Path, metavar="PNG", help="write that figure to a file (name-N.png for several)"
    )
    parser.add_argument(
        "--draw",
        action="store_true",
        help="open a drawing pad: write with the mouse, see each stroke read and why (s saves drawing-N.png here)",
    )
    args = parser.parse_args(argv)
    if args.draw:
        if args.paths or args.json or args.show or args.preview:
            parser.error("--draw takes no pictures, --json, --show or --preview: it is a window of its own")
        return args
    if not args.paths:
        if not os.environ.get("IMG_PATH"):
            parser.error("no image given: IMG_PATH=<img> python3 predict.py, or python3 predict.py <img>...")
        args.paths = [Path(os.environ["IMG_PATH"])]
    if not 1 <= args.top <= 10:
        parser.error("--top must be between 1 and 10")
    return args


def main(argv: list[str] | None = None) -> int:
    """Predict every image given; returns the exit status: 1 if any image failed."""
    args = parse_args(argv)
    if args.draw:
        return draw_pad(args.weights)
    if args.preview is not None:
        check_writable(args.preview)  # before any reading, not after the first picture
    quiet_pillow()
    files, errors = find_images(args.paths)
    for path, message in errors:
        report_error(message, args.json, path)
    check_weights(args.weights)
    single = len(args.paths) == 1 and not args.paths[0].is_dir()  # print the digit first, as ever
    keep_pictures = args.show or args.preview is not None
    if args.show and not figures.has_display():
        print("predict.py: no display: --show opens no window (use --preview FILE.png)", file=sys.stderr)
        args.show = False

    reader, failed, number, unwritten = None, bool(errors), 0, None
    # Many files are decoded by worker processes, so this one is free to import TensorFlow meanwhile.
    loader, loading = ThreadPoolExecutor(max_workers=1), []

    def load_meanwhile() -> None:
        loading.append(loader.submit(load_reader, args.weights))
        loader.shutdown(wait=False)

    for chunk in prepared_chunks(files, args.invert, keep_pictures, workers_started=load_meanwhile):
        found = [digits for _, digits, _ in chunk if not isinstance(digits, UserError)]
        if found:
            reader = reader or (loading[0].result() if loading else load_reader(args.weights))
            readings = iter(reading.read_pictures(reader, found))
        for path, digits, picture in chunk:
            number += 1
            if isinstance(digits, UserError):
                report_error(str(digits), args.json, path)
                failed = True
                continue
            pieces = next(readings)
            if keep_pictures:  # the figure shows why: a batch of the network per piece, so only then
                pieces = [reader.why(p) for p in pieces]
            if not any(p.is_digit for p in pieces):  # like a picture that could not be read; its figure still shows why
                report_error(f"{path}: {formats.NOT_A_DIGIT}", args.json, path)
                failed = True
            elif args.json:
                print(json.dumps(formats.json_record(path, pieces)), flush=True)
            else:
                text = formats.format_reading(pieces, args.top)
                print(text if single else f"{path}: {text}")
            draw = partial(figures.draw_prediction, path=path, picture=picture, pieces=pieces)
            if args.preview is not None and unwritten is None:
                try:
                    figures.save_figure(
                        preview_path(args.preview, number, len(files)), draw, figures.prediction_size(pieces)
                    )
                except WriteError as e:  # a full disk: the readings go on, the previews stop, its line comes last
                    unwritten = e
            if args.show:
                figures.show_window(f"predict.py: {path.name}", draw, figures.prediction_size(pieces))
    if unwritten is not None:
        raise unwritten
    return 1 if failed else 0


if __name__ == "__main__":
    run_script("predict.py", main, "interrupted")
