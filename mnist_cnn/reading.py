"""What the network makes of the pieces of ink in a picture: which are digits, and which digits.

Each piece predict.py finds (pictures.read_digits) gets the network's ten probabilities and,
where the weights have their digit stats (novelty.py), a verdict: a digit, or not a digit; a
digit whose loops rule out the network's first choice and fit its runner-up is read as that. A
picture then reads as one digit, `7 (98.6%)`, a number, `2026 (97.1%)`, with pieces that are
not digits left out and said so, or not a digit. The digits of a group of digits that touch
are the stretches of it the network reads best side by side (best_stretches); where a picture's
ink is one group read as no digit, it is looked at again so, cut into digits (read_pictures);
where it may be two digits written at a tilt, it is read both ways, and the better kept.

How predict.py then says it is formats.py. TensorFlow is imported only when a Reader is made.
"""

from dataclasses import dataclass, replace
from itertools import pairwise
from pathlib import Path

import numpy as np
from PIL import Image

from mnist_cnn import novelty
from mnist_cnn.digits import TALL, Halves
from mnist_cnn.pictures import Digit, closed_loops, cut_apart, read_digits, widths_spanned

FRAME = 28
OCCLUDER, STRIDE = 4, 2  # Reader.why(): patches about a stroke wide, overlapping by half
# The network reads a pass's pieces this many at a time. All 7,290 pieces of bench/predict.py's
# 1,000 pictures at once took 12 s of CPU in a fresh process (1.3 GB of new activations); in
# batches of 512, 1.4 s (2-core AMD EPYC). predict.py sends 256 pictures at a time, but a bench
# may send thousands.
BATCH = 512


