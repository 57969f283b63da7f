"""A picture file to the 28x28 image MNIST would have made of its digit, in call order from top to bottom.

MNIST digits were drawn white on black, scaled to fit a 20x20 box with their aspect ratio kept,
and placed in a 28x28 frame with their centre of mass in the middle; the network knows nothing
else. So:

    load_image: decode (first frame, EXIF orientation, huge photos reduced) -> to_grayscale
    (transparency laid on white, 16-bit scaled) -> read_digits: a sheet photographed on a desk
    cropped to (sheet_box); in colour, the ink told by its colour from marks of other colours
    and from the paper's shade (ink_by_colour) -> digits_on_paper: polarity (ink made light,
    judged against the paper) -> the paper's level removed (shading, a phone's shadow, noise)
    -> lines dropped (lines.py: ruled paper, a table's edge, an underline) -> digits_turned_level:
    a number written at a tilt turned level (digits.writing_tilt; two digits, also by their
    centres, read both ways) -> the digits of a number (digits.py), or the digit's own pieces of
    ink, not specks beside it (digit_box) ->
    each stroke to MNIST's brightness (stroke_level) -> fit_in_frame: 20x20 box, strokes toward
    MNIST's width, centre of mass at (14, 14)

A picture's lone group that may be digits that touch keeps its ink (GroupInk): cut_apart cuts
it into them, each made as above, when reading.read_pictures finds the whole no digit.

Pillow, NumPy and scipy.ndimage only: no TensorFlow, no matplotlib, no command line.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError
from scipy import ndimage

from mnist_cnn.digits import (
    PAIR_DIGITS,
    PAIR_ELONGATED,
    Halves,
    Place,
    cut_lines,
    find_digits,
    holds_a_level_number,
    label_pieces,
    pieces_enough_to_turn,
    pieces_tilt,
    place_within,
    ways_to_cut,
    writing_tilt,
)
from mnist_cnn.errors import UserError
from mnist_cnn.lines import crossing_lines, frames_round_the_writing, line_under_the_writing, strokes_across

WORKING_SIZE = 768  # larger pictures are reduced to this first: more pixels only add noise and time
BOX = 20  # MNIST's size-normalization box
FRAME = 28
NOISE_FLOOR = 16.0  # ink fainter than this (0..255) above the paper is taken for shading or noise
STROKE_WIDTH = 2.5  # MNIST's median stroke width in its 28x28 images...
STROKE_WIDTH_RANGE = (1.8, 3.6)  # ...and its 10th to 90th percentile: widths inside are left alone
MAX_THINNING = 1.0  # pixels of MNIST's scale a marker's strokes are slimmed by, at most
PIECE_REACH = 3  # pieces of ink this many stroke widths apart are one digit...
SPECK = 0.02  # ...but those with less than this share of its ink do not stretch its box
ORIENTATION = 0x0112  # the EXIF tag
# loop_roundness: a shape that is one loop has its largest hole cover at least LOOP_SHARE of the
# area within its outline (two-thirds of MNIST's test 0s; 4% of its 6s, 13% of its 9s), and less
# than TAIL of its ink away from the loop (of those 0s, 97%; of those 6s and 9s, 2 of 171).
LOOP_SHARE, TAIL = 0.3, 0.05
# A digit of a number keeps the ink within two pixels of its own (read_place): dilated once by
# this diamond rather than twice by the cross, the same pixels in two-thirds of the time.
WITHIN_TWO = ndimage.iterate_structure(ndimage.generate_binary_structure(2, 1), 2)
# shadow_taken_for_strokes: in bench/writers.py's photos with a phone's shadow, the "strokes" of
# the 13 of 160 misread (paper_level holds the paper within 48 levels of the border's, so the rest
# of a deeper shade was ink) were 0.43 to 1.2 of the picture wide and covered 35 to 47% of its
# border. A pen's strokes covered at most a tenth of the border and were at most 0.18 of the
# picture wide in every picture of the development set, bench/realistic.py and bench/writers.py's
# other conditions (but for heavy 28x28s, too small to tell a shade in: 0.33 wide); those of
# bench/paper.py's pages beside a dark table are a dark region from the edge too, and read the same.
SHADOW_WIDTH, SHADOW_EDGE, SHADOW_ROOM = 0.2, 0.2, 64
SHEET_FILL = 0.75  # a sheet on a desk is at least this much paper: the digit is small on it
COLOURFUL = 40  # a picture with pixels this far from gray (max - min channel) is in colour...
ACROSS = 1.5  # ...and a pixel that strays off the ink's colour this much loses as much ink


def load_image(path: Path) -> Image.Image:
    """Decode the first frame of an image, upright, reduced to at most WORKING_SIZE a side; its
    upright size as stored in the file is kept in img.info["original_size"], for boxes in its pixels.

    Pillow's pixel limit still refuses decompression bombs; big but legitimate photos are
    decoded at reduced scale where the format allows (JPEG) and downscaled otherwise.
    """
    try:
        with Image.open(path) as img:
            size = img.size if img.getexif().get(ORIENTATION, 1) < 5 else img.size[::-1]  # 5-8 turn it a quarter
            img.draft(img.mode, (WORKING_SIZE, WORKING_SIZE))  # JPEG: decode at 1/2, 1/4, 1/8 size
            img = ImageOps.exif_transpose(img)  # also decodes: a truncated file fails here
            img.thumbnail((WORKING_SIZE, WORKING_SIZE), Image.Resampling.BOX)
            img.load()
            img.info["original_size"] = size
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


def in_colour(img: Image.Image) -> np.ndarray | None:
    """The picture's float RGB pixels (transparency laid on white) if it has colour, else None."""
    if img.mode not in ("RGB", "RGBA", "P", "PA", "CMYK", "YCbCr", "LAB", "HSV"):
        return None
    if img.has_transparency_data:
        img = Image.alpha_composite(Image.new("RGBA", img.size, "white"), img.convert("RGBA"))
    rgb = np.asarray(img.convert("RGB"), dtype=np.float32)
    sample = pixel_sample(rgb)
    chroma = sample.max(axis=2) - sample.min(axis=2)
    return rgb if np.percentile(chroma, 99) >= COLOURFUL else None


