"""Read handwritten digits in pictures with the network trained by model.py.

    IMG_PATH=my_digit.png python3 predict.py          # the digit, then its probability: 7 (98.6%)
    python3 predict.py photos/ a.jpg b.png --top 3    # one line per image: path: digit (probability)
    python3 predict.py a.jpg --json                   # one JSON object per line
    python3 predict.py a.jpg --show                   # picture, what the network sees, probabilities

A picture becomes the 28x28 image MNIST would have made of its digit: MNIST digits were drawn
white on black, scaled to fit a 20x20 box with their aspect ratio kept, and placed in a 28x28
frame with their centre of mass in the middle; the network knows nothing else. So:

    decode (first frame, EXIF orientation, transparency laid on white, 16-bit scaled, huge photos
    reduced) -> gray -> a sheet photographed on a desk cropped to -> polarity (ink made light,
    judged against the paper) -> the paper's level removed (shading, a shadow's edge, noise) ->
    lines across the whole picture dropped (ruled paper, a table's edge) -> the digit's own
    pieces of ink, not specks beside it -> their bounding box -> fit in 20x20 -> centre of mass
    at (14, 14)

Arguments, files and images are checked and decoded before TensorFlow is imported, so a typo
fails in well under a second; many images cost little more than one, as they go through the
network in batches.
"""

import argparse
import json
import multiprocessing
import os
import sys
import warnings
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError
from scipy import ndimage

# model.py defaults to this name, so the two scripts meet without flags.
DEFAULT_WEIGHTS = Path("model.weights.h5")
CHUNK = 256  # images decoded and predicted together: bounds memory however many are given
MANY_FILES = 32  # from this many files on, worker processes decode them


class UserError(Exception):
    """A problem the user can fix: reported as one line on stderr, no traceback."""