ALONE = 1.0  # a picture's lone piece is not a digit beyond novelty.py's threshold itself...
# ...and where it is a picture's only piece, one digit (not two that touch), its limit is swayed
# by the letter detector (swayed): ALONE x DOUBTED for a piece at the detector's own threshold,
# e^SWAYED times further for each unit of log-odds it lies on the digits' side (1.0 at 0.7 below,
# 1.5 at novelty.DIGIT_SHAPED, where that rule takes over). Real people's digits unlike MNIST's
# (a 1 with a foot, a crossed 7) lie just past the threshold, the detector finding them digits;
# the letters that lie there, less so. With the weights of three seeds (2-core AMD EPYC), of the
# real-world set's 389 digits 0, 1 and 2 more read right (none fewer), bench/notdigits.py's
# letters caught 2, 0 and 2 more in 128, and MNIST test refused 0.8, 0.6, 0.8% rather than 0.9,
# 0.7, 0.8%. Swaying a group that may be two digits touching read some as one (34 as a 2).
DOUBTED, SWAYED = 0.7, 0.5
# A piece in a number is dropped only further out than a picture's lone piece: beside digits it
# is most likely one. On 300 numbers of MNIST test digits (bench/multidigit.py), 1.5 refused none
# of their 1,211 digits rather than 14, and read 92.7% of the numbers exactly rather than 90.7%.
# Under each class's own covariance (novelty.py) digits in numbers lie further out: 2 reads one
# more of those numbers exactly than 1.5 (seed 1) and leaves out 4 of the fonts' digits fewer.
IN_NUMBER = 2.0
# Two halves of a group are taken for two digits only if the network is this sure of each, not
# just surer than of the whole: where it is unsure of all three (a scribble, untrained weights)
# the group stays one. On bench/multidigit.py's numbers it gives up none of the halves' gain.
SURE_HALF = 0.9
# In a number, halves each at most this share as far out as the whole (novelty.py) are two even
# where the network is sure of the whole: two digits that touch make one odd shape, which it may
# still read at 100% (a 34 as 4). On bench/multidigit.py's six sets of 300 numbers, with the
# weights of two seeds, 0.5 reads 0 to 2 more of each set exactly, but 1 fewer of MNIST's once.
# So are a lone group's that as a whole is no digit (a "79" that touches, its 7 at 99% but far
# out): 2 more of the fonts' numbers with seed 1, 1 more of MNIST's with seed 2, no letter fewer.
# A lone digit read as the same digit without the marks beside it, and this much nearer, is read
# without them, the marks said: -7 in 7 more of the 16 fonts (bench/notdigits.py), where none of
# the 2,000 pictures of bench/realistic.py (half with broken strokes) has a piece so left out.
NEARER = 0.5
# A piece in a number less than SMALL times as tall as the other digits of its line, and no more
# than SQUARE times as wide as tall, is judged as a lone piece is: a + or an x between two digits
# floats there, half to two-thirds their height, and the network, unsure, reads it as a 4 or a 7
# at a novelty between 1 and 2. With it, bench/notdigits.py's signs between two digits are left
# out 23% of the time rather than 14%, and bench/multidigit.py's six sets of 300 numbers lose
# none (weights of seeds 1 and 2, two bench seeds). Without SQUARE, a small flat 0 and 6 of
# MNIST's were left out of the --lines 2 set; 0.8 rather than 0.7 cost MNIST's set a number.
# So is one less than TINY times as tall, however wide: a dash that touched a digit and was cut
# from it as a half (12-05 read 12705). It gains one photographed number of real writers' in
# each of those three runs, and one of the 128 numbers with a mark.
SMALL, SQUARE, TINY = 0.7, 1.3, 0.35
# A piece in a number is taken for a letter only this much further out (in the letter detector's
# log-odds, novelty.py): digits cut apart in a number can look odd. On bench/multidigit.py's six
# sets of 300 numbers (seed-1 weights, bench seeds 0 and 1) 0 read 2 to 5 fewer of a set exactly
# and 0.5 up to 2 fewer, 1 as many in all as without the detector. With 1, bench/notdigits.py's
# signs between two digits are left out 29% of the time rather than 22%.
LETTER_IN_NUMBER = 1.0
# A picture's lone group read as no digit, at least WIDE_ENOUGH times as wide as tall, is looked
# at again cut into digits that touch (read_pictures, pictures.cut_apart): a number written in one
# stroke. A way to cut it is taken where the network is SURE_HALF sure of each part, each lies
# within CUT_NEAR of the threshold and the letter detector is CUT_SHAPED sure (in log-odds) that
# it is shaped like a digit, not every part reads 1 (an m or an N cut into its strokes), and no
# way with fewer parts is taken (the halves of a 0 may read 1 and 1). With the seed-1 / seed-2
# weights, bench/fontnumbers.py's numbers whose digits touch read 105 / 106 of 128 rather than
# 95 / 94, written close 92 / 94 rather than 82 / 82. Real writers' digits lie further out than
# MNIST's: of 400 numbers of 2 to 4 touching digits, each by one writer of the development set,
# 0.6 read 33 / 43 right where 0.5 read 23 / 26 (2 / 4 more wrong), and let 1 / 1 of the 215
# letters, symbols and photos of bench/notdigits.py through rather than none; 0.7 let 3 / 5
# through and read 43 / 49 right (6 / 7 more wrong).
WIDE_ENOUGH, CUT_NEAR, CUT_SHAPED = 0.8, 0.6, 1.0
# The digits of a group of digits that touch (best_stretches) are the stretches of it whose scores
# (stretch_score) add up to the most: SURE times the log of the network's confidence, less
# NOVELTY_COST for each threshold's distance out, its letter log-odds above 0, and DIGIT_COST.
# The network reads a stretch of two digits, or of half of one, as some digit, often surely;
# the distance and the letter detector tell them from digits, and DIGIT_COST a wide digit from
# its halves. On bench/multidigit.py's 300 numbers whose digits all touch (seed-1 weights), 191
# read exactly, 148 before stretches; with DIGIT_COST 0, 197, but one fewer of the 300 numbers
# whose digits lie apart (285, as with SURE 1 and DIGIT_COST 0: 195 and 284).
SURE, NOVELTY_COST, DIGIT_COST = 3.0, 2.0, 0.15
# ...and one writer's digits are about as wide as one another: a stretch more than WIDER times as
# wide as the number's digits that lie apart (their median, 1s left out, where there are two or
# more) costs WIDTH_COST for each of their widths beyond, so that two digits that touch are not
# read as one wide digit the network is sure of ("34" in 8834 read as a 4 at 100%). On
# bench/multidigit.py's 300 numbers of real writers' digits that all touch, 117 / 121 read exactly
# rather than 112 / 116, the fonts' 105 / 111 rather than 104 / 109 (seed-1 / seed-2 weights).
# WIDTH_COST 4 read some wide digits of level numbers as two (MNIST's: 284 / 278 of 300 rather
# than 286 / 283; with WIDER 1.3 too, 279 / 275); one digit apart as the measure, a narrow 4
# beside a 3 split it.
WIDER, WIDTH_COST = 1.4, 2.0
# A piece whose ink spans less than SOLID of its strokes' widths is a solid blob, not a digit
# (pictures.widths_spanned): a dot, a blot, a filled disc or square. MNIST has none, and the
# network read each as a 0 at 65 to 99%, within the distance's threshold (seeds 1 and 2). Every
# one of MNIST's 70,000 digits spans 2.2 or more, the real-world set's 2.7 or more.
SOLID = 2.0
# A lone group with more than ENCLOSED of its ink in pieces inside its loops is not a digit
# (pictures.ink_in_its_loops): a face, its eyes and mouth in its ring, which one network read as
# a 0 at 99.9%. A digit's loops hold at most a speck of dust.
ENCLOSED = 0.05
# A lone group that is one loop and little else, its loop less round than ROUND, is a drawn shape,
# not a 0 (pictures.loop_roundness): a triangle's is 0.80 to 0.86, a heart's 0.83 to 0.87, a
# house's 0.7, where each of the real-world set's and the fonts' 0s is 0.95 or more. Of MNIST's
# 70,000 digits, 72 are below it (0.1%), all but a 3 and a 9 0s whose stroke's end curls into
# the loop. With it, bench/notdigits.py's symbols and doodles are caught 92% of the time rather
# than 81% (seed-1 weights), and no more real digits are refused.
ROUND = 0.86
# A 6 and an 8 close a loop; a piece read as one that closes none is not one (missing_its_loop):
# the letters the detector lets through are mostly read as 6s and 8s, a c, a C, an e left open.
# With it bench/notdigits.py's letters are caught 79.7% and 72.7% of the time rather than 71.1%
# and 62.5% (weights of seeds 1 and 2), nothing else it catches changes, and no more of the
# real-world set's digits are refused. Only where the network is short of CONFIDENT and the
# detector not sure of a digit: a 6 whose small loop thick strokes fill, as a fifth of MNIST's
# do, is one; so MNIST test is refused 0.8% of the time rather than 0.7%, where 1.2% without
# the detector's say. 0s and 9s, as often open in MNIST, catch no more letters. Only a lone
# piece: in a number, digits cut apart may open their loops (300 numbers of MNIST test digits,
# bench/multidigit.py, seed 1: 94.3% read exactly rather than 95.3%; lone pieces only, 95.3%).
LOOPED = (6, 8)
# A line of pieces is a word where at least two and this share of them are shaped like letters,
# and they do not all follow the others (mostly_strange). A third cost one of the fonts' numbers
# with seed 2 (bench/multidigit.py) and read no more words.
WORD_SHARE = 0.4
# A reading short of this that the ink's loops rule out gives way to the runner-up they fit
# (read_by_its_loops). With the weights of three seeds (2-core AMD EPYC with AVX-512), 1 / 2 / 2
# more of the real-world set's 389 digits read right (a drawn 1 with a long flag, two writers'
# 6s), 1 fewer with seed 3 (an MNIST-like 9 whose loop is a pixel short of closing), and 1 fewer
# of MNIST test's 10,000 each; of bench/multidigit.py's 300 numbers by real writers, 4 / 11 / 7
# more read exactly (seed 1: 93.7 -> 95.0%), of the fonts' digits 4 / 0 / 0, turned 15 to 40
# degrees 5 / 3 / 4, and none fewer. At 0.8, 7 of those numbers fewer; at 0.97, 1 more of MNIST
# test lost with seed 1, and 1 of the real-world set with seeds 1 and 2.
LOOPS_SAY = 0.9


