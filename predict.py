"""Read the handwritten digit in an image with the network trained by model.py.

    IMG_PATH=my_digit.png python3 predict.py     # prints the digit, then its probability: 7 (98.6%)
    python3 predict.py my_digit.png

Any image Pillow opens works: it becomes a white-on-black 28x28 digit, as in MNIST.
Arguments, files and weights are checked before TensorFlow is imported, so a typo fails fast.
"""

import argparse
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# model.py defaults to this name, so the two scripts meet without flags.
DEFAULT_WEIGHTS = Path("model.weights.h5")


class UserError(Exception):
    """A problem the user can fix: reported as one line on stderr, no traceback."""


def load_image(path: Path) -> Image.Image:
    """Open and fully decode an image, turning Pillow's failures into one readable sentence."""
    try:
        with Image.open(path) as img:
            img.load()  # decode now: a truncated file fails here, not halfway through preprocessing
            return ImageOps.exif_transpose(img)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a directory, not an image") from None
    except UnidentifiedImageError:
        raise UserError(f"{path}: not an image Pillow can read") from None
    except Image.DecompressionBombError as e:
        raise UserError(f"{path}: refused, too many pixels ({e})") from None
    except (OSError, SyntaxError, ValueError) as e:  # Pillow's errors for corrupt or truncated data
        raise UserError(f"{path}: truncated or corrupt image ({e})") from None


def to_grayscale(img: Image.Image) -> np.ndarray:
    """Float 0..255 gray pixels; transparency composited onto white, 16-bit scaled down."""
    if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        gray = np.asarray(img, dtype=np.float32)
        # 16-bit and 32-bit gray keep their full range; 8-bit data stored in mode I does not.
        return gray / 257.0 if gray.max() > 255 else gray
    if img.has_transparency_data:
        canvas = Image.new("RGBA", img.size, "white")
        img = Image.alpha_composite(canvas, img.convert("RGBA"))
    return np.asarray(img.convert("L"), dtype=np.float32)


def preprocess(img: Image.Image) -> np.ndarray:
    """A (28, 28, 1) array of raw 0..255 pixels, white digit on black, as the network was trained."""
    gray = to_grayscale(img)
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if np.median(border) > 127:  # a light background: the digit is dark ink, MNIST's is light
        gray = 255.0 - gray
    small = Image.fromarray(gray.astype(np.uint8)).resize((28, 28), Image.Resampling.LANCZOS)
    return np.asarray(small, dtype=np.float32)[..., None]


def load_model(weights: Path):
    """The network of model.py with the given weights; a clear error when they do not fit."""
    from model import build_model  # imports TensorFlow: deliberately after every cheap check

    model = build_model()
    try:
        model.load_weights(weights)
    except Exception as e:  # h5py's OSError for a non-HDF5 file, Keras' ValueError for another network
        raise UserError(
            f"{weights}: cannot load these weights into the network ({str(e).splitlines()[0]}); "
            "retrain with python3 model.py"
        ) from None
    return model


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("image", nargs="?", type=Path, help="image file (default: $IMG_PATH)")
    parser.add_argument(
        "--weights", type=Path, default=DEFAULT_WEIGHTS, help=f"weights saved by model.py (default: {DEFAULT_WEIGHTS})"
    )
    args = parser.parse_args(argv)
    if args.image is None:
        if not os.environ.get("IMG_PATH"):
            parser.error("no image given: IMG_PATH=<img> python3 predict.py, or python3 predict.py <img>")
        args.image = Path(os.environ["IMG_PATH"])
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if not args.weights.is_file():
        raise UserError(f"{args.weights}: no trained weights; train first with python3 model.py")
    digit_image = preprocess(load_image(args.image))

    model = load_model(args.weights)
    probabilities = model.predict(digit_image[None], verbose=0)[0]
    digit = int(np.argmax(probabilities))
    print(f"{digit} ({probabilities[digit]:.1%})")


if __name__ == "__main__":
    try:
        main()
    except UserError as e:
        sys.exit(f"predict.py: error: {e}")
    except KeyboardInterrupt:
        sys.exit("predict.py: interrupted")
