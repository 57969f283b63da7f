"""Lines that are not the digit: across the whole picture (the lines of ruled or squared paper, a
dark table beside the page), under the writing and running on past it (an underline), or round
it (a form's boxes).

pictures.py drops their ink before it looks for the digits, and keeps the strokes that cross
them or lie along them. Boolean masks in, boolean masks out; NumPy, Pillow and scipy.ndimage.
"""

import numpy as np
from PIL import Image
from scipy import ndimage

PAST = 1.0  # a line under the writing runs on past it by at least this many strokes' widths, each side
WRITING = 3  # writing is at least this many strokes' widths tall; less is a dot or a dash, maybe a line's
FRAME = 0.4  # a frame is largely lines: this share of its cells lie in rows or columns inked across its box...
HOLLOW = 0.35  # ...it fills less than this share of its box (a 3-pixel box round a 100-pixel digit: 9%)...
WRITTEN = 0.1  # ...and inside it lie other cells of ink, at least this share of its lines' (not a speck)
SIDE, CLOSED = 0.06, 0.9  # the bands along the box's sides, this share of it deep, are this much inked along
MOST_FRAMES = 16  # the widest pieces looked at as frames: a date's eight boxes, with room to spare
ACROSS = 0.75  # a line's rows, three cells thick, are inked this share of the way along it
# A frame's lines between its sides (a row of boxes' walls) are at most WALL times as wide as they.
# Of bench/paper.py's digits overflowing their box, 1 read 56 of 100 and 2 read 40, but 1 kept the
# inner walls of a row of boxes that touch, read as 1s; 2.5 read 35, taking more of the digits'
# strokes for walls. (Measured before the writing was looked for off the lines only; 40 still.)
WALL = 2
# Pictures smaller than this (pixels, their longer side) are no page with lines across it but a
# digit drawn on a small canvas or cropped to it, its strokes often running from edge to edge: a
# 3 of 28x28 pixels touching the top and bottom had its middle taken for a band down the picture.
RULED_FROM = 64