WORKING_SIZE = 768  # larger pictures are reduced to this first: more pixels only add noise and time
BOX = 20  # MNIST's size-normalization box
FRAME = 28
NOISE_FLOOR = 16.0  # ink fainter than this (0..255) above the paper is taken for shading or noise
STROKE_WIDTH = 2.5  # MNIST's median stroke width in its 28x28 images...
STROKE_WIDTH_RANGE = (1.8, 3.6)  # ...and its 10th to 90th percentile: widths inside are left alone
MAX_THINNING = 1.0  # pixels of MNIST's scale a marker's strokes are slimmed by, at most
PIECE_REACH = 3  # pieces of ink this many stroke widths apart are one digit...
SPECK = 0.02  # ...but those with less than this share of its ink do not stretch its box
SHEET_FILL = 0.75  # a sheet on a desk is at least this much paper: the digit is small on it
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def load_image(path: Path) -> Image.Image:
    """Decode the first frame of an image, upright, reduced to at most WORKING_SIZE a side.

    Pillow's pixel limit still refuses decompression bombs; big but legitimate photos are
    decoded at reduced scale where the format allows (JPEG) and downscaled otherwise.
    """
    try:
        with Image.open(path) as img:
            img.draft(img.mode, (WORKING_SIZE, WORKING_SIZE))  # JPEG: decode at 1/2, 1/4, 1/8 size
            img = ImageOps.exif_transpose(img)  # also decodes: a truncated file fails here
            img.thumbnail((WORKING_SIZE, WORKING_SIZE), Image.Resampling.BOX)
            img.load()
            return img
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a directory, not an image") from None
    except UnidentifiedImageError:
        raise UserError(f"{path}: not an image Pillow can read") from None
    except Image.DecompressionBombError:
        raise UserError(
            f"{path}: refused, more pixels than Pillow's limit of {Image.MAX_IMAGE_PIXELS:,} (a decompression bomb?)"
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:  # Pillow's errors for corrupt or truncated data
        raise UserError(f"{path}: truncated or corrupt image ({e})") from None


def to_grayscale(img: Image.Image) -> np.ndarray:
    """Float 0..255 gray pixels; transparency composited onto white, 16-bit scaled down."""
    if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        gray = np.asarray(img, dtype=np.float32)
        # 16-bit and 32-bit gray keep their full range; 8-bit data stored in mode I does not.
        return gray / 257.0 if gray.max() > 255 else np.clip(gray, 0, 255)
    if img.has_transparency_data:
        canvas = Image.new("RGBA", img.size, "white")
        img = Image.alpha_composite(canvas, img.convert("RGBA"))
    return np.asarray(img.convert("L"), dtype=np.float32)


def border_level(gray: np.ndarray) -> float:
    """The paper's level: the median of a frame 1/20 of the picture wide around its edge."""
    h, w = gray.shape
    m = max(1, min(h, w) // 20)
    frame = np.concatenate([gray[:m].ravel(), gray[-m:].ravel(), gray[:, :m].ravel(), gray[:, -m:].ravel()])
    return float(np.median(frame))


def paper_level(image: np.ndarray) -> np.ndarray:
    """The paper's level at each pixel, estimated block by block, so shading is not taken for ink.

    In each block of about 1/8 of the picture the median is paper unless ink covers half the
    block; the coarse map is smoothed back to full size.
    """
    h, w = image.shape
    # The paper changes slowly: its levels are read from a 128x128 copy, in blocks of 16x16
    # centred on a 9x9 grid that reaches the edges (half blocks there), so shading is followed
    # right to the edge rather than held level for the last half block.
    small = np.asarray(Image.fromarray(image, mode="F").resize((128, 128), Image.Resampling.BOX))
    small = np.pad(small, 8, mode="reflect")
    coarse = np.median(small.reshape(9, 16, 9, 16).transpose(0, 2, 1, 3).reshape(9, 9, 256), axis=-1)
    # A block that is mostly ink reads as ink: the paper may vary across the page with the
    # light, but not by more than this from the border's level.
    border = border_level(image)
    coarse = np.clip(coarse, border - 3 * NOISE_FLOOR, border + 3 * NOISE_FLOOR)
    grid = Image.fromarray(coarse, mode="F")
    return np.asarray(grid.resize((w, h), Image.Resampling.BILINEAR, box=(0.5, 0.5, 8.5, 8.5)))


def ink_is_dark(gray: np.ndarray, paper: np.ndarray) -> bool:
    """Dark ink on light paper when the darkest pixel lies farther below the paper's level
    than the brightest lies above it. Extremes, not percentiles: a small digit on a big page is
    well under 1% of its pixels. Against the paper's local level, so that shading is no ink."""
    residual = gray - paper
    return -residual.min() > residual.max()


def pixel_sample(image: np.ndarray) -> np.ndarray:
    """A regular sample of about 16,000 of the pixels: enough for a median of the paper."""
    step = max(1, round(np.sqrt(image.size / 16384)))
    return image[::step, ::step]


def nth_brightest(values: np.ndarray, n: int = 50) -> float:
    """The n-th brightest of `values` (>= 0), or the brightest if there are no more than n:
    the level of any digit's ink, however small on the page. Looked for among the values above
    zero, as np.partition is slow on the many equal zeros of clipped ink."""
    if values.size <= n:
        return float(values.max())
    positive = values[values > 0]
    return float(np.partition(positive, -n)[-n]) if positive.size >= n else 0.0


def remove_background(ink: np.ndarray, paper: np.ndarray) -> tuple[np.ndarray, float]:
    """Subtract the paper's level; also return the noise left (a robust standard deviation),
    which no ink can be fainter than."""
    residual = ink - paper
    sample = pixel_sample(residual)
    noise = 1.4826 * float(np.median(np.abs(sample - np.median(sample))))
    return np.clip(residual, 0, None), noise


def crossing_lines(mask: np.ndarray) -> np.ndarray:
    """The ink of bands that cross the whole picture from edge to edge, such as the lines of
    ruled or squared paper or a dark table beside the page; none if removing them would leave
    almost nothing (a "1" cropped as tightly as it was drawn also runs edge to edge). Strokes of
    the digit that cross a band, or only reach into it, are kept.

    Bands are found on a grid of about 128 cells a side, three cells thick, that are inked at
    both edges and over 3/4 of the way: a line tilted by up to about 2 degrees still counts, and
    so does one whose ink fades beside the digit (whose own ink raises the paper's level there).
    """
    cell = max(1, max(mask.shape) // 128)
    across, down = band_rows(mask, cell), band_rows(mask.T, cell)
    # Squared paper: each line goes on across the other, so at first every crossing is kept as
    # a stroke; once the lines each way are known they no longer count as going on.
    first_across, first_down = band_ink(mask, across, mask, cell), band_ink(mask.T, down, mask.T, cell).T
    lines = band_ink(mask, across, mask & ~first_down, cell) | band_ink(mask.T, down, (mask & ~first_across).T, cell).T
    if mask.sum() - lines.sum() < max(50, 0.02 * mask.sum()):
        return np.zeros_like(mask)
    return lines


def band_ink(mask: np.ndarray, bands: np.ndarray, strokes: np.ndarray, cell: int) -> np.ndarray:
    """The ink of the lines in the rows `bands` of `mask`: what runs along the band, over 3/4 of
    any 12 cells, less the strokes that cross it (those in `strokes` just above and below it)."""
    out = np.zeros_like(mask)
    half = 6 * cell
    # A line's fringe, or a line tilted a little, is inked along the band a row up or down.
    padded = np.pad(mask, ((1, 1), (0, 0)))
    smeared = padded[:-2] | padded[1:-1] | padded[2:]
    edges = np.flatnonzero(np.diff(np.concatenate([[0], bands.astype(np.int8), [0]])))
    for top, bottom in zip(edges[::2], edges[1::2], strict=True):
        # A stroke of the digit that only reaches into the band runs along it for a short way.
        sums = np.pad(smeared[top:bottom], ((0, 0), (half + 1, half)), mode="edge").cumsum(axis=1, dtype=np.int32)
        along = sums[:, 2 * half + 1 :] - sums[:, : -2 * half - 1] >= 0.75 * (2 * half + 1)
        above, below = strokes[max(0, top - 2) : top].any(axis=0), strokes[bottom : bottom + 2].any(axis=0)
        out[top:bottom] = mask[top:bottom] & along & ~(above & below)
    return out


def band_rows(mask: np.ndarray, cell: int) -> np.ndarray:
    """Which rows of `mask` lie in a band inked across it, found on a grid of `cell` pixels."""
    n, m = mask.shape
    if n < 3 * cell or not (mask[:, :cell].any() and mask[:, -cell:].any()):
        return np.zeros(n, bool)  # too short for a band, or no ink at one of its edges: most pictures
    padded = np.pad(mask, ((0, -n % cell), (0, -m % cell)))
    coarse = padded.reshape(padded.shape[0] // cell, cell, padded.shape[1] // cell, cell).any(axis=(1, 3))
    inked = coarse[:-2] | coarse[1:-1] | coarse[2:]  # three cells thick
    band = inked[:, 0] & inked[:, -1] & (inked.mean(axis=1) >= 0.75)
    return (np.convolve(band, np.ones(3)) > 0).repeat(cell)[:n]


def stroke_width(mask: np.ndarray) -> float:
    """Mean width of the strokes in a boolean mask, in its pixels: a stroke of length L and width
    w covers L*w pixels and has about 2*L boundary pixels."""
    inner = mask[1:-1, 1:-1] & mask[:-2, 1:-1] & mask[2:, 1:-1] & mask[1:-1, :-2] & mask[1:-1, 2:]
    boundary = mask[1:-1, 1:-1].sum() - inner.sum()
    return 2 * mask.sum() / max(boundary, 1)


def normalize_strokes(digit: np.ndarray, scale: int) -> np.ndarray:
    """Thin a marker's strokes (by MAX_THINNING at most) or thicken a fine pen's toward MNIST's width.

    `digit` is drawn `scale` times larger than MNIST's 20x20 box, where a 3x3 min or max
    filter moves the width by 2/scale of an MNIST pixel.
    """
    width = stroke_width(np.pad(digit > 127, 1)) / scale
    low, high = STROKE_WIDTH_RANGE
    steps = round((width - STROKE_WIDTH) * scale / 2) if not low <= width <= high else 0
    # Thinning by more than MAX_THINNING rounds a marker's corners off and cannot reopen the loops
    # it filled: it distorts more than it helps (thick pens in bench/realistic.py: 95% read when
    # thinned to MNIST's width, 99% with this cap). Thickening a fine pen has no such cost.
    steps = min(steps, round(MAX_THINNING * scale / 2))
    image = Image.fromarray(digit, mode="F")
    for _ in range(abs(steps)):
        thinner = image.filter(ImageFilter.MinFilter(3) if steps > 0 else ImageFilter.MaxFilter(3))
        if steps > 0 and (np.asarray(thinner) > 127).sum() < 0.3 * (digit > 127).sum():
            break  # thinning further would start to erase the digit rather than slim it
        image = thinner
    return np.asarray(image)


def fit_in_frame(digit: np.ndarray) -> np.ndarray:
    """Scale the cropped digit to fit BOX x BOX (aspect kept), then centre its mass in FRAME x FRAME.

    Strokes are brought to MNIST's width on the way, at 4x the final size.
    """
    h, w = digit.shape
    scale = 4 * BOX / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    big = np.asarray(Image.fromarray(digit, mode="F").resize(size, Image.Resampling.BILINEAR))
    big = normalize_strokes(big, 4)
    size = (max(1, round(size[0] / 4)), max(1, round(size[1] / 4)))
    small = np.clip(np.asarray(Image.fromarray(big, mode="F").resize(size, Image.Resampling.BOX)), 0, 255)
    frame = np.zeros((FRAME, FRAME), np.float32)
    total = small.sum()
    ys, xs = np.indices(small.shape)
    cy, cx = (ys * small).sum() / total, (xs * small).sum() / total
    top = int(np.clip(round(FRAME / 2 - 0.5 - cy), 0, FRAME - small.shape[0]))
    left = int(np.clip(round(FRAME / 2 - 0.5 - cx), 0, FRAME - small.shape[1]))
    frame[top : top + small.shape[0], left : left + small.shape[1]] = small
    return frame


def preprocess(img: Image.Image, invert: str = "auto") -> np.ndarray:
    """A (28, 28, 1) float32 array of 0..255 pixels, white digit on black, as MNIST drew them.

    invert: "auto" decides from the picture, "yes" for dark ink on light paper, "no" for light
    ink on dark. Raises UserError("no digit found") for a picture without ink.
    """
    gray = to_grayscale(img)
    if min(gray.shape) < 8:
        raise UserError(f"no digit found (the picture is only {gray.shape[1]}x{gray.shape[0]} pixels)")
    sheet = sheet_box(gray)
    if sheet is not None:
        try:
            return digit_on_paper(gray[sheet], invert)
        except UserError:
            pass  # a solid shape, such as a marker's "1" cropped tightly, rather than a sheet
    return digit_on_paper(gray, invert)


def sheet_box(gray: np.ndarray) -> tuple[slice, slice] | None:
    """The inside of a sheet of paper photographed on a desk, or None if the picture is not one.

    The sheet is what covers the middle of the picture; it counts when the border (the desk) is
    far from its level, and pixels at its level fill a box (bar the digit's ink) of at least a
    tenth of the picture.
    """
    h, w = gray.shape
    desk = border_level(gray)
    sheet = float(np.median(gray[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4]))
    if abs(sheet - desk) < 3 * NOISE_FLOOR:
        return None  # the border is the paper: most pictures
    like_sheet = np.abs(gray - sheet) < abs(sheet - desk) / 2
    if not like_sheet.any():
        return None  # the middle is a mix of levels (noise), not one sheet
    rows, cols = like_sheet.mean(axis=1), like_sheet.mean(axis=0)
    top, bottom = np.flatnonzero(rows > rows.max() / 2)[[0, -1]]
    left, right = np.flatnonzero(cols > cols.max() / 2)[[0, -1]]
    # Inside the sheet's edges, which may be tilted a little or cast a shadow.
    dy, dx = (bottom - top) // 25 + 2, (right - left) // 25 + 2
    box = slice(top + dy, bottom + 1 - dy), slice(left + dx, right + 1 - dx)
    inside = like_sheet[box]
    if inside.size < gray.size / 10 or inside.mean() < SHEET_FILL:
        return None
    # A sheet's paper runs all round inside its edges; a marker's stroke, the other thing that
    # can fill the middle of a picture, has the paper around it showing at its sides.
    edge = np.concatenate([inside[0], inside[-1], inside[:, 0], inside[:, -1]])
    return box if edge.mean() >= 0.99 else None


def digit_on_paper(gray: np.ndarray, invert: str) -> np.ndarray:
    """preprocess() for a picture whose border is the paper."""
    paper = paper_level(gray)
    dark_ink = ink_is_dark(gray, paper) if invert == "auto" else invert == "yes"
    ink, paper = (255.0 - gray, 255.0 - paper) if dark_ink else (gray, paper)
    # A slight blur tames sensor noise and JPEG ringing; unlike a median it keeps 1-pixel strokes.
    blurred = Image.fromarray(ink.round().astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.8))
    ink = np.asarray(blurred, dtype=np.float32)
    # The strongest ink against the block medians: the strokes, whose width sets the scale of
    # the paper's level and of what lies near the digit; a deep shadow is weaker than them.
    residual = ink - paper
    strokes = residual > nth_brightest(np.clip(residual, 0, None)) / 2
    width = stroke_width(strokes)
    ink, noise = remove_background(ink, paper_under_strokes(ink, strokes, width))
    floor = max(NOISE_FLOOR, 8 * noise)
    threshold = ink_threshold(ink, floor)
    # Lines are often fainter than the strokes, but well above the noise.
    lines = crossing_lines(ink > max(threshold / 2, floor / 2))
    if lines.any():  # ruled or squared paper, a table's edge: not the digit, and often darker
        fringe = ndimage.binary_dilation(lines, iterations=2) & (ink <= threshold)  # the lines' faint edges
        ink = np.where(lines | fringe, 0, ink)
        threshold = ink_threshold(ink, floor)
    top, bottom, left, right = digit_box(ink, threshold, width)
    digit = ink[top:bottom, left:right]
    # Faint haze below the threshold is dropped; each stroke's core is scaled to MNIST's 255.
    haze = threshold / 3
    level = stroke_level(digit, threshold)
    digit = np.clip((digit - haze) * 255.0 / np.maximum(level - haze, 1e-6), 0, 255).astype(np.float32)
    return fit_in_frame(digit)[..., None]


def paper_under_strokes(ink: np.ndarray, strokes: np.ndarray, width: float) -> np.ndarray:
    """The paper's level under light ink: a grey opening (a min, then a max filter) four times
    wider than the `strokes`, which removes them but follows a shadow's sharp edge, where block
    medians leave a band of "ink" along it."""
    size = int(min(max(4 * width, min(ink.shape) / 8), max(ink.shape))) | 1
    # On an average of 5x5 pixels, so that the noise's low points are shallow and the level
    # smooth; padded with the edge's own level, which keeps shading that goes on past the edge.
    pad = size // 2 + 1
    padded = np.pad(ndimage.uniform_filter(ink, 5), pad, mode="edge")
    paper = ndimage.grey_opening(padded, size=(size, size), mode="nearest")[pad:-pad, pad:-pad]
    # The min filter finds the noise's low points: raised by the median of what is left of the
    # paper, the level is the paper's own, not the noise's floor.
    rest = pixel_sample(ink - paper)[~pixel_sample(strokes)]
    return paper + float(np.median(rest)) if rest.size else paper


def digit_box(ink: np.ndarray, threshold: float, width: float) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the digit: of the groups of ink above `threshold` whose
    pieces lie within a few stroke widths (`width`) of each other (a 5's detached bar, a stroke
    broken where the pen skipped or a line was taken out), the one with the most ink. Specks,
    dust and marks farther away are left out, and so are the crumbs inside the group."""
    pieces, count = ndimage.label(ink > threshold, structure=np.ones((3, 3)))
    boxes = np.array([(s[0].start, s[0].stop, s[1].start, s[1].stop) for s in ndimage.find_objects(pieces)])
    if count > 1:
        reach = int(PIECE_REACH * width) + 2
        groups, _ = ndimage.label(ndimage.maximum_filter(pieces > 0, size=2 * reach + 1))
        group_of = np.zeros(count + 1, np.int64)
        group_of[pieces.ravel()] = groups.ravel()  # every pixel of a piece is in its group
        mass = np.bincount(pieces.ravel(), weights=ink.ravel(), minlength=count + 1)[1:]
        group_of = group_of[1:]
        ours = group_of == np.argmax(np.bincount(group_of, weights=mass))
        boxes = boxes[ours & (mass >= min(SPECK * mass[ours].sum(), mass[ours].max()))]
    return int(boxes[:, 0].min()), int(boxes[:, 1].max()), int(boxes[:, 2].min()), int(boxes[:, 3].max())


def ink_threshold(ink: np.ndarray, floor: float) -> float:
    """The level above which a pixel is ink: a tenth of the ink's own level (its 50th brightest
    pixel, which any digit has, however small on the page), never below half the noise `floor`.
    Raises UserError("no digit found") if even that level is below `floor`."""
    strong = nth_brightest(ink)
    if strong < floor:
        raise UserError("no digit found")
    return max(floor / 2, 0.1 * strong)  # below `strong`: its 50 pixels are ink for digit_box


def stroke_level(digit: np.ndarray, threshold: float) -> np.ndarray:
    """The ink level of the strokes around each pixel, for scaling them all to MNIST's 255.

    MNIST's strokes are all equally bright; a pencil or a fine pen is darker in some places
    than in others. The level is the brightest ink within about 1/20 of the digit's size, but
    never below 0.3 of the digit's own core level, so haze next to a faint stroke stays faint.
    """
    h, w = digit.shape
    block = max(1, round(max(h, w) / 20))
    padded = np.pad(digit, ((0, -h % block), (0, -w % block)))
    peaks = padded.reshape(padded.shape[0] // block, block, padded.shape[1] // block, block).max(axis=(1, 3))
    peaks = Image.fromarray(peaks, mode="F").filter(ImageFilter.MaxFilter(3))  # the stroke next door counts too
    level = np.asarray(peaks.resize((padded.shape[1], padded.shape[0]), Image.Resampling.BILINEAR))[:h, :w]
    core = np.percentile(digit[digit > threshold], 90)
    return np.maximum(level, 0.3 * core)


def find_images(paths: list[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """The image files among `paths`, directories expanded (sorted, not recursive); and
    (path, message) for each path that gives none."""
    files, errors = [], []
    for path in paths:
        if path.is_dir():
            inside = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            if not inside:
                errors.append((path, f"{path}: directory holds no image files ({', '.join(sorted(IMAGE_SUFFIXES))})"))
            files += inside
        elif path.exists():
            files.append(path)
        else:
            errors.append((path, f"{path}: no such file"))
    return files, errors


def prepare(path: Path, invert: str, keep_picture: bool) -> tuple[np.ndarray, Image.Image | None]:
    """The network's input for one file and, when asked, a small copy of the picture to show."""
    img = load_image(path)
    try:
        digit = preprocess(img, invert)
    except UserError as e:
        raise UserError(f"{path}: {e}") from None
    if not keep_picture:
        return digit, None
    img.thumbnail((320, 320))
    return digit, img.convert("RGBA" if img.has_transparency_data else "RGB")


def attempt(path: Path, invert: str, keep_picture: bool) -> tuple:
    """(path, digit, picture) for one file, or (path, UserError, None) if it cannot be read."""
    try:
        return (path, *prepare(path, invert, keep_picture))
    except UserError as e:
        return path, e, None


def quiet_pillow() -> None:
    """Pillow warns about pictures it could still decode (photos between its pixel limit and twice
    it, a short TIFF strip, odd EXIF): the picture is what counts, and each warning is two lines."""
    warnings.filterwarnings("ignore", module="PIL")


def decoded_in_workers(count: int) -> bool:
    """Whether prepared_chunks() hands `count` files to worker processes."""
    return count >= MANY_FILES and (os.cpu_count() or 1) >= 2


def prepared_chunks(files: list[Path], invert: str, keep_pictures: bool) -> Iterator[list[tuple]]:
    """attempt() for every file, CHUNK at a time.

    Many files are decoded in two worker processes, which use both cores while this one imports
    TensorFlow and runs the network (threads would share one interpreter lock); at most four
    chunks (two with pictures) are ever in flight, so memory stays bounded. A few files are not
    worth starting them.
    """
    chunks = [files[start : start + CHUNK] for start in range(0, len(files), CHUNK)]
    work = partial(attempt, invert=invert, keep_picture=keep_pictures)
    if not decoded_in_workers(len(files)):
        yield from ([work(path) for path in chunk] for chunk in chunks)
        return
    # spawn, not fork: this process may already run TensorFlow's threads, which a fork would break.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=context, initializer=quiet_pillow) as pool:
        in_flight: deque = deque()
        for chunk in chunks:
            in_flight.append(pool.map(work, chunk, chunksize=8))
            if len(in_flight) == (2 if keep_pictures else 4):  # digits are 3 KB, pictures to show 300
                yield list(in_flight.popleft())
        while in_flight:
            yield list(in_flight.popleft())


def load_model(weights: Path):
    """The network of model.py with the given weights; a clear error when they do not fit."""
    from model import build_model  # imports TensorFlow: deliberately after every cheap check

    model = build_model()
    try:
        model.load_weights(weights)
    except Exception as e:  # h5py's OSError for a broken or foreign file, Keras' ValueError for another network
        raise UserError(
            f"{weights}: {weights_problem(weights, e)}; train new ones with python3 model.py "
            "or pass --weights of a finished run"
        ) from None
    return model


def weights_problem(weights: Path, error: Exception) -> str:
    """What is wrong with a weights file that would not load, in words."""
    size = weights.stat().st_size
    if size == 0:
        return "the file is empty"
    if "truncated file" in str(error):  # h5py's words for an HDF5 file shorter than it says it is
        return f"the file is cut short ({size:,} bytes), as an interrupted copy leaves it"
    if isinstance(error, OSError):
        return "not a Keras weights file (HDF5)"
    return "these are the weights of another network, not model.py's"


def format_top(probabilities: np.ndarray, k: int) -> str:
    """'7 (98.6%)', or the k most likely digits: '7 (98.6%)  1 (0.9%)  2 (0.3%)'."""
    order = np.argsort(probabilities)[::-1][:k]
    return "  ".join(f"{digit} ({probabilities[digit]:.1%})" for digit in order)


def draw_prediction(fig, path: Path, picture: Image.Image, digit_image: np.ndarray, probabilities: np.ndarray) -> None:
    """The picture, the 28x28 image the network saw, and its ten probabilities, side by side."""
    picture_ax, seen_ax, bars_ax = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 1, 1.4]})
    picture_ax.imshow(picture, cmap="gray")
    picture_ax.set_title(f"{path.name}", fontsize=10)
    seen_ax.imshow(digit_image[..., 0], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    seen_ax.set_title("what the network sees (28x28)", fontsize=10)
    for ax in (picture_ax, seen_ax):
        ax.set_xticks([])
        ax.set_yticks([])
    best = int(np.argmax(probabilities))
    colors = ["tab:orange" if d == best else "tab:blue" for d in range(10)]
    bars_ax.bar(range(10), probabilities, color=colors)
    bars_ax.set_xticks(range(10))
    bars_ax.set_ylim(0, 1)
    bars_ax.set_xlabel("digit")
    bars_ax.set_ylabel("probability")
    bars_ax.set_title(f"prediction: {best} ({probabilities[best]:.1%})", fontsize=10)
    fig.tight_layout()


def save_preview(path: Path, figure_args: tuple) -> None:
    from matplotlib.figure import Figure

    from model import atomic_path

    fig = Figure(figsize=(10, 3.6))
    draw_prediction(fig, *figure_args)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")


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
    args = parser.parse_args(argv)
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
    quiet_pillow()
    files, errors = find_images(args.paths)
    for path, message in errors:
        report_error(message, args.json, path)
    if not args.weights.is_file():
        raise UserError(f"{args.weights}: no trained weights; train first with python3 model.py")
    single = len(args.paths) == 1 and not args.paths[0].is_dir()  # print the digit first, as ever
    keep_pictures = args.show or args.preview is not None
    if args.show:
        from model import has_display  # the check needs no TensorFlow, but model.py imports it anyway

        if not has_display():
            print("predict.py: no display: --show opens no window (use --preview FILE.png)", file=sys.stderr)
            args.show = False

    model, failed = None, bool(errors)
    # Many files are decoded by worker processes, so this one is free to import TensorFlow meanwhile.
    loader = ThreadPoolExecutor(max_workers=1)
    loading = loader.submit(load_model, args.weights) if decoded_in_workers(len(files)) else None
    loader.shutdown(wait=False)
    for index, chunk in enumerate(prepared_chunks(files, args.invert, keep_pictures)):
        ready = [digit for _, digit, _ in chunk if not isinstance(digit, UserError)]
        if ready:
            model = model or (loading.result() if loading else load_model(args.weights))
            batch_probabilities = iter(np.asarray(model(np.stack(ready), training=False), dtype=np.float64))
        for offset, (path, digit, picture) in enumerate(chunk):
            if isinstance(digit, UserError):
                report_error(str(digit), args.json, path)
                failed = True
                continue
            probabilities = next(batch_probabilities)
            if args.json:
                best = int(np.argmax(probabilities))
                record = {"path": str(path), "digit": best, "confidence": probabilities[best]}
                print(json.dumps({**record, "probabilities": probabilities.round(6).tolist()}), flush=True)
            else:
                print(
                    format_top(probabilities, args.top) if single else f"{path}: {format_top(probabilities, args.top)}"
                )
            figure_args = (path, picture, digit, probabilities)
            if args.preview is not None:
                save_preview(preview_path(args.preview, index * CHUNK + offset + 1, len(files)), figure_args)
            if args.show:
                from model import show_window

                show_window(f"predict.py: {path.name}", lambda fig, a=figure_args: draw_prediction(fig, *a), (10, 3.6))
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except UserError as e:
        sys.exit(f"predict.py: error: {e}")
    except KeyboardInterrupt:
        sys.exit("predict.py: interrupted")