@dataclass(frozen=True)
class Piece:
    """One piece of a picture as read: its 28x28 and box, the ten probabilities, how far it lies
    from the digits (novelty.py's distance over its threshold: above 1, not a digit) and how like
    a letter it is (novelty.py's letter detector over its threshold: above 0, not a digit)."""

    digit: Digit
    probabilities: np.ndarray
    novelty: float = 0.0
    letter_like: float = -np.inf
    is_digit: bool = True
    solid: bool = False  # a solid blob rather than strokes (SOLID)
    loops: int = 1  # the loops its ink closes (pictures.closed_loops; LOOPED)
    why: np.ndarray | None = None  # Reader.why(): what pushed the network toward its answer (+) or away (-)
    halves: tuple["Piece", ...] | None = None  # its Digit's halves, read
    cuts: tuple[tuple[int, int, "Piece"], ...] | None = None  # its Digit's cuts, read
    stretches: tuple[tuple[int, int, "Piece"], ...] | None = None  # its Digit's stretches, read
    read_as: int | None = None  # the digit it is read as where not the network's likeliest (read_by_its_loops)

    @property
    def answer(self) -> int:
        return int(np.argmax(self.probabilities)) if self.read_as is None else self.read_as

    @property
    def confidence(self) -> float:
        """The network's probability of its answer."""
        return float(self.probabilities[self.answer])

    @property
    def ranked(self) -> list[int]:
        """The ten digits, its answer first, then the others from the likeliest down."""
        return [self.answer, *(int(d) for d in np.argsort(self.probabilities)[::-1] if d != self.answer)]

    @property
    def runner_up(self) -> int:
        """The likeliest digit other than its answer."""
        return self.ranked[1]

    @property
    def digit_shaped(self) -> bool:
        """Whether the letter detector is sure it is a digit (novelty.DIGIT_SHAPED); never without
        a detector (letter_like -inf)."""
        return -np.inf < self.letter_like < -novelty.DIGIT_SHAPED

    @property
    def letter_shaped(self) -> bool:
        """Whether the letter detector, alone, finds it shaped like a letter or a symbol rather than
        a digit (above its threshold: is_digit's bar for a lone piece)."""
        return self.letter_like > 0