def ink_by_colour(rgb: np.ndarray) -> np.ndarray:
    """The ink of a picture in colour as dark on white, told from marks of other colours: each
    pixel counts by how far it lies from the paper's colour toward the ink's, less ACROSS times
    how far it strays off that direction. A blue digit on yellow paper keeps its strokes; orange
    marks across it, lighter than the paper to a gray conversion's eye, are dropped, and so is
    the paper's shading, which darkens its own colour."""
    # From the paper's own colour where it lies, which light and shade change across a photo.
    offset = rgb - np.stack([paper_level(np.ascontiguousarray(rgb[..., c])) for c in range(3)], axis=2)
    strength = np.sqrt((offset**2).sum(axis=2))
    colour = np.median(offset[strength > nth_brightest(strength) / 2], axis=0)
    direction = colour / np.linalg.norm(colour)
    along = offset @ direction
    across = np.sqrt(np.maximum(strength**2 - along**2, 0))
    return 255 - np.clip(along - ACROSS * across, 0, 255)


def opaque_box(img: Image.Image) -> tuple[int, int, int, int] | None:
    """The (left, top, right, bottom) of a page exported with a transparent margin round it (room
    to spare on a canvas), or None. Laid on white, the margin would be a frame of paper round a
    page of another colour. Ink on a transparent canvas is no such page: its strokes fill little
    of their bounding box, or, a single straight stroke that fills it, are all of one level."""
    opaque = np.asarray(img.getchannel("A")) > 127
    rows, cols = np.flatnonzero(opaque.any(axis=1)), np.flatnonzero(opaque.any(axis=0))
    if not rows.size:
        return None
    box = (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)
    if opaque[box[1] : box[3], box[0] : box[2]].mean() < 0.95 or min(box[2] - box[0], box[3] - box[1]) < 8:
        return None
    page = np.asarray(img.crop(box).convert("L"), dtype=np.float32)
    drawn = np.abs(page - np.median(page)) > 4 * NOISE_FLOOR  # something drawn on the page
    return box if drawn.mean() >= 0.01 else None


@dataclass
class Digit:
    """One digit found in a picture: the 28x28 image the network reads, and where it lies in the
    picture, as (left, top, right, bottom) in the decoded picture's pixels."""

    image: np.ndarray
    box: tuple[int, int, int, int]
    halves: tuple["Digit", ...] | None = None  # digits.Place.halves, read as digits
    halves_are: Halves = Halves.CUT  # digits.Place.halves_are: how they were made
    line: int = 0  # digits.Place.line: which line of the picture, from the top
    mark: bool = False  # digits.Place.mark: a mark beside the digits, left out (reading.judge)
    # A picture's lone group that may be digits that touch (digits.ways_to_cut finds stretches
    # that may be its digits): its ink, kept for cut_apart to make those stretches (cuts) on a
    # second look, where reading.judge finds the whole no digit.
    ink: "GroupInk | None" = None
    cuts: tuple[tuple[int, int, "Digit"], ...] | None = None
    stretches: tuple[tuple[int, int, "Digit"], ...] | None = None  # digits.Place.stretches, read as digits
    # A picture's lone group: the share of its ink in pieces that lie inside the loops of its
    # main piece (ink_in_its_loops), a face's eyes and mouth, where a digit's loops hold none.
    enclosed: float = 0.0
    # A picture's lone group that is one loop and little else (a 0, a drawn triangle or heart):
    # how round its loop is (loop_roundness); 1.0 for every other.
    roundness: float = 1.0
    # A picture's first digit, where its ink may also be two digits written at a tilt: the
    # picture's digits read turned level (digits_turned_level), for reading.read_pictures to take
    # where the network reads them better than these.
    turned: list["Digit"] | None = None

    def moved(self, left: int, top: int) -> "Digit":
        """The same digit, its box (and its halves', cuts' and kept ink's) moved by (left, top)."""
        ink = replace(self.ink, origin=(self.ink.origin[0] + left, self.ink.origin[1] + top)) if self.ink else None
        return replace(self, box=moved_box(self.box, left, top), ink=ink, **self.inner(lambda d: d.moved(left, top)))

    def scaled(self, sx: float, sy: float) -> "Digit":
        """The same digit, its box (and its halves', cuts' and kept ink's) in pixels `sx` and `sy`
        times as many."""
        ink = replace(self.ink, scale=(self.ink.scale[0] * sx, self.ink.scale[1] * sy)) if self.ink else None
        return replace(self, box=scaled_box(self.box, sx, sy), ink=ink, **self.inner(lambda d: d.scaled(sx, sy)))

    def turned_back(self, tilt: float, level: tuple[int, int], shape: tuple[int, int]) -> "Digit":
        """The same digit, its box (and its halves' and cuts') in the pixels of a picture of `shape`
        that was turned `tilt` degrees (ndimage.rotate) into one of shape `level`: the box round its
        corners turned back. Its kept ink, in the level picture's pixels, is dropped: no cuts."""
        box = turned_box(self.box, -tilt, level, shape)
        return replace(self, box=box, ink=None, **self.inner(lambda d: d.turned_back(tilt, level, shape)))

    def inner(self, change: Callable[["Digit"], "Digit"]) -> dict:
        """The halves, cuts, stretches and turned reading, each digit of them changed."""
        return {
            "halves": tuple(map(change, self.halves)) if self.halves else None,
            "cuts": tuple((i, j, change(d)) for i, j, d in self.cuts) if self.cuts else None,
            "stretches": tuple((i, j, change(d)) for i, j, d in self.stretches) if self.stretches else None,
            "turned": list(map(change, self.turned)) if self.turned else None,
        }


