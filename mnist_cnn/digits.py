"""The digits of a number: pieces of ink grouped into digits, line by line, left to right.

Pieces of ink that overlap left to right are one digit (a 5's detached bar, a stroke broken where
the pen skipped); pieces too small to be a digit beside the others (a dash, a decimal point), and
a comma hanging between two, are marks, left out and said so (dust away from them is nothing);
a group in a number as wide as a wide digit, or a lone one as wide as two, is digits that touch
or one wide digit: it is kept as every stretch between the columns where its ink is thinnest
(stretches_of), each cut leaning with the gap between two digits that lean into each other
(cut_lines), for the network to choose its digits among (reading.best_stretches). Narrower
groups that may be two are kept both ways, one digit and two (reading.judge), as is one with a
1 pressed against its digit's side.
One group is one digit: pictures.py then reads it exactly as a single digit; the stretches that
may be its digits, were it digits that touch (ways_to_cut), are for a second look, where the
network finds it no digit.
Ink that lies along a tilted line (writing_tilt; two digits' pieces, pieces_tilt) is turned
level by pictures.py where it then holds a level number (holds_a_level_number): a number written
across the page; where it holds two digits, it is read both ways, and the network decides
(reading.read_pictures).
NumPy and scipy.ndimage only.
"""

from dataclasses import dataclass, replace
from enum import Enum
from itertools import pairwise

import numpy as np
from scipy import ndimage
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

REACH = 3  # a piece too small to be a digit this many strokes' widths from one is part of it
OVERLAP = 0.5  # pieces whose left-to-right extents share this much of the narrower one are one digit
CRUMB = 0.02  # pieces with less than this share of the most ink of any piece join no digit by themselves
MOST_PIECES = 64  # ...nor do those beyond the 64 with the most ink: a number of ten digits has far fewer
DIGIT_HEIGHT = 0.45  # a group less tall than this share of the line is a mark (a dash, a dot), not a digit
TOUCHING = 2.0  # a lone group this many times wider than the line is tall is digits that touch
DIGIT_WIDTH = 0.75  # a digit's width as a share of the line's height, for how many a wide group holds
FLAT = 3  # ink less than this many strokes' widths high or thick is a line, never digits that touch
MOST_DIGITS = 12  # a group is cut at CUTS_PER_DIGIT places for each digit its width holds, up to this many
MAYBE_TWO = 0.9  # a group in a number this many times wider than the line is tall may be digits that touch...
NARROW_TWO = 0.7  # ...or this many, if as a whole it is no digit (reading.read_as_two)
LONE_PAIR = 1.1  # ...and a lone group this many times wider than tall
PAIR = 0.6  # two digits alone are this level and alike in height; a digit broken in two is not
LINE_OVERLAP = 0.1  # neighbours on one line share at least this much of the shorter one's height
OTHER_LINE = 0.6  # another line is read where its tallest group is this share of the line with the most ink's...
LINE_GAP = 0.25  # ...and an empty gap of this share of the taller line's height parts them...
# ...and both lines' tallest are this many strokes' widths tall: 95% of bench/realistic.py's
# digits are 3.7 or more; 10 of the 17 lines the pieces of its broken-stroke digits made, less.
DIGIT_STROKES = 4
COMMA_WIDTH = 0.5  # a comma between digits is narrower than this share of their height
# A 1 pressed against the digit beside it ("41", its 1 touching the 4's bar) makes a group no
# wider than one digit. The 1 is a straight stroke at the group's left or right edge, within
# ONE_REACH of its width, spanning ONE_HEIGHT of its height (a 4's straight first stroke spans
# less), and the digit beside it OTHER_HEIGHT.
ONE_REACH, ONE_HEIGHT, OTHER_HEIGHT = 0.45, 0.9, 0.75
# Ink that lies along a line MIN_TILT to MAX_TILT degrees from level, ELONGATED times as long as
# it is thick (the spread of its pixels), may be a number written across the page or photographed
# with the phone turned (writing_tilt). Turned level, where it then holds LEVEL_DIGITS digits apart
# whose centres lie within LEVEL degrees of level, it is read as a level number is (pictures.py).
# 300 numbers of MNIST test digits turned 15 to 40 degrees (bench/multidigit.py --tilt, seed-1
# weights) read 80.7% exactly rather than 55.3%. With two digits apart enough (and ELONGATED
# 1.5, as good here as 1.8), 85.7%, but two digits one higher than the other look as tilted as
# two turned: 17 of 600 level numbers of MNIST's and real writers' digits were turned, 3 of them
# then misread. A digit alone whose ink lies so (1% of MNIST's, most of them wide 4s) holds no
# digits apart, and is read as it lies.
MIN_TILT, MAX_TILT, ELONGATED = 15.0, 40.0, 1.8
LEVEL, LEVEL_DIGITS = 10.0, 3
# Ink in two pieces or more along a tilted line PAIR_ELONGATED times as long as it is thick, that
# turned level holds two digits apart (a number of two written at a tilt, or two digits one higher
# than the other), is read both ways, and reading.read_pictures takes the one the network reads
# better. On 200 numbers of two digits turned 15 to 40 degrees (seed-1 weights), MNIST's read 135
# exactly rather than 94, real writers' 121 rather than 94; of 200 level ones, 191 and 190 as
# before. (ELONGATED 1.8 here: 127 and 109; turned outright, without the network's say: 136 and 125,
# but 186 and 186 of the level ones.)
PAIR_ELONGATED, PAIR_DIGITS = 1.5, 2
# ...or where the line through the centres of its sizable pieces (pieces_tilt) lies MIN_TILT to
# PAIR_MAX_TILT from level: two digits, each taller than wide, are often no longer along their line
# than across it, and their ink's long axis then says nothing, where their centres still lie on the
# line, give or take a fifth of a digit's height, and so lie a little further from level than the
# line itself. Real writers' numbers turned 15 to 40 degrees (bench/multidigit.py --tilt, seed-1
# weights) read 235 of 300 exactly without it; with it, tried after the long axis, 246 with the
# range up to MAX_TILT, 252 up to 45, 257 up to 50 or 60; tried first (pictures.py), 262 up to 50.
# Level numbers read none fewer.
PAIR_MAX_TILT = 50.0
# ...and only ink in LEVEL_DIGITS pieces or more, each with SIZABLE of the most ink of any piece,
# is looked at so (pieces_enough_to_turn): of bench/predict.py's 1,000 pictures a quarter lay along
# a tilted line, most of them a scribble in one stroke, and turning each to look took 10 ms.
SIZABLE = 0.15
ENDS = 0.15  # a lone group's 1 touches its digit this share of their height or more from the top and foot
# A lone group read as no digit is looked at again as digits that touch (ways_to_cut): cut at
# the CUT_PLACES columns crossed by the fewest strokes, each stretch between two at least a stroke
# wide (a 1) and spanning PART_HEIGHT of the group's height, as a number's digits do, and only
# where such stretches run from its left edge to its right. With 12 places, reading
# bench/predict.py's 1,000 pictures in one process took 32 to 35 s of CPU rather than 25 to 30
# (2-core AMD EPYC); with any such stretch enough, 39 to 53 s, a second look at 425 of them.
CUT_PLACES, PART_HEIGHT = 8, 0.75
# A group that may be digits that touch (MAYBE_TWO in a number, TOUCHING alone) is cut at
# CUTS_PER_DIGIT places for each digit its width holds at DIGIT_WIDTH, and kept as every stretch
# between two of them up to STRETCH times as wide as its line is tall (stretches_of), for the
# network to choose the digits among (reading.best_stretches). Counting its digits from its width
# instead, 49% of bench/multidigit.py's 300 numbers whose digits all touch read exactly (seed-1
# weights), most of the rest a digit or more short: narrow 1s and 7s are more than it holds.
CUTS_PER_DIGIT, STRETCH = 3, 1.3
# ...where it is TALL of the line's height: a unit's letters written beside a number (12cm) are
# as wide as digits that touch, but shorter, and an m's strokes read as 1s and 7s. Without it,
# bench/notdigits.py's numbers with a unit read 11 of 96 exactly rather than 17 (seed-1
# weights); with it, bench/multidigit.py's 300 numbers whose digits all touch read one fewer.
TALL = 0.8
# Where a group is cut into digits, the cut leans with the gap between them (cut_lines), at most
# CUT_SWAY of the group's height either side of its column: digits that touch are written leaning
# into each other. Of the 2,700 numbers of a scratch copy of bench/multidigit.py (MNIST's, the
# fonts' and real writers' digits; level, touching, tilted), 0.08 read 42 / 49 / 34 more exactly
# than straight cuts (seed 1 / 2 / 3 weights); 0.11 about as many (42 / 47 / 44) but one number
# with a mark fewer with each; 0.05 and 0.15 fewer (38 / 14 / 26, 34 / 32 / 26); 0.25 lost more
# numbers whose digits all touch than it gained.
CUT_SWAY = 0.08