class Reader:
    """The network with given weights and, when saved beside them, its digit stats."""

    def __init__(self, weights: Path):
        from mnist_cnn.network import load_model, with_features  # TensorFlow: only now

        network = load_model(weights)
        self.model = with_features(network)
        self.kernel, self.bias = (np.asarray(w, np.float64) for w in network.layers[-1].get_weights())
        self.stats = novelty.load_stats(novelty.stats_path(weights))

    def read(self, digits: list[Digit]) -> list[Piece]:
        """Each piece's probabilities and novelty, in one pass of the network (pieces of many
        pictures at once; judge() then decides per picture which are digits)."""
        if not digits:
            return []
        everything = digits + [half for d in digits if d.halves for half in d.halves]
        everything += [stretch for d in digits if d.stretches for _, _, stretch in d.stretches]
        everything += [part for d in digits if d.cuts for _, _, part in d.cuts]
        images = np.stack([d.image for d in everything])
        features, probabilities = self.network_pass(images)
        far, letter_like = np.zeros(len(everything)), np.full(len(everything), -np.inf)
        if self.stats is not None:
            distance = novelty.distances(self.stats.means, self.stats.precision, features)
            far = distance / self.stats.threshold
            letter_like = novelty.letter_margins(self.stats, features, probabilities, distance)
        solid = (widths_spanned(images) < SOLID).tolist()
        loops = closed_loops(images).tolist()
        read = iter(
            [
                Piece(d, p, novelty=n, letter_like=like, solid=blob, loops=closed)
                for d, p, n, like, blob, closed in zip(
                    everything, probabilities, far.tolist(), letter_like.tolist(), solid, loops, strict=True
                )
            ]
        )
        pieces = [next(read) for _ in digits]
        pieces = [replace(p, halves=tuple(next(read) for _ in p.digit.halves)) if p.digit.halves else p for p in pieces]
        pieces = [
            replace(p, stretches=tuple((i, j, next(read)) for i, j, _ in p.digit.stretches)) if p.digit.stretches else p
            for p in pieces
        ]
        return [
            replace(p, cuts=tuple((i, j, next(read)) for i, j, _ in p.digit.cuts)) if p.digit.cuts else p
            for p in pieces
        ]

    def network_pass(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The 128-unit layer's activations and the ten probabilities of each image, BATCH at a
        time, the model called as a function (network.features_and_probabilities, for model.py's
        tens of thousands, goes through predict())."""
        passes = [self.model(images[i : i + BATCH], training=False) for i in range(0, len(images), BATCH)]
        return tuple(np.concatenate([np.asarray(p[k], np.float64) for p in passes]) for k in (0, 1))

    def why(self, piece: Piece) -> Piece:
        """The piece with its saliency: occlusion sensitivity, OCCLUDER x OCCLUDER patches of ink
        wiped out STRIDE pixels apart, each scored by how much it lowers the answer's margin over
        the runner-up (in logits, which do not saturate at 100% as probabilities do), and spread
        over its pixels. Positive: ink that made the answer; negative: ink that argued against it.
        It asks the network itself, in one batch of 169 images (a few milliseconds), where a
        gradient would only describe it near the picture as drawn."""
        image = piece.digit.image[..., 0]
        covered = []
        for top in range(0, FRAME - OCCLUDER + 1, STRIDE):
            for left in range(0, FRAME - OCCLUDER + 1, STRIDE):
                wiped = image.copy()
                wiped[top : top + OCCLUDER, left : left + OCCLUDER] = 0
                covered.append((top, left, wiped))
        batch = np.stack([image] + [w for _, _, w in covered])[..., None]
        features, _ = self.model(batch, training=False)
        logits = np.asarray(features, np.float64) @ self.kernel + self.bias
        others = np.delete(logits, piece.answer, axis=1).max(axis=1)
        margin = logits[:, piece.answer] - others
        total, count = np.zeros((FRAME, FRAME)), np.zeros((FRAME, FRAME))
        for (top, left, _), drop in zip(covered, margin[0] - margin[1:], strict=True):
            total[top : top + OCCLUDER, left : left + OCCLUDER] += drop
            count[top : top + OCCLUDER, left : left + OCCLUDER] += 1
        # Only ink can push: where a patch wiped nothing, it changed nothing.
        return replace(piece, why=np.where(image > 0, total / np.maximum(count, 1), 0.0))


def read_picture(reader: Reader, img: Image.Image, invert: str = "auto") -> list[Piece]:
    """The pieces of one picture as predict.py reads it (read_pictures)."""
    [pieces] = read_pictures(reader, [read_digits(img, invert)])
    return pieces


def read_pictures(reader: Reader, pictures: list[list[Digit]]) -> list[list[Piece]]:
    """The pieces of each picture (its digits, as pictures.read_digits finds them) judged, or,
    where they may also be read turned level, the better reading (read_better); and looked at
    again, cut into digits that touch, where its ink is one wide group read as no digit
    (worth_cutting). All the pictures go through the network in one pass, and those looked at
    again in a second: on bench/predict.py's 1,000 pictures, reading the 105 second looks one
    picture at a time took 1.1 s, in one pass 0.1 s (2-core AMD EPYC)."""
    turned = [k for k, digits in enumerate(pictures) if digits and digits[0].turned]
    everything = [d for digits in pictures for d in digits] + [d for k in turned for d in pictures[k][0].turned]
    read = iter(reader.read(everything))
    judged = [judge([next(read) for _ in digits]) for digits in pictures]
    for k in turned:
        judged[k] = read_better(judged[k], judge([next(read) for _ in pictures[k][0].turned]))
    again = [k for k, pieces in enumerate(judged) if worth_cutting(pieces)]
    cut = [[cut_apart(d) if d.ink is not None else d for d in pictures[k]] for k in again]
    reread = iter(reader.read([d for digits in cut for d in digits]))
    for k, digits in zip(again, cut, strict=True):
        judged[k] = judge([next(reread) for _ in digits])
    return judged


def read_better(as_it_lies: list[Piece], turned: list[Piece]) -> list[Piece]:
    """Of a picture's pieces judged as it lies and turned level (pictures.Digit.turned), those
    whose digits score more (reading_score): as it lies where they score the same, or where
    turned it reads fewer digits. Each digit costs some score, so fewer would often score more:
    turned, two numbers one under another read as one line of 3 digits rather than 10. For the
    same reason, where as it lies the picture reads one digit and turned several, each of them
    is weighed against the one (their mean score): a tilted number's digits, one below the next,
    overlap left to right and as it lies are one group, which the network may read as one digit
    (a 352 as an 8 at 99%): of bench/multidigit.py --tilt's 1,200 numbers, 9 more read exactly
    with each of two seeds' weights, and no other bench lost one. Where as it lies it reads
    several, turned more are summed: a digit the turn cuts in two (a 6 read 10) scores more as
    two, and by the mean 1 or 2 of MNIST's tilted numbers were lost."""
    lying, level = count_digits(as_it_lies), count_digits(turned)
    if level < lying:
        return as_it_lies
    weight = level if lying == 1 < level else 1
    return turned if reading_score(turned) / weight > reading_score(as_it_lies) else as_it_lies


def count_digits(pieces: list[Piece]) -> int:
    return sum(p.is_digit for p in pieces)


def unmarked(pieces: list[Piece]) -> list[Piece]:
    """A picture's pieces less its marks (pictures.Digit.mark: a dash, a dot beside the digits)."""
    return [p for p in pieces if not p.digit.mark]


def reading_score(pieces: list[Piece]) -> float:
    """How well a picture's judged pieces read as digits: their scores (stretch_score) added up,
    marks left out; -inf where one is not a digit, or none is."""
    digits = unmarked(pieces)
    if not digits or not all(p.is_digit for p in digits):
        return -np.inf
    return sum(stretch_score(p) for p in digits)


def worth_cutting(pieces: list[Piece]) -> bool:
    """Whether a picture's judged pieces are one group (besides marks) read as no digit, at least
    WIDE_ENOUGH times as wide as it is tall, that may be cut into digits (its Digit.ink kept):
    maybe a number whose digits all touch."""
    groups = unmarked(pieces)
    if len(groups) != 1 or groups[0].is_digit or groups[0].digit.ink is None:
        return False
    left, top, right, bottom = groups[0].digit.box
    return right - left >= WIDE_ENOUGH * (bottom - top)


def judge(pieces: list[Piece]) -> list[Piece]:
    """The pieces of one picture, each marked a digit or not (verdicts), each digit then read as
    read_by_its_loops has it."""
    return [read_by_its_loops(p) if p.is_digit else p for p in verdicts(pieces)]


def read_by_its_loops(piece: Piece) -> Piece:
    """A digit the network reads short of LOOPS_SAY as one its ink's loops rule out, its runner-up
    one they fit, read as the runner-up (Piece.read_as): a 9 that closes no loop, a 1 next (a 1
    with a long flag, as much of Europe writes it, which the network, taught only MNIST's 1s, takes
    for a 9 without its loop); a 5 that closes one, a 6 next (a 6 whose top the network took for a
    5's). No other pair paid: a 9 and a 4 may both close a loop; a 9 with no loop, a 3 next, was
    more often a 3, but read no more numbers and cost MNIST test 1 to 3 of its 9s."""
    pair = tuple(piece.ranked[:2])
    ruled_out = (pair == (9, 1) and piece.loops == 0) or (pair == (5, 6) and piece.loops > 0)
    return replace(piece, read_as=pair[1]) if ruled_out and piece.confidence < LOOPS_SAY else piece


def verdicts(pieces: list[Piece]) -> list[Piece]:
    """The pieces of one picture, each marked a digit or not: a lone piece beyond its threshold (a
    picture's one_digit, beyond it swayed) is not a digit, in a number one beyond IN_NUMBER times
    it (or, if SMALL beside the digits of its line, its threshold), unless the network is
    CONFIDENT of it. A mark beside the digits (pictures.Digit.mark: a dash, a dot) is never one.
    A lone piece that is no digit, where its ways to cut it into digits that touch were read
    (read_pictures), is read as best_cut's way. A number that reads as a word (mostly_strange:
    most of its pieces no digit alone, or letters among its digits) is no digit at all.
    A group of digits that touch is first read as the digits best_stretches chooses of it."""
    width = digits_width(pieces)
    single = one_digit(pieces)
    pieces = [digit for p in pieces for digit in (best_stretches(p, width) if p.stretches else [p])]
    alone = len(unmarked(pieces)) == 1
    limit = ALONE if alone else IN_NUMBER
    chosen = [half for p in pieces for half in (p.halves if read_as_two(p, limit, alone) else [p])]
    judged = [
        replace(p, is_digit=not p.digit.mark and is_digit(p, ALONE if small_beside(p, chosen) else limit, single))
        for p in chosen
    ]
    if not alone and mostly_strange(judged):  # a word, not a number
        return [replace(p, is_digit=False) for p in judged]
    if not alone:
        judged = without_its_unit(judged)
    lone = unmarked(pieces)[0] if alone else None
    if lone is None or not lone.cuts or any(p.is_digit for p in judged):
        return judged
    way = best_cut(lone)
    return judged if way is None else [replace(p, is_digit=True) for p in way] + [p for p in judged if p.digit.mark]


def mostly_strange(pieces: list[Piece]) -> bool:
    """Whether a picture's pieces, marks left out, read as a word: more than half of them would
    each be no digit alone (is_digit at ALONE), or at least two and WORD_SHARE of them are shaped
    like letters (the letter detector's verdict alone), and not all after the others, as a unit's
    letters are (12cm, 30km). A word's letters mostly pass for digits in a number's looser limits,
    and those like no digit fall among those like one (hello: h and e; l, l and o pass for 1, 1
    and 0), where a number's digits seldom fail so, and what else a number holds lies after its
    digits or is one sign (4+7, $5).

    "hello", "cat" and "Max" in 8 handwriting fonts were refused 1 and 2 times in 24 (weights of
    seeds 1 and 2; hello read 48660 at 99.4%), with more than half 10 and 7 times; bench/notdigits.py's
    photos of things (a logo's letters) 40% rather than 27%. Of bench/multidigit.py's level and
    touching numbers of MNIST's, the fonts' and real writers' digits (1,800 numbers), more than
    half refuses 2 with seed 1 (a real writer's), none with seed 2. Of bench/notdigits.py's 192
    words it refuses 47.9% / 30.2%, with two letters among the others 54.2% / 38.0%, and none
    more of those numbers, nor of 900 tilted ones, nor of its numbers with a mark, a unit or a
    sign between two digits. Counting there every piece that would be no digit alone, 59.9% /
    41.7%, but two of the fonts' tilted numbers were refused, their 0s turned level too far out.
    """
    read = unmarked(pieces)
    if sum(not is_digit(p, ALONE) for p in read) > len(read) / 2:
        return True
    lettered = [p.letter_shaped for p in read]
    count = sum(lettered)
    return count >= max(2, WORD_SHARE * len(read)) and not all(lettered[-count:])


def without_its_unit(pieces: list[Piece]) -> list[Piece]:
    """A number's judged pieces, the letters of a unit written after its digits (12cm) no digits:
    where the last piece (of the last line) is shaped like a letter, and so no digit, the pieces
    of its line before it less than TALL of the height of the line's digits (a c read as a 6),
    back to the first taller one, and leaving at least one digit before them. A unit's short
    letters pass for digits in a number's looser limits; its last, an m or a g, seldom does."""
    read = unmarked(pieces)
    if not read or read[-1].is_digit or not read[-1].letter_shaped:
        return pieces
    last = read[-1]
    line = [p for p in read if p.digit.line == last.digit.line]
    digits = [p for p in line if p.is_digit]
    if len(digits) < 2:
        return pieces
    short = TALL * float(np.median([height(p) for p in digits]))
    unit: list[Piece] = []
    for p in reversed(line[:-1]):
        if height(p) >= short or p is digits[0]:
            break
        unit.append(p)
    left_out = {id(p) for p in unit}
    return [replace(p, is_digit=False) if id(p) in left_out else p for p in pieces]


def best_stretches(piece: Piece, width: float | None = None) -> list[Piece]:
    """The digits of a group of digits that touch (pictures.Digit.stretches, read): the stretches,
    side by side from its left edge to its right, whose scores (stretch_score, less too_wide of
    the `width` of the number's other digits) add up to the most. The piece itself where no
    stretches run the whole way, or where two side by side read 1: the strokes of an m, an n, a u
    or a w, which 1s written apart do not join."""
    digits = best_path(piece.stretches, last_cut(piece.stretches), width)
    if digits is None or any(a.answer == b.answer == 1 for a, b in pairwise(digits)):
        return [piece]
    return digits


def last_cut(stretches: tuple[tuple[int, int, Piece], ...]) -> int:
    return max(j for _, j, _ in stretches)


def best_path(
    stretches: tuple[tuple[int, int, Piece], ...], ends: int, width: float | None = None
) -> list[Piece] | None:
    """The stretches (first cut, last cut, read) side by side from cut 0 to cut `ends` whose
    scores (stretch_score, less too_wide of `width`) add up to the most; None where none do."""
    best, back = np.full(ends + 1, -np.inf), [None] * (ends + 1)
    best[0] = 0.0
    for i, j, stretch in sorted(stretches, key=lambda s: s[1]):
        score = best[i] + stretch_score(stretch) - too_wide(stretch, width)
        if score > best[j]:
            best[j], back[j] = score, (i, stretch)
    if back[ends] is None:
        return None
    digits, j = [], ends
    while j:
        j, stretch = back[j]
        digits.append(stretch)
    return digits[::-1]


def stretch_score(stretch: Piece) -> float:
    """How well a stretch of a group of digits that touch reads as one digit: SURE times the log of
    the network's confidence, less NOVELTY_COST for each threshold's distance it lies from the
    digits (novelty.py), its letter detector's log-odds above 0, and DIGIT_COST."""
    sure = SURE * float(np.log(max(stretch.confidence, 1e-9)))
    return sure - NOVELTY_COST * stretch.novelty - max(0.0, stretch.letter_like) - DIGIT_COST


def digits_width(pieces: list[Piece]) -> float | None:
    """The median width of a picture's digits that lie apart (no stretches), marks and 1s left
    out; None where there are fewer than two."""
    widths = [piece_width(p) for p in pieces if not (p.digit.mark or p.stretches or p.answer == 1)]
    return float(np.median(widths)) if len(widths) >= 2 else None


def too_wide(stretch: Piece, width: float | None) -> float:
    """WIDTH_COST for each `width` (digits_width) a stretch is wider than WIDER times it; 0 without one."""
    return 0.0 if width is None else WIDTH_COST * max(0.0, piece_width(stretch) / width - WIDER)


def best_cut(lone: Piece) -> list[Piece] | None:
    """The digits of a lone group read as no digit, cut (its cuts: stretches that may be digits that
    touch): the best path (best_path) through those that are sure digits (sure_part), unless
    they are all 1s (an m, an N cut into its strokes). None where there is no such path."""
    sure = tuple(cut for cut in lone.cuts if sure_part(cut[2]))
    digits = best_path(sure, last_cut(lone.cuts))
    return digits if digits and any(p.answer != 1 for p in digits) else None


def sure_part(piece: Piece) -> bool:
    """Whether a part cut from a lone group is surely a digit: the network at least SURE_HALF sure,
    within CUT_NEAR of the threshold, and the letter detector CUT_SHAPED sure it is shaped like one."""
    return piece.confidence > SURE_HALF and piece.novelty <= CUT_NEAR and piece.letter_like <= -CUT_SHAPED


def small_beside(piece: Piece, pieces: list[Piece]) -> bool:
    """Whether a piece is less than SMALL times as tall as the other digits of its line (their
    median) and at most SQUARE times as wide as it is tall, or less than TINY times as tall."""
    others = [height(p) for p in pieces if p is not piece and not p.digit.mark and p.digit.line == piece.digit.line]
    if not others:
        return False
    left, _, right, _ = piece.digit.box
    share = height(piece) / max(float(np.median(others)), 1.0)
    return (share < SMALL and right - left <= SQUARE * height(piece)) or share < TINY


def height(piece: Piece) -> int:
    _, top, _, bottom = piece.digit.box
    return bottom - top


def piece_width(piece: Piece) -> int:
    left, _, right, _ = piece.digit.box
    return right - left


def one_digit(pieces: list[Piece]) -> bool:
    """Whether a picture's pieces, marks left out, are one that cannot be digits touching: no
    halves, cuts nor stretches to read it as two or more."""
    groups = unmarked(pieces)
    return len(groups) == 1 and not (groups[0].halves or groups[0].cuts or groups[0].stretches)


def is_digit(piece: Piece, limit: float, sway: bool = False) -> bool:
    """Within `limit` of the digits (or, asked to `sway`, swayed's), or, however far out, read
    CONFIDENT-ly, or digit_shaped short of novelty.FAR_OUT and read at least novelty.SHAPED_SURE;
    and not shaped like a letter, however sure the network is (it has seen no letter to be unsure
    of), in a number (a `limit` beyond ALONE) only LETTER_IN_NUMBER further out; and not a SOLID
    blob, nor a group with more than ENCLOSED of its ink inside its loops, nor one loop less ROUND
    than a 0's, nor, judged as a lone piece, missing_its_loop."""
    letter_limit = 0.0 if limit <= ALONE else LETTER_IN_NUMBER
    shaped = piece.digit_shaped and piece.novelty <= novelty.FAR_OUT and piece.confidence >= novelty.SHAPED_SURE
    reach = swayed(piece) if sway else limit
    near = piece.novelty <= reach or piece.confidence >= novelty.CONFIDENT or shaped
    drawn = piece.digit.enclosed > ENCLOSED or piece.digit.roundness < ROUND  # a face, a triangle, a heart
    loop_missing = limit <= ALONE and missing_its_loop(piece)
    return near and piece.letter_like <= letter_limit and not (piece.solid or drawn or loop_missing)


def swayed(piece: Piece) -> float:
    """How far out a picture's one digit may lie and be one: ALONE swayed by the letter detector
    (DOUBTED, SWAYED) up to where the piece is digit_shaped (beyond, FAR_OUT and SHAPED_SURE bound
    it); ALONE itself where there is no detector (letter_like -inf)."""
    if piece.letter_like == -np.inf:
        return ALONE
    sure = min(max(0.0, -piece.letter_like), novelty.DIGIT_SHAPED)
    return ALONE * DOUBTED * float(np.exp(SWAYED * sure))


def missing_its_loop(piece: Piece) -> bool:
    """Whether a piece read as a digit that closes a loop (LOOPED) closes none, the network short
    of CONFIDENT and the letter detector not sure it is shaped like a digit. Never without a
    letter detector (letter_like -inf): weights without their stats read every mark as a digit."""
    judged = piece.letter_like > -np.inf
    doubted = piece.confidence < novelty.CONFIDENT and not piece.digit_shaped
    return judged and piece.answer in LOOPED and piece.loops == 0 and doubted


def read_as_two(piece: Piece, limit: float, alone: bool) -> bool:
    """Whether a group of ink that may be two digits touching (pictures.Digit.halves) is read
    as two: when the network is at least SURE_HALF sure of each half, neither half lies further
    out than `limit`, and each is read surer than the whole or lies NEARER the digits than it.
    A group in a number that is no digit as a whole is two wherever the network is SURE_HALF
    sure of each half and each is a digit: the whole would be left out, and its halves need not
    be read surer than it (a "91" that touches, the whole shaped like a letter, its 9 at 92%).
    A group `alone` in its picture is first read as one: only one that is no digit as a whole may
    be two (a wide 0 stays a 0), unless its halves are pieces apart rather than a cut (a small 9
    beside a tall 1: "91", which the whole read as 4 at 80%); then only if surer than the whole.
    A NARROW group (digits.Halves) is two only where, as a whole, it lies further out than a
    lone piece may. A ONE (a 1 pressed against the digit beside it) is two only
    where one half reads as a 1 and the network is CONFIDENT of both: on bench/multidigit.py's
    numbers, the 1s and digits so cut off were read at 99.95% or more, the digits cut wrongly
    (a 6's straight side, a 4's stem) at 99.5% or less. A MARKED one (a lone digit and the
    marks beside it: -7) is the digit alone only where, alone, it is one and, whole, it is no
    digit or the same digit lying more than twice as far out (1/NEARER): a minus sign the
    network reads past."""
    if not piece.halves:
        return False
    made = piece.digit.halves_are
    if made == Halves.MARKED:  # the digit and its marks: their "halves" are the digit alone and them
        digit = piece.halves[0]
        read_past = digit.answer == piece.answer and digit.novelty < NEARER * piece.novelty
        return is_digit(digit, limit) and (not is_digit(piece, limit) or read_past)
    if made == Halves.ONE:  # the whole may read surely as the digit alone: a 4 with its 1 beside it is a 4
        return 1 in [h.answer for h in piece.halves] and all(h.confidence >= novelty.CONFIDENT for h in piece.halves)
    if made == Halves.NARROW and piece.novelty <= ALONE:
        return False
    whole_first = alone and is_digit(piece, limit)
    if whole_first and made != Halves.APART:
        return False
    if not alone and not is_digit(piece, limit):  # left out whole: no need to read better than it
        return all(h.confidence > SURE_HALF and is_digit(h, limit) for h in piece.halves)
    return all(
        h.confidence > SURE_HALF
        and h.novelty <= limit
        and (h.confidence > piece.confidence or (not whole_first and h.novelty < NEARER * piece.novelty))
        for h in piece.halves
    )