@dataclass(frozen=True)
class GroupInk:
    """A lone group's ink as read_digits found it, kept so that cut_apart can cut it into digits
    without decoding the picture again: its pixels within its box (0..255, a byte each, nothing
    beyond two pixels of its own), which are its own, the ink threshold there and the ways to cut
    it (digits.ways_to_cut: the stretches that may be its digits, with their columns); and where
    the box's pixels lie in the Digit's: (x, y) = (origin + (column, row)) * scale."""

    pixels: np.ndarray
    own: np.ndarray
    threshold: float
    stretches: list[tuple[int, int, int, int]]
    origin: tuple[int, int] = (0, 0)
    scale: tuple[float, float] = (1.0, 1.0)


def moved_box(box: tuple[int, int, int, int], left: int, top: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    return x0 + left, y0 + top, x1 + left, y1 + top


def scaled_box(box: tuple[int, int, int, int], sx: float, sy: float) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    return round(x0 * sx), round(y0 * sy), round(x1 * sx), round(y1 * sy)


def turned_box(
    box: tuple[int, int, int, int], angle: float, shape: tuple[int, int], turned: tuple[int, int]
) -> tuple[int, int, int, int]:
    """The box round the corners of `box` (in an image of `shape`, rows and columns) once the image
    is turned by `angle` degrees about its centre, as ndimage.rotate turns it into one of shape
    `turned`."""
    x0, y0, x1, y1 = box
    corners = np.array([(x0, y0), (x1, y0), (x0, y1), (x1, y1)], np.float64) - np.array(shape[::-1]) / 2
    a = np.radians(angle)
    # ndimage.rotate turns the picture as seen: a point right of the centre goes up for angle > 0.
    x = corners[:, 0] * np.cos(a) + corners[:, 1] * np.sin(a) + turned[1] / 2
    y = -corners[:, 0] * np.sin(a) + corners[:, 1] * np.cos(a) + turned[0] / 2
    return round(x.min()), round(y.min()), round(x.max()), round(y.max())


def read_digits(img: Image.Image, invert: str = "auto") -> list[Digit]:
    """The digits of the number in a picture, line by line, left to right (most pictures: one),
    each a (28, 28, 1) float32 array of 0..255 pixels, white on black, as MNIST drew them; then,
    in a number, the marks beside its digits (Digit.mark: a dash, a decimal point), to be said.

    invert: "auto" decides from the picture, "yes" for dark ink on light paper, "no" for light
    ink on dark. Raises UserError("no digit found") for a picture without ink.
    """
    page = opaque_box(img.convert("RGBA")) if img.has_transparency_data else None
    left, top = page[:2] if page else (0, 0)
    picture = img.crop(page) if page else img
    gray = to_grayscale(picture)
    if min(gray.shape) < 8:
        raise UserError(f"no digit found (the picture is only {gray.shape[1]}x{gray.shape[0]} pixels)")
    rgb = in_colour(picture) if invert == "auto" else None  # a polarity given is about the gray picture

    def on_paper(region: tuple[slice, slice]) -> list[Digit]:
        """The digits of a region whose border is the paper: in colour, its ink told by its colour."""
        if rgb is None:
            return digits_on_paper(gray[region], invert)
        return digits_on_paper(ink_by_colour(rgb[region]), "yes")  # dark on white, as ink_by_colour makes it

    sheet = sheet_box(gray)
    found = None
    if sheet is not None:
        try:
            found = on_paper(sheet)
            left, top = left + sheet[1].start, top + sheet[0].start
        except UserError:
            pass  # a solid shape, such as a marker's "1" cropped tightly, rather than a sheet
    found = found or on_paper((slice(None), slice(None)))
    return [d.moved(left, top) for d in found]


def preprocess(img: Image.Image, invert: str = "auto") -> np.ndarray:
    """The first digit of read_digits(): for a picture of one digit, the network's input."""
    return read_digits(img, invert)[0].image


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


def border_level(gray: np.ndarray) -> float:
    """The paper's level: the median of its border."""
    return float(np.median(border(gray)))


def border(image: np.ndarray) -> np.ndarray:
    """The pixels of a frame 1/20 of the picture wide around its edge."""
    h, w = image.shape
    m = max(1, min(h, w) // 20)
    return np.concatenate([image[:m].ravel(), image[-m:].ravel(), image[:, :m].ravel(), image[:, -m:].ravel()])


def digits_on_paper(gray: np.ndarray, invert: str) -> list[Digit]:
    """read_digits() for a picture whose border is the paper."""
    paper = paper_level(gray)
    dark_ink = ink_is_dark(gray, paper) if invert == "auto" else invert == "yes"
    ink, paper = (255.0 - gray, 255.0 - paper) if dark_ink else (gray, paper)
    # A slight blur tames sensor noise and JPEG ringing; unlike a median it keeps 1-pixel strokes.
    blurred = Image.fromarray(ink.round().astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.8))
    ink = np.asarray(blurred, dtype=np.float32)
    # The strongest ink against the block medians: the strokes, whose width sets the scale of
    # the paper's level and of what lies near the digit; a shadow is weaker than them, or else,
    # deep and broad, found and set apart (shadow_taken_for_strokes).
    residual = ink - paper
    strongest = nth_brightest(np.maximum(residual, 0))
    strokes = residual > strongest / 2
    width = stroke_width(strokes)
    shadow = shadow_taken_for_strokes(strokes, width)
    if shadow:  # where the ink lies (and, unless given, which way), judged again without the shadow
        ink, residual = strokes_without_shadow(ink, judge_polarity=invert == "auto")
        strongest = nth_brightest(np.maximum(residual, 0))
    # A form's box drawn round the digit (looked for down to a quarter of the strongest ink, as a
    # pencil digit in a printed box is fainter) is no stroke: its thin lines would make a marker's
    # strokes seem thick enough to be taken for the paper, and its dark ones a pencil's too faint.
    # Where a digit too big for its box runs out over the lines, the strokes that cross them are
    # the digit's: kept, bench/paper.py's overflowing digits read 72 of 100 rather than 40.
    marked = residual > strongest / 4
    frame = frames_round_the_writing(marked)
    if frame.any():
        frame &= ~strokes_across(frame, marked)
        residual = np.where(frame, 0, residual)
        strongest = nth_brightest(np.maximum(residual, 0))
    if frame.any() or shadow:
        strokes = residual > strongest / 2
        width = stroke_width(strokes)
    ink, noise = remove_background(ink, paper_under_strokes(ink, strokes, width), strokes)
    floor = max(NOISE_FLOOR, 8 * noise)
    threshold = ink_threshold(ink, floor)
    # Lines are often fainter than the strokes, but well above the noise.
    inked = ink > max(threshold / 2, floor / 2)
    lines = crossing_lines(inked)
    lines |= line_under_the_writing(inked & ~lines, width)
    lines |= frame & inked
    if lines.any():  # ruled or squared paper, a table's edge, an underline: not the digit, often darker
        fringe = ndimage.binary_dilation(lines, iterations=2) & (ink <= threshold)  # the lines' faint edges
        ink = np.where(lines | fringe, 0, ink)
        threshold = ink_threshold(ink, floor)
    return digits_turned_level(ink, label_pieces(ink, threshold), threshold, width)


def digits_turned_level(
    ink: np.ndarray, labelled: tuple[np.ndarray, np.ndarray, np.ndarray], threshold: float, width: float
) -> list[Digit]:
    """digits_in_ink(), the ink turned level where it lies along a tilted line.

    Turned at the angle of its long axis (digits.writing_tilt), where the ink then holds a level
    number (of digits apart), it is read as one, the boxes turned back into the picture's pixels.
    Other ink that lies so (a wide 4) is read as it lies, and where turned it holds two digits,
    also turned (Digit.turned): two digits one higher than the other lie as tilted as a number of
    two turned, and the network decides (reading.read_pictures). Two digits' ink is often too
    short to have a long axis, or has one off their line by the digits' own slant: it is turned
    first at the angle of the line through its pieces' centres (digits.pieces_tilt), then at its
    long axis' where that holds no two.
    """
    inked = ink > threshold
    pair = pieces_enough_to_turn(labelled[2], PAIR_DIGITS)
    tilt = writing_tilt(inked, PAIR_ELONGATED) if pair else 0.0
    centres = pieces_tilt(*labelled[1:]) if pair else 0.0
    if not (tilt or centres):
        return digits_in_ink(ink, labelled, threshold, width)

    @cache
    def turned(angle: float) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        level = ndimage.rotate(ink, angle, order=1, prefilter=False)
        return level, label_pieces(level, threshold)

    many = tilt and pieces_enough_to_turn(labelled[2]) and writing_tilt(inked)  # ELONGATED: the same angle, or 0
    if many and holds_a_level_number(*turned(tilt)[1], width):
        level, pieces = turned(tilt)
        return turned_back(digits_in_ink(level, pieces, threshold, width), tilt, level.shape, ink.shape)
    digits = digits_in_ink(ink, labelled, threshold, width)
    for angle in (a for a in (centres, tilt) if a):
        level, pieces = turned(angle)
        if holds_a_level_number(*pieces, width, PAIR_DIGITS):
            level_digits = digits_in_ink(level, pieces, threshold, width)
            digits[0].turned = turned_back(level_digits, angle, level.shape, ink.shape)
            break
    return digits


def turned_back(digits: list["Digit"], tilt: float, level: tuple[int, int], shape: tuple[int, int]) -> list["Digit"]:
    """The digits of a picture turned `tilt` degrees into one of shape `level` (Digit.turned_back),
    their boxes in the pixels of the picture of `shape`."""
    return [d.turned_back(tilt, level, shape) for d in digits]


def digits_in_ink(
    ink: np.ndarray, labelled: tuple[np.ndarray, np.ndarray, np.ndarray], threshold: float, width: float
) -> list[Digit]:
    """read_digits() for the ink of a picture (light on black, paper and lines gone), inked above
    `threshold`, its pieces `labelled` (label_pieces), its strokes `width` pixels wide."""
    pieces, boxes, mass = labelled
    places, marks = find_digits(pieces, boxes, mass, width)
    if places is None or len(places) == 1:  # one digit, as most pictures hold (or two that touch: its halves)
        box = digit_box(pieces, boxes, mass, width)
        place = replace(places[0], box=box, own=None) if places else Place(box, None)
        bare = digit_box(pieces, boxes, mass, width, marks) if marks and not place.halves else box
        if bare != box:
            # A sign beside the digit (-7) or a piece of it broken off: read both ways, as
            # reading.judge decides, the digit with them or alone and the marks left out.
            place = replace(place, halves=(Place(bare, None), *marks), halves_are=Halves.MARKED)
        digit = read_place(ink, place, threshold)
        digit.enclosed = ink_in_its_loops(pieces, mass, bare)
        digit.roundness = loop_roundness(digit.image[..., 0])
        own = own_ink(pieces, bare, marks)
        if stretches := ways_to_cut(own, width):  # kept to cut it apart, should the network find it no digit
            top, bottom, left, right = bare
            near = np.where(ndimage.binary_dilation(own, WITHIN_TWO), ink[top:bottom, left:right], 0)
            pixels = np.clip(near.round(), 0, 255).astype(np.uint8)  # a byte a pixel: 0.5 is far below the noise
            digit.ink = GroupInk(pixels, own, threshold, stretches, (left, top))
        return [digit]
    return [read_place(ink, place, threshold) for place in places + marks]


def cut_apart(digit: Digit) -> Digit:
    """A lone group (a Digit with its ink kept) with the stretches that may be its digits, were
    it digits that touch (GroupInk.stretches), as its cuts, each made as a number's digit is, in
    the Digit's pixels."""
    kept = digit.ink
    ink = kept.pixels.astype(np.float32)
    edges = sorted({c for _, _, a, b in kept.stretches for c in (a, b)})
    lines = dict(zip(edges, cut_lines(kept.own, edges), strict=True))

    def part(place: Place) -> Digit:
        return read_place(ink, place, kept.threshold).moved(*kept.origin).scaled(*kept.scale)

    places = [(i, j, place_within(kept.own, lines[a], lines[b])) for i, j, a, b in kept.stretches]
    return replace(digit, cuts=tuple((i, j, part(place)) for i, j, place in places if place is not None))


def ink_in_its_loops(pieces: np.ndarray, mass: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """The share of the ink within `box` (top, bottom, left, right) of the labelled `pieces` that
    lies in pieces inside the loops of the piece with the most ink there: a face's eyes in its
    ring. A digit's loops hold no piece of their own, but for a speck of dust."""
    top, bottom, left, right = box
    inside = pieces[top:bottom, left:right]
    present = np.unique(inside[inside > 0])
    if len(present) < 2:
        return 0.0
    main = present[np.argmax(mass[present - 1])]
    ring = inside == main
    held = np.unique(inside[ndimage.binary_fill_holes(ring) & ~ring])
    held = held[(held > 0) & (held != main)]  # a piece inside a loop lies wholly in it: it cannot cross the ring
    return float(mass[held - 1].sum() / mass[present - 1].sum())


def loop_roundness(image: np.ndarray) -> float:
    """How round the loop of a 28x28 is, where it is one loop and little else: its largest hole
    holds at least LOOP_SHARE of the area within its ink's outline, and less than TAIL of its ink
    lies away from that loop (a 6's or a 9's stroke, a 4's stem). Round is the hole's area over
    that of the ellipse with its second moments: 1 for an ellipse, 0.96 for a square, 0.83 for a
    triangle. 1.0 for any other image."""
    inked = image > image.max() / 2
    filled = ndimage.binary_fill_holes(inked)
    holes, count = ndimage.label(filled & ~inked)
    if not count:
        return 1.0
    hole = holes == np.argmax(np.bincount(holes.ravel())[1:]) + 1
    area = int(hole.sum())
    if area < LOOP_SHARE * filled.sum() or area < 3:
        return 1.0
    loop = ndimage.binary_dilation(
        ndimage.binary_fill_holes(inked & ndimage.binary_dilation(hole, iterations=4)), iterations=2
    )
    if (inked & ~loop).sum() >= TAIL * inked.sum():
        return 1.0
    rows, cols = np.nonzero(hole)
    spread = np.linalg.det(np.cov(rows, cols))
    return float(area / (4 * np.pi * np.sqrt(spread))) if spread > 0 else 1.0


def own_ink(pieces: np.ndarray, box: tuple[int, int, int, int], marks: list[Place]) -> np.ndarray:
    """The inked pixels within `box` (top, bottom, left, right), bar those of the `marks` beside them."""
    top, bottom, left, right = box
    inside = pieces[top:bottom, left:right]
    theirs = [pieces[slice(*mark.box[:2]), slice(*mark.box[2:])][mark.own] for mark in marks]
    return (inside > 0) & ~np.isin(inside, np.concatenate(theirs)) if theirs else inside > 0


def read_place(ink: np.ndarray, place: Place, threshold: float) -> Digit:
    """The digit at one place in the ink (and its halves and stretches, where it has them)."""
    top, bottom, left, right = place.box
    digit = ink[top:bottom, left:right]
    if place.own is not None:  # a digit of a number: its own ink and faint edges, not its neighbours'
        digit = np.where(ndimage.binary_dilation(place.own, WITHIN_TWO), digit, 0)
    halves = stretches = None
    if place.halves:
        halves = tuple(read_place(ink, replace(half, line=place.line), threshold) for half in place.halves)
    if place.stretches:
        stretches = tuple(
            (i, j, read_place(ink, replace(s, line=place.line), threshold)) for i, j, s in place.stretches
        )
    return Digit(
        mnist_digit(digit, threshold),
        (left, top, right, bottom),
        halves,
        place.halves_are,
        place.line,
        place.mark,
        stretches=stretches,
    )


def mnist_digit(digit: np.ndarray, threshold: float) -> np.ndarray:
    """The cropped ink of one digit as MNIST's 28x28: faint haze below the `threshold` dropped,
    each stroke's core scaled to MNIST's 255, fitted in the frame."""
    haze = threshold / 3
    level = stroke_level(digit, threshold)
    digit = np.clip((digit - haze) * 255.0 / np.maximum(level - haze, 1e-6), 0, 255).astype(np.float32)
    return fit_in_frame(digit)[..., None]


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


def nth_brightest(values: np.ndarray, n: int = 50) -> float:
    """The n-th brightest of `values` (>= 0), or the brightest if there are no more than n:
    the level of any digit's ink, however small on the page. Looked for among the values above
    zero, as np.partition is slow on the many equal zeros of clipped ink."""
    if values.size <= n:
        return float(values.max())
    positive = values[values > 0]
    return float(np.partition(positive, -n)[-n]) if positive.size >= n else 0.0


def stroke_width(mask: np.ndarray) -> float | np.ndarray:
    """Mean width of the strokes in a boolean mask, in its pixels: a stroke of length L and width
    w covers L*w pixels and has about 2*L boundary pixels. Of each mask where given a stack of them."""
    inner = (
        mask[..., 1:-1, 1:-1] & mask[..., :-2, 1:-1] & mask[..., 2:, 1:-1] & mask[..., 1:-1, :-2] & mask[..., 1:-1, 2:]
    )
    boundary = mask[..., 1:-1, 1:-1].sum(axis=(-2, -1)) - inner.sum(axis=(-2, -1))
    return 2 * mask.sum(axis=(-2, -1)) / np.maximum(boundary, 1)


def inked_at_half(images: np.ndarray) -> np.ndarray:
    """Where each 28x28 (n, 28, 28, 1) is inked: at half its brightest pixel or more, (n, 28, 28)."""
    flat = images.reshape(len(images), FRAME, FRAME)
    return flat > flat.max(axis=(1, 2), keepdims=True) / 2


def widths_spanned(images: np.ndarray) -> np.ndarray:
    """How many of its strokes' widths the ink of each 28x28 (n, 28, 28, 1) spans along its longer
    side (stroke_width, at half its brightest): about 8 for MNIST's digits, 2.2 or more for every
    one of its 70,000; 2 or less for a solid blob (a dot, a filled disc or square), whose
    "stroke" is half as wide as it. Over the whole batch at once: one at a time cost 0.1 ms each."""
    inked = np.pad(inked_at_half(images), ((0, 0), (1, 1), (1, 1)))
    width = stroke_width(inked)

    def extent(any_inked: np.ndarray) -> np.ndarray:  # from the first inked row (or column) to the last
        return any_inked.shape[1] - any_inked[:, ::-1].argmax(axis=1) - any_inked.argmax(axis=1)

    spans = np.maximum(extent(inked.any(axis=2)), extent(inked.any(axis=1)))
    return np.where(inked.any(axis=(1, 2)), spans / np.maximum(width, 1e-6), 0.0)


def closed_loops(images: np.ndarray) -> np.ndarray:
    """How many loops the ink of each 28x28 (n, 28, 28, 1) closes (inked_at_half): the regions of
    paper it encloses, of two pixels or more (a pinhole in a blot is none). Over the whole batch
    at once, no image's paper joining the next one's."""
    paper = np.pad(~inked_at_half(images), ((0, 0), (1, 1), (1, 1)), constant_values=True)
    within = np.zeros((3, 3, 3), bool)
    within[1] = ndimage.generate_binary_structure(2, 1)
    regions, count = ndimage.label(paper, within)
    enclosed = np.bincount(regions.ravel(), minlength=count + 1) >= 2
    enclosed[0] = False
    enclosed[regions[:, 0, 0]] = False  # the paper round the ink, reaching the padded frame
    image_of = np.zeros(count + 1, int)
    image_of[regions] = np.arange(len(images))[:, None, None]
    return np.bincount(image_of[enclosed], minlength=len(images))


def shadow_taken_for_strokes(strokes: np.ndarray, width: float) -> bool:
    """Whether the `strokes` found against the paper's block levels hold a shadow: the shade of a
    phone held over the page, darker than paper_level lets the paper be, which reaches in from the
    picture's edge. Its "strokes" are then SHADOW_WIDTH of the picture wide or more and cover
    SHADOW_EDGE of its border, in a picture of SHADOW_ROOM pixels a side or more (room for an
    opening wider than a pen's strokes and narrower than the shadow)."""
    side = min(strokes.shape)
    return side >= SHADOW_ROOM and width >= SHADOW_WIDTH * side and bool(border(strokes).mean() >= SHADOW_EDGE)


def strokes_without_shadow(ink: np.ndarray, judge_polarity: bool) -> tuple[np.ndarray, np.ndarray]:
    """The ink (light) of a picture with a shadow over it, and its residual over the paper's level.
    The paper shows at two levels round the border, lit and shaded, and the ink lies beyond both:
    against block medians held near the border's level, the lit paper of a picture mostly in
    shadow stood out more than a digit written in the shadow, and was taken for the ink. The
    paper's level is then the one under an opening an eighth of the picture wide
    (paper_under_strokes), which a pen's strokes are narrower than and a shadow is wider. Where
    the polarity was given (or the ink told by its colour), it is not judged again."""
    low, high = np.quantile(border(ink), [0.05, 0.95])  # the paper's two levels, lit and shaded
    if judge_polarity and nth_brightest(np.maximum(low - ink, 0)) > nth_brightest(np.maximum(ink - high, 0)):
        ink = 255.0 - ink
    return ink, ink - paper_under_strokes(ink, np.zeros(ink.shape, bool), 0.0)


def paper_under_strokes(ink: np.ndarray, strokes: np.ndarray, width: float) -> np.ndarray:
    """The paper's level under light ink: a grey opening (a min, then a max filter) four times
    wider than the `strokes`, which removes them but follows a shadow's sharp edge, where block
    medians leave a band of "ink" along it."""
    # On an average of 5x5 pixels, so that the noise's low points are shallow and the level
    # smooth, in blocks of 2x2: the opening costs a quarter, and the level it finds is read back
    # at full size within a pixel of its edges. Padded with the edge's own level, which keeps
    # shading that goes on past the edge.
    h, w = ink.shape
    smooth = mean_5x5_in_2x2_blocks(ink)
    size = int(min(max(2 * width, min(smooth.shape) / 8), max(smooth.shape))) | 1
    pad = size // 2 + 1
    level = ndimage.grey_opening(np.pad(smooth, pad, mode="edge"), size=(size, size), mode="nearest")
    level = level[pad:-pad, pad:-pad]
    # Block i's centre lies between pixels 2i and 2i + 1: in the blocks' own coordinates, pixel
    # j's centre is at j / 2 + 0.25, which the box (0, 0, w / 2, h / 2) gives.
    paper = np.asarray(
        Image.fromarray(level, mode="F").resize((w, h), Image.Resampling.BILINEAR, box=(0, 0, w / 2, h / 2))
    )
    # The min filter finds the noise's low points: raised by the median of what is left of the
    # paper, the level is the paper's own, not the noise's floor.
    rest = (pixel_sample(ink) - pixel_sample(paper))[~pixel_sample(strokes)]
    return paper + float(np.median(rest)) if rest.size else paper


def mean_5x5_in_2x2_blocks(image: np.ndarray) -> np.ndarray:
    """ndimage.uniform_filter(image, 5) averaged in blocks of 2x2 (odd sizes: the last row or
    column its own block), one axis at a time: sums of five shifted slices, each axis halved as
    soon as it is summed: 0.24 ms for 300x320 pixels, where the filter and the blocks took 0.59."""
    for axis in (0, 1):
        rows = np.moveaxis(image, axis, 0)
        edged = np.pad(rows, [(2, 2), (0, 0)], mode="symmetric")  # the filter's "reflect"
        sums = edged[:-4] + edged[1:-3] + edged[2:-2] + edged[3:-1] + edged[4:]
        if len(sums) % 2:
            sums = np.concatenate([sums, sums[-1:]])
        image = np.moveaxis((sums[0::2] + sums[1::2]) / 10, 0, axis)
    return image


def pixel_sample(image: np.ndarray) -> np.ndarray:
    """A regular sample of about 16,000 of the pixels (with all their channels, if any): enough
    for a median of the paper."""
    step = max(1, round(np.sqrt(image.shape[0] * image.shape[1] / 16384)))
    return image[::step, ::step]


def remove_background(ink: np.ndarray, paper: np.ndarray, strokes: np.ndarray) -> tuple[np.ndarray, float]:
    """Subtract the paper's level; also return the noise left on the paper beside the `strokes`
    (a robust standard deviation), which no ink can be fainter than. Without the strokes: a
    heavy digit that covers half its picture would otherwise be taken for noise."""
    residual = ink - paper
    sample = pixel_sample(residual)[~pixel_sample(strokes)]
    if not sample.size:
        sample = pixel_sample(residual)
    noise = 1.4826 * float(np.median(np.abs(sample - np.median(sample))))
    return np.maximum(residual, 0, out=residual), noise


def ink_threshold(ink: np.ndarray, floor: float) -> float:
    """The level above which a pixel is ink: a tenth of the ink's own level (its 50th brightest
    pixel, which any digit has, however small on the page), never below half the noise `floor`.
    Raises UserError("no digit found") if even that level is below `floor`."""
    strong = nth_brightest(ink)
    if strong < floor:
        raise UserError("no digit found")
    return max(floor / 2, 0.1 * strong)  # below `strong`: its 50 pixels are ink for digit_box


def digit_box(
    pieces: np.ndarray, boxes: np.ndarray, mass: np.ndarray, width: float, marks: Iterable[Place] = ()
) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the digit: of the groups of pieces of ink (digits.label_pieces)
    that lie within a few stroke widths (`width`) of each other (a 5's detached bar, a stroke
    broken where the pen skipped or a line was taken out), the one with the most ink. Specks,
    dust and marks farther away are left out, and so are the crumbs inside the group and, where
    given, the `marks` beside it (digits.find_digits): the digit alone, without a minus sign."""
    count = len(mass)
    if count > 1:
        inked, kept = pieces > 0, np.ones(count, bool)
        for mark in marks:
            top, bottom, left, right = mark.box
            inked[top:bottom, left:right] &= ~mark.own
            kept[pieces[top:bottom, left:right][mark.own] - 1] = False
        reach = int(PIECE_REACH * width) + 2
        groups, _ = ndimage.label(ndimage.maximum_filter(inked, size=2 * reach + 1))
        group_of = np.zeros(count + 1, np.int64)
        group_of[pieces.ravel()] = groups.ravel()  # every pixel of a piece is in its group
        group_of = group_of[1:]
        ours = kept & (group_of == np.argmax(np.bincount(group_of, weights=mass * kept)))
        boxes = boxes[ours & (mass >= min(SPECK * mass[ours].sum(), mass[ours].max()))]
    return int(boxes[:, 0].min()), int(boxes[:, 1].max()), int(boxes[:, 2].min()), int(boxes[:, 3].max())


def stroke_level(digit: np.ndarray, threshold: float) -> np.ndarray:
    """The ink level of the strokes around each pixel, for scaling them all to MNIST's 255.

    MNIST's strokes are all equally bright; a pencil or a fine pen is darker in some places
    than in others. The level is the brightest ink within about 1/20 of the digit's size, but
    never below 0.3 of the digit's own core level, so haze next to a faint stroke stays faint.
    """
    h, w = digit.shape
    block = max(1, round(max(h, w) / 20))
    padded = np.zeros((h + -h % block, w + -w % block), digit.dtype)  # np.pad: 40 us more, 7,000 times
    padded[:h, :w] = digit
    peaks = padded.reshape(padded.shape[0] // block, block, padded.shape[1] // block, block).max(axis=(1, 3))
    peaks = Image.fromarray(peaks, mode="F").filter(ImageFilter.MaxFilter(3))  # the stroke next door counts too
    level = np.asarray(peaks.resize((padded.shape[1], padded.shape[0]), Image.Resampling.BILINEAR))[:h, :w]
    core = percentile_90(digit[digit > threshold])
    return np.maximum(level, 0.3 * core)


def percentile_90(values: np.ndarray) -> float:
    """np.percentile(values, 90), interpolated as it does, from np.partition: 5 us rather than
    100 us for a digit's few hundred pixels, which counts when a number's every stretch is read."""
    at = 0.9 * (values.size - 1)
    low = int(at)
    high = min(low + 1, values.size - 1)
    part = np.partition(values, [low, high])
    return float(part[low] + (part[high] - part[low]) * (at - low))


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


def normalize_strokes(digit: np.ndarray, scale: int) -> np.ndarray:
    """Thin a marker's strokes (by MAX_THINNING at most) or thicken a fine pen's toward MNIST's width.

    `digit` is drawn `scale` times larger than MNIST's 20x20 box, where a 3x3 min or max
    filter moves the width by 2/scale of an MNIST pixel.
    """
    inked = np.zeros((digit.shape[0] + 2, digit.shape[1] + 2), bool)
    inked[1:-1, 1:-1] = digit > 127
    width = stroke_width(inked) / scale
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