class Halves(Enum):
    """How a group that may be one digit or two was made into two, which says how much better
    the network must read the two than the whole (reading.read_as_two)."""

    CUT = "cut"  # one wide digit or two that touch, cut where the fewest strokes cross
    APART = "apart"  # two pieces apart that may be one digit broken in two: as likely two as one
    NARROW = "narrow"  # a group barely wider than a digit, cut: two only where it is no digit whole
    ONE = "one"  # a 1 pressed against the digit beside it, cut off: two only where the network is sure of both
    MARKED = "marked"  # a lone digit and the marks beside it (-7): the digit alone only where it is no digit whole


@dataclass
class Place:
    """Where one digit lies in the ink: its box (top, bottom, left, right) and, within the box,
    which pixels are its own (those of a neighbour that reach into the box are not)."""

    box: tuple[int, int, int, int]
    own: np.ndarray | None
    # A group that may be one digit or two: its two halves, for reading.judge() to take if the
    # network reads two better, and how they were made (or, MARKED, a lone digit alone and the
    # marks beside it).
    halves: tuple["Place", ...] | None = None
    halves_are: Halves = Halves.CUT
    line: int = 0  # which line of the picture, from the top
    mark: bool = False  # a mark beside the digits (a dash, a dot, a comma): left out, never read as a digit
    # A group that may be digits that touch: every stretch of it between two of its cut places
    # (stretches_of), as (first cut, last cut, its place), for reading.best_stretches to choose
    # the digits from, where the network reads them best.
    stretches: tuple[tuple[int, int, "Place"], ...] | None = None