def crossing_lines(mask: np.ndarray) -> np.ndarray:
    """The ink of bands that cross the whole picture from edge to edge, such as the lines of
    ruled or squared paper or a dark table beside the page; none if removing them would leave
    almost nothing (a "1" cropped as tightly as it was drawn also runs edge to edge), nor in a
    picture under RULED_FROM pixels. Strokes of the digit that cross a band, or only reach into
    it, are kept.

    Bands are found on a grid of about 128 cells a side, three cells thick, that are inked at
    both edges and over 3/4 of the way: a line tilted by up to about 2 degrees still counts, and
    so does one whose ink fades beside the digit (whose own ink raises the paper's level there).
    """
    if max(mask.shape) < RULED_FROM:
        return np.zeros_like(mask)
    cell = max(1, max(mask.shape) // 128)
    across, down = band_rows(mask, cell), band_rows(mask.T, cell)
    # Squared paper: each line goes on across the other, so at first every crossing is kept as
    # a stroke; once the lines each way are known they no longer count as going on.
    first_across, first_down = band_ink(mask, across, mask, cell), band_ink(mask.T, down, mask.T, cell).T
    lines = band_ink(mask, across, mask & ~first_down, cell) | band_ink(mask.T, down, (mask & ~first_across).T, cell).T
    if mask.sum() - lines.sum() < max(50, 0.02 * mask.sum()):
        return np.zeros_like(mask)
    return lines


def band_rows(mask: np.ndarray, cell: int) -> np.ndarray:
    """Which rows of `mask` lie in a band inked across it, found on a grid of `cell` pixels."""
    n = len(mask)
    if n < 3 * cell or not (mask[:, :cell].any() and mask[:, -cell:].any()):
        return np.zeros(n, bool)  # too short for a band, or no ink at one of its edges: most pictures
    inked = three_thick(cells(mask, cell))[1:-1]  # each row with both its neighbours
    band = inked[:, 0] & inked[:, -1] & (inked.mean(axis=1) >= ACROSS)
    return (np.convolve(band, np.ones(3)) > 0).repeat(cell)[:n]


def band_ink(mask: np.ndarray, bands: np.ndarray, strokes: np.ndarray, cell: int) -> np.ndarray:
    """The ink of the lines in the rows `bands` of `mask`: what runs along the band, over 3/4 of
    any 12 cells, less the strokes that cross it (those in `strokes` just above and below it)
    and those that lie along it (a 0's foot resting on a ruled line, its top touching the next)."""
    out = np.zeros_like(mask)
    if not bands.any():  # most pictures: nothing to smear the mask for
        return out
    half = 6 * cell
    smeared = three_thick(mask)  # a line's fringe, or a line tilted a little, is inked a row up or down
    for top, bottom in zip(*runs(bands), strict=True):
        # A stroke of the digit that only reaches into the band runs along it for a short way.
        sums = np.pad(smeared[top:bottom], ((0, 0), (half + 1, half)), mode="edge").cumsum(axis=1, dtype=np.int32)
        along = sums[:, 2 * half + 1 :] - sums[:, : -2 * half - 1] >= ACROSS * (2 * half + 1)
        above, below = strokes[max(0, top - 2) : top].any(axis=0), strokes[bottom : bottom + 2].any(axis=0)
        line = mask[top:bottom] & along
        out[top:bottom] = line & ~(above & below) & ~strokes_on_line(line, mask[top:bottom])
    return out


def line_under_the_writing(mask: np.ndarray, stroke: float) -> np.ndarray:
    """The ink of a straight line drawn under the writing and running on past it at both ends,
    touching it or not, such as an underline or a ruled line that stops short of the picture's
    edges; none if there is no such line. `stroke` is the strokes' width in pixels.

    The writing must lie all above it, so a plus sign or a crossed digit is left alone, and a
    digit's own bar at its foot (a 2's base) starts where the rest of the digit does. A line over
    the writing is left alone too: a 7's bar may run on past both ends of the rest of the digit.
    Like crossing_lines, on a grid of about 128 cells a side.
    """
    none = np.zeros_like(mask)
    cell = max(1, max(mask.shape) // 128)
    coarse = cells(mask, cell)
    beyond = max(1, round(PAST * stroke / cell))
    tall = WRITING * stroke / cell
    # The line holds the lowest ink and is less tall than writing: it lies in the rows from the
    # lowest inked one up to that height.
    inked_rows = np.flatnonzero(coarse.any(axis=1))
    if not inked_rows.size:
        return none
    low = max(0, inked_rows[-1] + 1 - int(tall) - 2)
    bottom_rows = coarse[low : inked_rows[-1] + 1]
    if len(bottom_rows) < 3:
        return none
    inked = three_thick(bottom_rows)[1:-1]  # a line tilted a little
    # The longest run of inked cells in those rows is the only candidate.
    edges = np.diff(np.pad(inked, ((0, 0), (1, 1))).astype(np.int8), axis=1)
    rows, starts = np.nonzero(edges == 1)
    lengths = np.nonzero(edges == -1)[1] - starts
    if not len(lengths) or lengths.max() < 2 * beyond + tall:
        return none  # no row inked far enough: most pictures
    k = np.argmax(lengths)
    row, left, right = rows[k], starts[k], starts[k] + lengths[k]
    # The line's rows: from `row`, on up and down while rows are inked along most of the run.
    along = inked[:, left:right].mean(axis=1) >= ACROSS
    top, bottom = row, row
    while top > 0 and along[top - 1]:
        top -= 1
    while bottom < len(along) - 1 and along[bottom + 1]:
        bottom += 1
    top, bottom = low + top, low + bottom + 2  # in the picture's cells; inked rows are three cells thick
    rest = coarse.copy()
    rest[max(0, top - 1) : bottom + 2] = False  # the line and its fringe
    writing = np.flatnonzero(rest.any(axis=1))
    if not writing.size or writing[-1] > bottom or writing[-1] - writing[0] < tall:
        return none  # nothing else, writing below the line too, or only a dot or a dash above it
    cols = np.flatnonzero(rest.any(axis=0))
    if not (left + beyond <= cols[0] and cols[-1] < right - beyond):
        return none  # the line does not run past the writing at both ends: maybe a digit's own
    # What runs along it, as for the lines across the page; past the writing, all of it, to its
    # very ends, which band_ink, looking along 12 cells, would leave.
    down = slice(top * cell, (bottom + 1) * cell)
    bands = np.zeros(len(mask), bool)
    bands[down] = True
    line = band_ink(mask, bands, mask, cell)
    line[:, : left * cell] = False
    line[:, right * cell :] = False
    for end in (slice(left * cell, cols[0] * cell), slice((cols[-1] + 1) * cell, right * cell)):
        line[down, end] = mask[down, end]
    return line


def frames_round_the_writing(mask: np.ndarray) -> np.ndarray:
    """Where frames drawn round the writing lie, such as a form's boxes for the digits of a number
    (their grid cells, for the ink there and its faint edges to be dropped); none where there are
    none. A frame is a piece of ink that is thin straight lines closing a box (a_frame) and holds
    other ink inside its lines (a digit too big for it may stick out past them); an empty box as
    big as one that does is a frame too (a box left blank on a form), where a 0 drawn square alone
    is not. On crossing_lines' grid of about 128 cells a side."""
    cell = max(1, max(mask.shape) // 128)
    coarse = cells(mask, cell)
    pieces, _ = ndimage.label(coarse, structure=np.ones((3, 3)))
    boxes = ndimage.find_objects(pieces)
    sides = np.array([(r.stop - r.start, c.stop - c.start) for r, c in boxes]).reshape(-1, 2)
    areas = sides.prod(axis=1)
    # A frame is among the widest pieces, and a box round writing is many cells a side: specks and
    # strokes are not looked at (the noise of a photo's paper makes hundreds).
    wide = (areas >= 0.25 * areas.max(initial=0)) & (sides.min(axis=1) >= 8)
    found, sizes, empty = np.zeros(coarse.shape, bool), [], []
    for k in np.flatnonzero(wide)[np.argsort(areas[wide])[::-1]][:MOST_FRAMES]:
        rows, cols = boxes[k]
        lines = a_frame(pieces[rows, cols] == k + 1)
        if lines is None:
            continue
        # Writing inside the lines' own box (a digit may stick out of it), a cell or more off them:
        # the cells beside a tilted line that its rows or columns miss are the line's, not writing.
        ys, xs = np.nonzero(lines)
        off_lines = coarse[rows, cols] & ~ndimage.binary_dilation(lines, structure=np.ones((3, 3)))
        if off_lines[ys.min() + 1 : ys.max(), xs.min() + 1 : xs.max()].sum() >= WRITTEN * lines.sum():
            found[rows, cols] |= lines
            sizes.append(areas[k])
        else:
            empty.append((areas[k], rows, cols, lines))
    if not sizes:  # most pictures
        return np.zeros_like(mask)
    for area, rows, cols, lines in empty:
        if any(abs(area - size) <= 0.4 * size for size in sizes):
            found[rows, cols] |= lines
    # A cell further each way: the lines' edges, which the writing's fainter ink (not `mask`'s) shows.
    found = ndimage.binary_dilation(found, structure=np.ones((3, 3)))
    # The grid's last cells may be smaller (cells()): the repeated grid covers the picture, and more.
    return found.repeat(cell, axis=0).repeat(cell, axis=1)[: mask.shape[0], : mask.shape[1]]


def strokes_across(frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The pixels of `frame` (frames_round_the_writing) that a stroke crosses: those with ink of
    `mask` just past the frame on both sides, above and below or left and right, as where a digit
    too big for its box runs out over its lines. Like band_ink's for ruled paper, they are the
    digit's, not the box's."""
    outside = mask & ~frame
    return frame & (
        (ink_before_run(frame, outside, 0, 1) & ink_before_run(frame, outside, 0, -1))
        | (ink_before_run(frame, outside, 1, 1) & ink_before_run(frame, outside, 1, -1))
    )


def ink_before_run(frame: np.ndarray, ink: np.ndarray, axis: int, way: int) -> np.ndarray:
    """For each pixel of a run of `frame` pixels along `axis`, whether the pixel just before the
    run is `ink` (way 1: the one above or to the left; -1: below or to the right); for a pixel
    off the frame, whether it is ink itself."""
    frame, ink = np.moveaxis(frame, axis, 0)[::way], np.moveaxis(ink, axis, 0)[::way]
    rows = np.arange(len(frame))[:, None]
    # The last row at or before each pixel that is off the frame: for a pixel in a run of frame
    # pixels, the one just before the run (a run from the edge borrows row 0, frame, so no ink).
    before = np.maximum.accumulate(np.where(frame, 0, rows), axis=0)
    return np.moveaxis(np.take_along_axis(ink, before, axis=0)[::way], 0, axis)


def a_frame(piece: np.ndarray) -> np.ndarray | None:
    """The cells of a piece of ink (cropped to its box) that make a frame round its box, or None
    where it is none: its rows or columns inked three-quarters of the way across (a line tilted a
    little still counting) close the box (each side inked CLOSED of the way along), make up FRAME
    of the ink in the box, and the piece fills less than HOLLOW of its own box: a digit never does
    all that."""
    if piece.mean() >= HOLLOW:
        return None  # most pieces: a digit, which fills more of its box
    # Three cells thick, as crossing_lines' bands are. The box lies between the outermost rows
    # inked across, and the columns inked down the height between them: a digit written too big
    # for its box sticks out past its lines, part of the piece. The rows span a third of the
    # piece's height at least (a 1 up to three times as tall as its box; of 100 MNIST digits
    # whose box's lines cross them 25 pixels in, 93 read rather than 86 with half), the columns
    # half its width, where a 4's bar and stem alone would make a small box of their own.
    across = box_lines(three_thick(piece).mean(axis=1) >= ACROSS)
    rows = np.flatnonzero(across)
    if not rows.size or rows[-1] - rows[0] < len(piece) / 3:
        return None
    inside = slice(rows[0], rows[-1] + 1)
    # A wall between two boxes stops at their lines; a digit's stroke may run on past them, and a
    # stroke as thin as a wall (a 1 through its box) is then no wall: bench/paper.py's overflowing
    # digits read 88 of 100 rather than 72. Two cells' grace each way for a line tilted a little.
    past = piece[: max(rows[0] - 2, 0)].any(axis=0) | piece[rows[-1] + 3 :].any(axis=0)
    down = box_lines(three_thick(piece[inside].T).mean(axis=1) >= ACROSS, past)
    cols = np.flatnonzero(down)
    if not cols.size or cols[-1] - cols[0] < len(down) / 2:
        return None
    lines = piece & across[:, None]
    lines[inside] |= piece[inside] & down[None, :]
    in_box = inside, slice(cols[0], cols[-1] + 1)
    box = piece[in_box]
    # Each side of the box is ink nearly all along: a frame's sides make the box (a tilt of a
    # few degrees still stays within the sides' bands); a digit's curves leave gaps there.
    depth = max(2, round(SIDE * min(box.shape)))
    sides = min(
        box[:depth].any(axis=0).mean(),
        box[-depth:].any(axis=0).mean(),
        box[:, :depth].any(axis=1).mean(),
        box[:, -depth:].any(axis=1).mean(),
    )
    return lines if sides >= CLOSED and lines[in_box].sum() >= FRAME * box.sum() else None


def box_lines(lines: np.ndarray, past: np.ndarray | None = None) -> np.ndarray:
    """The runs of True in a row of booleans (rows or columns inked across) that may be a box's
    lines: the first and the last (its two sides), and those between them no more than WALL times
    as wide (the walls of a row of boxes, two side by side where the boxes touch; not a digit's
    stroke written down or across the box, which is wider) and, where `past` says where ink runs
    on past the box, not running on."""
    starts, ends = runs(lines)
    out = np.zeros_like(lines)
    if not starts.size:
        return out
    widest = WALL * max(ends[0] - starts[0], ends[-1] - starts[-1])
    for k, (start, end) in enumerate(zip(starts, ends, strict=True)):
        wall = end - start <= widest and (past is None or not past[start:end].any())
        out[start:end] = k in (0, len(starts) - 1) or wall
    return out


def strokes_on_line(line: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """The columns where a stroke lies on the `line`: where the `ink` running on up or down from it
    is at least twice as deep as the line usually is, and two pixels deeper. Ink near the line but
    apart from it (a digit just above a ruled line) does not count: were the line kept under it,
    the digit would be read with a bar under it."""
    on_line = ndimage.binary_propagation(line, structure=np.ones((3, 1), bool), mask=ink)
    depth = on_line.sum(axis=0)
    crossed = depth[line.any(axis=0)]
    if not crossed.size:
        return np.zeros(len(depth), bool)
    usual = np.median(crossed)
    return (depth >= 2 * usual) & (depth >= usual + 2)


def runs(flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each run of True in a row of booleans starts, and where it ends (one past its last)."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(np.int8), [0]])))
    return edges[::2], edges[1::2]


def three_thick(mask: np.ndarray) -> np.ndarray:
    """Each row of `mask` with the rows above and below it (none beyond its edges, which np.roll
    would wrap round: a box's top row would count its bottom row's ink)."""
    padded = np.pad(mask, ((1, 1), (0, 0)))
    return padded[:-2] | padded[1:-1] | padded[2:]


def cells(mask: np.ndarray, cell: int) -> np.ndarray:
    """Which cells of `cell` x `cell` pixels of `mask` hold any ink (the last ones may be smaller).
    Pillow's reduce, 8x faster than NumPy's any() over a reshape."""
    return np.asarray(Image.fromarray(mask.view(np.uint8) * np.uint8(255)).reduce(cell)) > 0