def label_pieces(ink: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The connected pieces of ink above `threshold` (`ink` light on black): their labels (1..n),
    their boxes (top, bottom, left, right) and their ink, for find_digits and pictures.digit_box."""
    inked = ink > threshold
    pieces, count = ndimage.label(inked, structure=np.ones((3, 3)))
    boxes = np.array([(s[0].start, s[0].stop, s[1].start, s[1].stop) for s in ndimage.find_objects(pieces)])
    # Over the inked pixels only: the same sums, 13x faster than over the whole picture.
    mass = np.bincount(pieces[inked], weights=ink[inked], minlength=count + 1)[1:]
    return pieces, boxes.reshape(-1, 4), mass


def pieces_enough_to_turn(mass: np.ndarray, digits: int = LEVEL_DIGITS) -> bool:
    """Whether the ink (label_pieces()'s `mass`) is in `digits` pieces or more with SIZABLE of the
    most ink of any: as many as a number turned level must hold digits apart, at least."""
    return len(mass) >= digits and int((mass >= SIZABLE * mass.max()).sum()) >= digits


def writing_tilt(inked: np.ndarray, elongated: float = ELONGATED) -> float:
    """How far the ink's long axis falls to the right, in degrees (rising: negative), where it is a
    number written at a tilt (MIN_TILT to MAX_TILT, `elongated`); 0 for all other ink."""
    rows, cols = divmod(np.flatnonzero(inked), inked.shape[1])  # 15x faster than np.nonzero here
    if len(rows) < 3:
        return 0.0
    spread, axes = np.linalg.eigh(np.cov(cols, rows))
    if spread[0] <= 0 or spread[1] < elongated**2 * spread[0]:
        return 0.0
    x, y = axes[:, 1] * np.sign(axes[0, 1] or 1.0)  # the long axis, pointing right
    tilt = float(np.degrees(np.arctan2(y, x)))
    return tilt if MIN_TILT <= abs(tilt) <= MAX_TILT else 0.0


def pieces_tilt(boxes: np.ndarray, mass: np.ndarray) -> float:
    """How far the line through the centres of the ink's sizable pieces (SIZABLE; label_pieces()'s
    `boxes` and `mass`) falls to the right, in degrees, where it lies MIN_TILT to PAIR_MAX_TILT
    from level; 0 otherwise. Each centre weighs as much as its piece's ink."""
    sizable = mass >= SIZABLE * mass.max()
    if sizable.sum() < 2:
        return 0.0
    rows, cols = boxes[sizable, :2].mean(axis=1), boxes[sizable, 2:].mean(axis=1)
    _, axes = np.linalg.eigh(np.cov(cols, rows, aweights=mass[sizable]))
    x, y = axes[:, 1] * np.sign(axes[0, 1] or 1.0)  # the line, pointing right
    tilt = float(np.degrees(np.arctan2(y, x)))
    return tilt if MIN_TILT <= abs(tilt) <= PAIR_MAX_TILT else 0.0


def group_box(group: list[int], boxes: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the pieces of a group."""
    return boxes[group, 0].min(), boxes[group, 1].max(), boxes[group, 2].min(), boxes[group, 3].max()


def find_digits(
    pieces: np.ndarray, boxes: np.ndarray, mass: np.ndarray, stroke: float
) -> tuple[list[Place] | None, list[Place]]:
    """The places of the digits of a number, line by line from the top, each line left to right
    (None where the ink is one digit, or one place with halves where it may also be two that
    touch); and the places of the marks beside them (beside), to be left out and said so.

    `pieces`, `boxes` and `mass` are label_pieces(), `stroke` the strokes' width in pixels.
    """
    if not len(mass):
        return None, []
    lines, beside_lines = lines_of_digits(group_by_columns(boxes, mass), boxes, mass, stroke)
    several = len(lines) > 1
    places = [
        replace(p, line=n) for n, line in enumerate(lines) for p in places_on_line(line, pieces, boxes, stroke, several)
    ]
    marks = [replace(place_of(np.isin(pieces, np.array(g) + 1)), line=n, mark=True) for n, g in beside_lines]
    return (places if len(places) > 1 or places[0].halves or places[0].stretches else None), marks


def holds_a_level_number(
    pieces: np.ndarray, boxes: np.ndarray, mass: np.ndarray, stroke: float, digits: int = LEVEL_DIGITS
) -> bool:
    """Whether the longest line of digits holds `digits` digit-sized groups of pieces apart or
    more (not digits that touch), their centres along a line within LEVEL degrees of level
    (label_pieces(); `stroke` the strokes' width in pixels): not a digit alone, nor a level
    number turned."""
    if not len(mass):
        return False
    lines, _ = lines_of_digits(group_by_columns(boxes, mass), boxes, mass, stroke)
    line = max(lines, key=len)
    if len(line) < digits:
        return False
    spans = np.array([group_box(group, boxes) for group in line], np.float64)
    slope = np.polyfit((spans[:, 2] + spans[:, 3]) / 2, (spans[:, 0] + spans[:, 1]) / 2, 1)[0]
    return abs(np.degrees(np.arctan(slope))) < LEVEL


def places_on_line(
    groups: list[list[int]], pieces: np.ndarray, boxes: np.ndarray, stroke: float, of_several: bool = False
) -> list[Place]:
    """The places of the digits of one line's groups of pieces, left to right. A line of one group
    is read as a lone group is, unless it is `of_several` lines: then, like a line of several, as
    part of a number whose digits are narrower than a lone digit may be."""
    apart = None
    if len(groups) == 2 and not a_pair(*groups, boxes):
        # More likely one digit broken in two, but maybe two of unlike heights ("31") or whose
        # boxes just overlap ("81"): read both ways, the two groups as its halves.
        apart = tuple(place_of(np.isin(pieces, np.array(g) + 1)) for g in groups)
        groups = [groups[0] + groups[1]]
    height = max(group_box(g, boxes)[1] - group_box(g, boxes)[0] for g in groups)
    in_number = len(groups) > 1 or of_several
    places = []
    for group in groups:
        own = np.isin(pieces, np.array(group) + 1)
        bounds = group_box(group, boxes)
        width = bounds[3] - bounds[2]
        straight = all(thickness(piece_in_box(pieces, boxes, k)) < FLAT * stroke for k in group)
        if height < FLAT * stroke or straight:  # a dash, a line at any slant, an equals sign
            places += split_touching(own, 1)
        elif bounds[1] - bounds[0] >= TALL * height and width > (MAYBE_TWO if in_number else TOUCHING) * height:
            places.append(stretches_of(own, stroke, height))  # digits that touch, or one wide digit
        elif two := maybe_two(own, width, height, in_number):
            places.append(two)
        elif one := a_one_pressed_against(own, bounds, stroke, alone=not in_number):
            places.append(one)
        else:
            places += split_touching(own, 1)
    if apart and len(places) == 1:
        places[0].halves, places[0].halves_are = apart, Halves.APART
    return places


def maybe_two(own: np.ndarray, width: int, height: int, in_number: bool) -> Place | None:
    """The group `own`, `width` wide on a line `height` tall, as one place kept both ways, one
    digit and two, where it is as wide as one wide digit or two that touch (alone, LONE_PAIR), or,
    in a number, NARROW (NARROW_TWO; wider, places_on_line keeps its stretches): two digits that
    touch and lean into each other (a bold "99", a "30") are narrower than one wide digit, but as
    one they are an odd shape, far from every digit. None where it is narrower."""
    if width > (MAYBE_TWO if in_number else LONE_PAIR) * height:
        [whole] = split_touching(own, 2, both_ways=True)
        return whole
    if in_number and width > NARROW_TWO * height:
        [whole] = split_touching(own, 2, both_ways=True)
        return replace(whole, halves_are=Halves.NARROW)
    return None


def a_one_pressed_against(
    own: np.ndarray, bounds: tuple[int, int, int, int], stroke: float, alone: bool
) -> Place | None:
    """The group `own` (within `bounds`: top, bottom, left, right) as one place with, as its halves
    (Halves.ONE), a 1 at its left or right edge and the digit it touches; None where no such 1 is
    there. The cut is where one stroke crosses a column near the edge with the least ink, no more
    than a quarter of the group's height: where the two touch, not along a stroke (a 9's straight
    stem, cut lengthwise, leaves a sliver). The 1 beyond it is straight (its ink less than FLAT
    strokes' widths thick) and as tall as ONE_HEIGHT of the group; the rest is at least
    OTHER_HEIGHT of it. A group `alone` in its picture must be touched further than ENDS of its
    height from its top and foot: a V, a U or an N, two strokes meeting at their ends, would be
    two 1s (in a number, the digits beside it say it holds digits)."""
    top, bottom, left_edge, right_edge = (int(v) for v in bounds)
    box = own[top:bottom, left_edge:right_edge]
    height, width = box.shape
    strokes = strokes_crossing(box)
    ink = box.sum(axis=0)
    cost = strokes * height + ink
    reach, skip = int(ONE_REACH * width), max(1, int(stroke))
    # Each side's columns from the edge inward: of equal cuts, the one nearest the 1 leaves the
    # other digit its strokes (a 4's bar running into the 1).
    for left, columns in ((True, np.arange(skip, reach)), (False, np.arange(width - skip - 1, width - reach - 1, -1))):
        if not columns.size:
            continue
        cut = int(columns[np.argmin(cost[columns])])
        if strokes[cut] != 1 or ink[cut] > height / 4:
            continue
        touching = np.flatnonzero(box[:, cut])
        if alone and not (ENDS * height <= touching[0] and touching[-1] < (1 - ENDS) * height):
            continue
        one, other = (box[:, :cut], box[:, cut:]) if left else (box[:, cut:], box[:, :cut])
        if thickness(one) < FLAT * stroke and tall_share(one) >= ONE_HEIGHT and tall_share(other) >= OTHER_HEIGHT:
            whole = place_of(own)
            # Down the column: the 1 beyond it was found straight there.
            whole.halves = tuple(places_between(own, [left_edge, left_edge + cut, right_edge], sway=0))
            whole.halves_are = Halves.ONE
            return whole
    return None


def tall_share(part: np.ndarray) -> float:
    """How much of `part`'s height its ink spans."""
    rows = np.flatnonzero(part.any(axis=1))
    return (rows[-1] + 1 - rows[0]) / len(part) if rows.size else 0.0


def strokes_crossing(own: np.ndarray) -> np.ndarray:
    """How many strokes cross each column of `own`: the runs of ink down it."""
    return (np.diff(own.astype(np.int8), axis=0, prepend=0) == 1).sum(axis=0)


def place_of(own: np.ndarray) -> Place:
    """The Place of the pixels `own`, over its whole width."""
    cols = np.flatnonzero(own.any(axis=0))
    [place] = places_between(own, [int(cols[0]), int(cols[-1]) + 1])
    return place


def piece_in_box(pieces: np.ndarray, boxes: np.ndarray, k: int) -> np.ndarray:
    """Piece k's pixels within its own box (comparing the whole picture cost 0.3 ms a picture)."""
    top, bottom, left, right = boxes[k]
    return pieces[top:bottom, left:right] == k + 1


def thickness(own: np.ndarray) -> float:
    """How thick the ink is across its main direction: about its stroke's width for a straight
    line at any slant, far more for a digit (four standard deviations along its minor axis)."""
    rows, cols = np.nonzero(own)
    if len(rows) < 3:
        return 0.0
    return float(4 * np.sqrt(max(np.linalg.eigvalsh(np.cov(rows, cols))[0], 0.0)))


def a_pair(a: list[int], b: list[int], boxes: np.ndarray) -> bool:
    """Whether two groups are two digits side by side rather than one digit broken in two: apart
    left to right, as tall as each other within PAIR of the taller, and level with each other
    over PAIR of the shorter. (A longer number is known for one by its line, which may climb.)"""
    (top_a, bottom_a, _, _), (top_b, bottom_b, _, _) = group_box(a, boxes), group_box(b, boxes)
    short, tall = sorted((bottom_a - top_a, bottom_b - top_b))
    level = min(bottom_a, bottom_b) - max(top_a, top_b) >= PAIR * short
    return bool(not shares_columns(a, b, boxes) and short >= PAIR * tall and level)


def group_by_columns(boxes: np.ndarray, mass: np.ndarray) -> list[list[int]]:
    """The pieces (by index) grouped into columns: pieces that overlap left to right by OVERLAP of
    the narrower one and lie within half the taller one's height of each other from top to bottom,
    directly or through others. Crumbs, and pieces beyond the MOST_PIECES with the most ink (a
    picture of noise has thousands), join the column whose box they lie in, if any."""
    if len(mass) == 1:  # one piece, as most pictures hold: no graph to search (0.1 ms of scipy.sparse)
        return [[0]]
    big = np.flatnonzero(mass >= CRUMB * mass.max())
    big = big[np.argsort(mass[big])[::-1][:MOST_PIECES]]
    top, bottom, left, right = boxes[big].T
    shared = np.minimum.outer(right, right) - np.maximum.outer(left, left)
    narrower = np.minimum.outer(right - left, right - left)
    gap = np.maximum.outer(top, top) - np.minimum.outer(bottom, bottom)  # below zero: they overlap
    near = gap <= 0.5 * np.maximum.outer(bottom - top, bottom - top)
    _, column = connected_components(csr_matrix((shared >= OVERLAP * narrower) & near), directed=False)
    groups = [list(big[column == c]) for c in range(column.max() + 1)]
    spans = np.array([group_box(g, boxes) for g in groups])
    rest = np.setdiff1d(np.arange(len(mass)), big)
    ys, xs = (boxes[rest, 0] + boxes[rest, 1]) / 2, (boxes[rest, 2] + boxes[rest, 3]) / 2
    inside = (
        (spans[:, 0][None] <= ys[:, None])
        & (ys[:, None] < spans[:, 1][None])
        & (spans[:, 2][None] <= xs[:, None])
        & (xs[:, None] < spans[:, 3][None])
    )
    for piece, row in zip(rest, inside, strict=True):
        if row.any():
            groups[int(np.argmax(row))].append(int(piece))
    return [[int(i) for i in g] for g in groups]


def lines_of_digits(
    groups: list[list[int]], boxes: np.ndarray, mass: np.ndarray, stroke: float
) -> tuple[list[list[list[int]]], list[tuple[int, list[int]]]]:
    """The digit-sized groups, line by line from the top, each line left to right; and the
    smaller groups that are marks beside a line (beside, a_comma), each with its line's number.

    The line of the group with the most ink is read, and so is any other line apart from it
    (lines_apart) that is a line of digits under or over it (a_line_under). Each grows from its
    group with the most ink (grow_line) past the other lines' groups. Where each line would hold
    one group, only the line of the group with the most ink is read: the pieces of a digit
    broken into many often lie so, and a single digit written on each line is rare. A smaller
    group within REACH strokes' widths of a digit above or below it is part of it (a 5's bar
    drawn apart); one beside the digits (a dash, a comma) is a mark of its own, and one
    elsewhere (dust, a scrawl in the margin) is nothing."""
    spans = np.array([group_box(g, boxes) for g in groups])
    heights, inks = spans[:, 1] - spans[:, 0], np.array([mass[g].sum() for g in groups])
    sized = heights >= DIGIT_HEIGHT * heights.max()
    order = [i for i in np.argsort(spans[:, 2], kind="stable") if sized[i]]
    main = max(order, key=lambda i: inks[i])
    blocks = lines_apart(order, spans, boxes[mass >= CRUMB * mass.max()])
    first = next(block for block in blocks if main in block)
    read = [block for block in blocks if block is first or a_line_under(block, first, spans, stroke)]
    lines = []
    for block in read:
        elsewhere = {i for other in read if other is not block for i in other}
        lines.append(grow_line(max(block, key=lambda i: inks[i]), [i for i in order if i not in elsewhere], spans))
    if len(lines) > 1 and all(len(line) == 1 for line in lines):  # one above another: a digit's pieces
        lines = [grow_line(main, order, spans)]
    commas = [
        (n, i)
        for n, line in enumerate(lines)
        for a, i, b in zip(line, line[1:], line[2:], strict=False)
        if a_comma(i, a, b, spans)
    ]
    lines = [[i for i in line if (n, i) not in commas] for n, line in enumerate(lines)]
    digits = [[list(groups[i]) for i in line] for line in lines]
    marks = [(n, list(groups[i])) for n, i in commas]
    for small in np.flatnonzero(~sized):  # above or below a digit, not beside it, as a dash or a comma is
        a = groups[small]
        near = [
            (box_distance(a, groups[i], boxes), n, k)
            for n, line in enumerate(lines)
            for k, i in enumerate(line)
            if box_distance(a, groups[i], boxes) <= REACH * stroke and shares_columns(a, groups[i], boxes)
        ]
        if near:
            _, n, k = min(near)
            digits[n][k] += a
        else:
            marks += [(n, a) for n, line in enumerate(lines) if beside(spans[small], spans[line])][:1]
    return digits, marks


def a_comma(i: int, before: int, after: int, spans: np.ndarray) -> bool:
    """Whether group i, between two digits of a line, is a comma (1,000) rather than a digit:
    narrow, starting below both neighbours' middles and ending below both their feet. A digit,
    however small or jittered, stands on the line; a comma hangs from it."""
    top, bottom, left, right = spans[i]
    neighbours = spans[[before, after]]
    low = (top > neighbours[:, :2].mean(axis=1)).all() and (bottom > neighbours[:, 1]).all()
    return bool(low and right - left < COMMA_WIDTH * np.ptp(neighbours[:, :2], axis=1).mean())


def beside(mark: np.ndarray, line: np.ndarray) -> bool:
    """Whether a small group's box (top, bottom, left, right) lies beside a line of digits (their
    boxes): level with it, reaching into the band from the line's top to its foot (a comma hangs
    below, but starts above the foot), and no further from its first or last digit than the line
    is tall (a minus sign before it, a decimal point, a dash)."""
    top, bottom, left, right = line[:, 0].min(), line[:, 1].max(), line[:, 2].min(), line[:, 3].max()
    height = bottom - top
    level = mark[0] < bottom and mark[1] > top
    return bool(level and left - height <= mark[3] and mark[2] <= right + height)


def lines_apart(order: list[int], spans: np.ndarray, pieces: np.ndarray) -> list[list[int]]:
    """The groups `order` (indices into `spans`) as lines, from the top: bands of groups that
    overlap from top to bottom, directly or through others, then each band with the next unless
    an empty gap parts them, LINE_GAP of the taller's height with no piece of ink (`pieces`' boxes)
    centred in it. The pieces of a digit broken into many, or cut by squared paper's lines, are
    not so parted, and stay one line however they lie."""
    bands: list[list[int]] = []
    for i in sorted(order, key=lambda i: spans[i, 0]):
        if bands and spans[i, 0] < spans[bands[-1], 1].max():
            bands[-1].append(i)
        else:
            bands.append([i])
    centres = (pieces[:, 0] + pieces[:, 1]) / 2
    lines = [bands[0]]
    for band in bands[1:]:
        above, below = spans[lines[-1], 1].max(), spans[band, 0].min()
        taller = max(np.ptp(spans[lines[-1], :2]), np.ptp(spans[band, :2]))
        empty = not ((above < centres) & (centres < below)).any()
        if below - above >= LINE_GAP * taller and empty:
            lines.append(band)
        else:
            lines[-1] += band
    return lines


def a_line_under(block: list[int], first: list[int], spans: np.ndarray, stroke: float) -> bool:
    """Whether the groups `block`, a line apart from the `first` line's, are a line of digits of
    their own: written under or over it (sharing some of its width), with its tallest group
    OTHER_LINE as tall as that line's, and both DIGIT_STROKES strokes' widths tall. Not the pieces
    of a digit broken into many, which are short for their strokes; not the other bar of an
    equals sign, or small writing beside a big digit."""
    under = spans[block, 3].max() > spans[first, 2].min() and spans[first, 3].max() > spans[block, 2].min()
    tallest, first_tallest = (np.ptp(spans[b, :2], axis=1).max() for b in (block, first))
    tall = tallest >= OTHER_LINE * first_tallest and min(tallest, first_tallest) >= DIGIT_STROKES * stroke
    return bool(under and tall)


def grow_line(main: int, order: list[int], spans: np.ndarray) -> list[int]:
    """The line of group `main` among the groups `order` (left to right; indices into `spans`), left
    to right: from `main` to the left and to the right, each next group while it overlaps the
    last one taken from top to bottom, so a line may climb or fall (a number photographed askew).
    What lies above or below it (dust, a digit's pieces that do not line up) ends it."""
    line = [main]
    for side in (reversed(order[: order.index(main)]), order[order.index(main) + 1 :]):
        last = main
        for i in side:
            (top_a, bottom_a), (top_b, bottom_b) = spans[last, :2], spans[i, :2]
            if min(bottom_a, bottom_b) - max(top_a, top_b) <= LINE_OVERLAP * min(bottom_a - top_a, bottom_b - top_b):
                break
            line.append(i)
            last = i
    return sorted(line, key=lambda i: spans[i, 2])


def shares_columns(a: list[int], b: list[int], boxes: np.ndarray) -> bool:
    (_, _, left_a, right_a), (_, _, left_b, right_b) = group_box(a, boxes), group_box(b, boxes)
    return bool(min(right_a, right_b) > max(left_a, left_b))


def box_distance(a: list[int], b: list[int], boxes: np.ndarray) -> int:
    """The gap between two groups' boxes, the larger of across and up or down; 0 if they overlap."""
    (top_a, bottom_a, left_a, right_a), (top_b, bottom_b, left_b, right_b) = group_box(a, boxes), group_box(b, boxes)
    return int(max(0, left_a - right_b, left_b - right_a, top_a - bottom_b, top_b - bottom_a))


def split_touching(own: np.ndarray, parts: int, both_ways: bool = False) -> list[Place]:
    """One group's pixels as `parts` digits side by side, cut where the columns hold least ink
    near where equal parts would be cut. `both_ways` (two parts): the group stays one place
    that keeps the two as its halves, for reading.judge() to take if the network reads two
    digits there better than one: a single stroke joining two digits looks like a wide digit's
    own narrowest column (a 0 written open at the top)."""
    if parts == 1:  # most groups: no columns to weigh (0.7 ms for a digit on a 700-pixel page)
        return [place_of(own)]
    cols = np.flatnonzero(own.any(axis=0))
    left, right = int(cols[0]), int(cols[-1]) + 1
    profile = own[:, left:right].sum(axis=0)
    cuts = [left]
    step = (right - left) / parts
    # The cut is where the fewest strokes cross a column, then the least ink: two 0s that touch
    # meet in one stroke, and each one's inside is crossed by two.
    strokes = strokes_crossing(own[:, left:right])
    cost = strokes * own.shape[0] + profile
    for k in range(1, parts):
        lo, hi = int((k - 0.35) * step), int((k + 0.35) * step)
        cuts.append(left + lo + int(np.argmin(cost[lo:hi] + 1e-3 * np.abs(np.arange(lo, hi) - k * step))))
    cuts.append(right)
    places = places_between(own, cuts)
    if both_ways:
        whole = place_of(own)
        whole.halves = (places[0], places[1]) if len(places) == 2 else None
        return [whole]
    return places


def ways_to_cut(own: np.ndarray, stroke: float) -> list[tuple[int, int, int, int]]:
    """The stretches of one group's pixels `own` that may be its digits, were it digits that touch:
    those between two of its CUT_PLACES cut places (cut_places) as stretches_of keeps them, bar
    the whole, each at least a `stroke` (its width in pixels) wide and PART_HEIGHT of the group's
    height tall; each as (first cut, last cut, left column, right column). Where split_touching
    cuts near equal parts, these leave the network to choose: a 1 beside two round 0s ("100") is
    cut far from a third of the way. None (an empty list) where they run from its left edge to its
    right in no way."""
    cols = np.flatnonzero(own.any(axis=0))
    left, right = int(cols[0]), int(cols[-1]) + 1
    narrowest = max(2, round(stroke))
    edges = [left] + [left + c for c in cut_places(own[:, left:right], narrowest, CUT_PLACES)] + [right]
    height = tall_share(own) * len(own)

    def a_digit(a: int, b: int) -> bool:
        return b - a >= narrowest and tall_share(own[:, a:b]) * len(own) >= PART_HEIGHT * height

    spans = [(i, j) for i, j in stretch_spans(edges, height) if j - i < len(edges) - 1]
    kept = [(i, j, edges[i], edges[j]) for i, j in spans if a_digit(edges[i], edges[j])]
    reached = {0}  # the cuts some choice of the kept stretches reaches from the group's left edge
    for i, j, _, _ in sorted(kept, key=lambda s: s[1]):
        if i in reached:
            reached.add(j)
    return kept if len(edges) - 1 in reached else []


def stretch_spans(edges: list[int], height: float) -> list[tuple[int, int]]:
    """The stretches between the cut places `edges` (columns, left to right) that may be one digit,
    as (first, last) indices into them: each two no more than STRETCH times `height` apart, and
    each two neighbours however far, so that some choice of them runs from the first to the last."""
    return [
        (i, j)
        for i in range(len(edges))
        for j in range(i + 1, len(edges))
        if j == i + 1 or edges[j] - edges[i] <= STRETCH * height
    ]


def cut_places(group: np.ndarray, narrowest: int, most: int) -> list[int]:
    """The `most` columns of `group` (a group's pixels from its left edge to its right) where it
    is best cut, left to right: those crossed by the fewest strokes, then the least ink, each the
    lowest of its neighbours and at least `narrowest` from the others and from the group's edges."""
    cost = strokes_crossing(group) * len(group) + group.sum(axis=0)
    lowest = [c for c in range(narrowest, group.shape[1] - narrowest) if cost[c] <= cost[c - 2 : c + 3].min()]
    places: list[int] = []
    for c in sorted(lowest, key=lambda c: cost[c]):  # the lowest first, each a part's width from the others
        if len(places) < most and all(abs(c - p) >= narrowest for p in places):
            places.append(c)
    return sorted(places)


def stretches_of(own: np.ndarray, stroke: float, height: int) -> Place:
    """A group of digits that touch (its pixels `own`, on a line `height` tall, its strokes
    `stroke` wide) as one place with its stretches: its pixels between every two of its cut
    places (cut_places, CUTS_PER_DIGIT for each digit its width holds at DIGIT_WIDTH) no more
    than STRETCH times as wide as the line is tall, and between each two neighbouring ones
    however wide, so that some choice of them always runs from its left edge to its right."""
    cols = np.flatnonzero(own.any(axis=0))
    left, right = int(cols[0]), int(cols[-1]) + 1
    digits = max(2, round((right - left) / (DIGIT_WIDTH * height)))
    places = cut_places(own[:, left:right], max(2, round(stroke)), CUTS_PER_DIGIT * min(digits, MOST_DIGITS))
    edges = [left] + [left + c for c in places] + [right]
    lines = cut_lines(own, edges)
    whole = place_of(own)
    whole.stretches = tuple(
        (i, j, place)
        for i, j in stretch_spans(edges, height)
        if (place := place_within(own, lines[i], lines[j])) is not None
    )
    return whole


def places_between(own: np.ndarray, cuts: list[int], sway: float = CUT_SWAY) -> list[Place]:
    """The group's pixels between each pair of neighbouring cuts (cut_lines), each as a Place."""
    lines = cut_lines(own, cuts, sway)
    return [place for a, b in pairwise(lines) if (place := place_within(own, a, b)) is not None]


def place_within(own: np.ndarray, a: np.ndarray, b: np.ndarray) -> Place | None:
    """The Place of the pixels `own` right of cut line `a` and left of `b` (a column for each
    row, cut_lines); None where there are none."""
    first, last = int(a.min()), int(b.max())  # only the columns the lines can hold between them
    columns = np.arange(first, max(first, last))
    part = own[:, first:last] & (columns >= a[:, None]) & (columns < b[:, None])
    rows, cols = np.flatnonzero(part.any(axis=1)), np.flatnonzero(part.any(axis=0))
    if not rows.size:
        return None
    top, bottom, left, right = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    return Place((top, bottom, first + left, first + right), part[top:bottom, left:right])


def cut_lines(own: np.ndarray, cuts: list[int], sway: float = CUT_SWAY) -> list[np.ndarray]:
    """Where each cut (a column) parts the group's pixels `own`, row by row, top to bottom: down
    the column at its edges, and within them the way from top to bottom, at most `sway` of the
    group's height either side of the column (and inside its edges) and a column a row, that
    crosses the fewest strokes, then the least ink (of equal ways, the nearest the column). Digits
    that touch often lean into each other, so that no column parts them: a 7's bar reaching over
    the next digit's top."""
    height = len(own)
    cols = np.flatnonzero(own.any(axis=0))
    inside = [k for k, c in enumerate(cuts) if cols[0] < c <= cols[-1]]
    lines = [np.full(height, c) for c in cuts]
    reach = round(sway * tall_share(own) * height)
    if not (inside and reach):
        return lines
    offsets = np.arange(-reach, reach + 1)
    columns = np.clip(np.array([cuts[k] for k in inside])[:, None] + offsets, cols[0] + 1, cols[-1])  # (cuts, ways)
    chosen = cheapest_ways(own[:, columns], 1e-3 * np.abs(offsets) / reach)
    for n, k in enumerate(inside):
        lines[k] = columns[n, chosen[n]]
    return lines


def cheapest_ways(inked: np.ndarray, nearest: np.ndarray) -> np.ndarray:
    """For each cut, the way down its band of columns (`inked`: rows, cuts, ways) that crosses
    the fewest strokes, then the least ink, then adds up the least of `nearest` (each column's
    cost for leaving the cut's own), moving a column a row at most: the band's column for each
    row (cuts, rows). As cut_places weighs columns, a stroke crossed (ink entered from the paper)
    costs the band's height, each pixel of ink 1. Dynamic programming, all the cuts at once."""
    height, cuts, ways = inked.shape
    above = np.pad(inked, ((1, 0), (0, 0), (1, 1)))[:-1]  # the row above, a way either side
    # What going down to each way costs, coming from the way left of it, the same or right of it.
    entering = np.stack([inked * (1.0 + height * ~above[:, :, 1 + s : 1 + s + ways]) + nearest for s in (-1, 0, 1)])
    entering[0, :, :, 0] = entering[2, :, :, -1] = np.inf  # no way leaves the band
    before = np.full((cuts, ways + 2), np.inf)  # the cost of each way so far, a way either side
    total = before[:, 1:-1]
    total[:] = entering[1, 0]
    froms = np.lib.stride_tricks.sliding_window_view(before, ways, axis=1).transpose(1, 0, 2)  # a view of before
    came = np.empty(froms.shape)
    step = np.zeros(inked.shape, np.int8)
    for row in range(1, height):
        np.add(froms, entering[:, row], out=came)
        step[row] = came.argmin(axis=0)
        came.min(axis=0, out=total)
    step -= 1
    way = np.argmin(total, axis=1)  # each cut's cheapest way at the foot, followed back up
    chosen, every = np.empty((cuts, height), np.int64), np.arange(cuts)
    for row in range(height - 1, -1, -1):
        chosen[:, row] = way
        way = way + step[row, every, way]
    return chosen
