"""Numbers: every digit of a number, found, split and ordered, line by line; each output format."""

import json
from dataclasses import replace
from itertools import pairwise

import numpy as np
import pytest
from PIL import Image, ImageDraw

import predict
from mnist_cnn import pictures
from mnist_cnn.batches import prepare
from mnist_cnn.digits import PAIR_ELONGATED, STRETCH, Halves, pieces_tilt, places_between, writing_tilt

SEVEN = [(0.2, 0.15), (0.85, 0.15), (0.4, 0.9)]
ONE = [(0.5, 0.1), (0.5, 0.9)]
FOUR = [(0.6, 0.1), (0.1, 0.65), (0.9, 0.65)], [(0.65, 0.35), (0.65, 0.95)]


def write(shapes: list, size=(120, 100), gap=30, climb=0, width=9) -> Image.Image:
    """Dark digits on white paper, left to right, each drawn as polylines in a size[0] x size[1] cell
    (`shapes`: for each digit, its strokes, each a list of (x, y) in 0..1), `gap` pixels apart,
    each one `climb` pixels higher than the one before."""
    w, h = size
    page = Image.new("L", (len(shapes) * (w + gap) + 60, h + 60 + abs(climb) * len(shapes)), 255)
    draw = ImageDraw.Draw(page)
    for n, strokes in enumerate(shapes):
        left, top = 30 + n * (w + gap), 30 + max(0, -climb) * n + max(0, climb) * (len(shapes) - 1 - n)
        for stroke in strokes:
            draw.line([(left + x * w, top + y * h) for x, y in stroke], fill=0, width=width, joint="curve")
    return page


def lefts(digits: list) -> list[int]:
    return [d.box[0] for d in digits]


def test_a_single_digit_is_one_digit_as_before():
    img = write([[SEVEN]])
    digits = pictures.read_digits(img)
    assert len(digits) == 1
    np.testing.assert_array_equal(digits[0].image, pictures.preprocess(img))


def test_every_digit_of_a_number_is_found_left_to_right_each_in_its_own_frame():
    img = write([[SEVEN], [ONE], [*FOUR], [SEVEN]])
    digits = pictures.read_digits(img)
    assert len(digits) == 4
    assert lefts(digits) == sorted(lefts(digits))
    for digit in digits:
        assert digit.image.shape == (28, 28, 1) and digit.image.max() > 200
        rows, _ = np.nonzero(digit.image[..., 0] > 50)
        assert rows.max() - rows.min() + 1 >= 18  # each fills MNIST's 20-pixel box in height
    # Each box holds its own digit: boxes follow one another without overlapping.
    assert all(a.box[2] <= b.box[0] for a, b in pairwise(digits))


def test_narrow_gaps_between_digits_still_separate_them():
    assert len(pictures.read_digits(write([[SEVEN], [SEVEN], [SEVEN]], gap=6))) == 3


def test_pieces_that_overlap_left_to_right_are_one_digit():
    # A 4 drawn in two strokes that do not meet, and a 7 with its bar drawn apart from its stem.
    apart_seven = [[(0.2, 0.1), (0.85, 0.1)], [(0.8, 0.25), (0.4, 0.9)]]
    digits = pictures.read_digits(write([list(FOUR), apart_seven]))
    assert len(digits) == 2


def one_hundred(second_zero: int) -> Image.Image:
    """100 drawn dark on white, its first 0 from x = 140 to 250, its second from `second_zero`."""
    img = Image.new("L", (400, 180), 255)
    draw = ImageDraw.Draw(img)
    draw.line([(60, 30), (60, 150)], fill=0, width=9)
    draw.ellipse((140, 30, 250, 150), outline=0, width=9)
    draw.ellipse((second_zero, 30, second_zero + 110, 150), outline=0, width=9)
    return img


def stretches_reading(digit, extents: list[tuple[int, int]]) -> bool:
    """Whether some stretches of a group (Digit.stretches), side by side from its first cut to its
    last, lie each within 8 pixels of one of `extents` (left, right), in order."""
    reach = {0: 0}  # cut index -> how many extents read so far
    for i, j, stretch in sorted(digit.stretches, key=lambda s: s[0]):
        if i in reach and reach[i] < len(extents):
            left, right = extents[reach[i]]
            if abs(stretch.box[0] - left) <= 8 and abs(stretch.box[2] - right) <= 8:
                reach[j] = max(reach.get(j, 0), reach[i] + 1)
    return reach.get(max(j for _, j, _ in digit.stretches)) == len(extents)


def test_two_digits_that_touch_in_a_number_are_kept_as_every_stretch_the_digits_may_be():
    # The two 0s' rims touching at one point: the group keeps the stretches between its cut
    # places, among them each 0, for reading.best_stretches to choose from; none of them wider
    # than STRETCH times the line's height but where no cut place lies between.
    one, pair = pictures.read_digits(one_hundred(246))
    assert one.stretches is None and pair.halves is None
    assert stretches_reading(pair, [(139, 248), (248, 358)])
    height = pair.box[3] - pair.box[1]
    assert all(s.box[2] - s.box[0] <= STRETCH * height or j == i + 1 for i, j, s in pair.stretches)
    assert all(s.image.shape == (28, 28, 1) and s.image.max() > 200 for _, _, s in pair.stretches)


def test_three_digits_that_touch_in_a_number_are_kept_as_stretches_among_them_each_digit():
    img = one_hundred(246)
    ImageDraw.Draw(img).ellipse((352, 30, 462, 150), outline=0, width=9)  # a third 0, touching the second
    one, zeros = pictures.read_digits(img.crop((0, 0, 500, 180)))
    assert one.stretches is None
    assert stretches_reading(zeros, [(139, 248), (248, 354), (354, 400)])  # the third cut off at 400


def test_a_wide_digit_in_a_number_whose_middle_one_stroke_crosses_is_kept_whole_and_cut():
    # 10, its 0 open at the top: its middle columns cross the bottom stroke alone, as where two
    # digits touch. Kept whole and, for reading.best_stretches to choose, cut in two.
    img = Image.new("L", (330, 180), 255)
    draw = ImageDraw.Draw(img)
    draw.line([(60, 30), (60, 150)], fill=0, width=9)
    draw.arc((140, 30, 255, 150), start=300, end=240, fill=0, width=9)
    one, zero = pictures.read_digits(img)
    assert one.stretches is None
    assert stretches_reading(zero, [(139, 257)])
    assert any(abs(s.box[2] - 198) <= 20 and s.box[0] == zero.box[0] for _, _, s in zero.stretches)


def test_two_digits_joined_by_more_than_one_stroke_in_a_number_are_kept_whole_and_cut():
    # The two 0s overlapping by half: as wide as one wide digit, kept whole and cut where their
    # rims cross.
    one, pair = pictures.read_digits(one_hundred(185))
    assert one.stretches is None
    assert stretches_reading(pair, [(139, 297)])
    assert stretches_reading(pair, [(139, 216), (216, 297)])


def test_letters_shorter_than_the_digits_beside_them_are_not_kept_as_digits_that_touch():
    # 12m, the m's strokes a 1 and two arches that read as 7s, as wide as two digits that touch
    # but shorter than the digits, as a unit's letters are: one group, read whole.
    m = [[(0.05, 0.9), (0.05, 0.55)], [(0.05, 0.6), (0.25, 0.5), (0.5, 0.6), (0.5, 0.9)]]
    m += [[(0.5, 0.6), (0.75, 0.5), (0.95, 0.6), (0.95, 0.9)]]  # from 0.5 to 0.9 of the digits' 0.1 to 0.9
    _, two, letter = pictures.read_digits(write([[ONE], [SEVEN], m], gap=20))
    assert letter.stretches is None and letter.box[0] > two.box[2]
    taller = write([[ONE], [SEVEN], [[(x, 2 * y - 0.9) for x, y in stroke] for stroke in m]], gap=20)
    assert pictures.read_digits(taller)[-1].stretches is not None, "as tall as the digits: maybe digits"


def test_two_digits_that_touch_leaning_into_each_other_are_parted_along_the_gap_not_down_a_column():
    # Two strokes slanted like a hand's, 10 pixels apart and joined at mid height: every column
    # between them crosses the top of one or the foot of the other, so only a way that leans with
    # the gap parts them, crossing the join alone.
    own = np.zeros((120, 80), bool)
    rows = np.arange(120)
    first = 20 + np.round(0.12 * (119 - rows)).astype(int)  # its left edge, row by row
    for row, left in zip(rows, first, strict=True):
        own[row, left : left + 6] = own[row, left + 16 : left + 22] = True
    own[58:62, first[60] : first[60] + 22] = True
    columns = np.arange(80)
    left_stroke, right_stroke = own & (columns < first[:, None] + 6), own & (columns >= first[:, None] + 16)
    whole = places_between(own, [first.min(), first.max() + 22])[0]
    first_part, second_part = places_between(own, [first.min(), 38, first.max() + 22])
    for part, stroke, other in ((first_part, left_stroke, right_stroke), (second_part, right_stroke, left_stroke)):
        top, bottom, left, right = part.box
        mine = np.zeros_like(own)
        mine[top:bottom, left:right] = part.own
        assert (mine & stroke).sum() == stroke.sum() and not (mine & other).any()
    assert whole.own.sum() == own.sum()


def test_two_digits_that_touch_and_overlap_in_a_number_are_kept_both_ways_as_narrow():
    # 100, its 0s leaning into each other: together only 0.8 times as wide as the line is tall,
    # narrower than a wide digit. Kept both ways, marked narrow for reading.judge().
    img = Image.new("L", (330, 180), 255)
    draw = ImageDraw.Draw(img)
    draw.line([(60, 30), (60, 150)], fill=0, width=9)
    draw.ellipse((150, 30, 215, 150), outline=0, width=9)
    draw.ellipse((185, 30, 250, 150), outline=0, width=9)
    one, pair = pictures.read_digits(img)
    assert one.halves is None
    assert pair.halves is not None and pair.halves_are == Halves.NARROW
    assert 0.7 * 120 < pair.box[2] - pair.box[0] < 0.9 * 120


def narrow_zeros(count: int, width: int, step: int) -> Image.Image:
    """`count` 0s 120 pixels tall and `width` wide, each `step` to the right of the one before,
    so that each touches the next: a long group of narrow digits, dark on white."""
    img = Image.new("L", (180 + step * count, 180), 255)
    draw = ImageDraw.Draw(img)
    for k in range(count):
        draw.ellipse((60 + k * step, 30, 60 + k * step + width, 150), outline=0, width=9)
    return img


@pytest.mark.parametrize("count, width, step", [(6, 54, 50), (5, 60, 55)], ids=["six 0s", "five 0s"])
def test_a_long_group_of_narrow_digits_that_touch_holds_each_digit_among_its_stretches(count, width, step):
    # Digits half as wide as tall: the group's width holds fewer digits of DIGIT_WIDTH than it
    # has, so a count from its width would be short; its stretches still hold each 0.
    [zeros] = pictures.read_digits(narrow_zeros(count, width, step))
    extents = [(60 + k * step, 60 + k * step + step) for k in range(count)]
    extents[-1] = (extents[-1][0], 60 + (count - 1) * step + width)
    assert stretches_reading(zeros, extents)


def test_a_lone_group_cut_on_a_second_look_has_every_stretch_even_far_from_equal_parts(tmp_path, monkeypatch):
    # 100 in one stroke: a 1 touching the first of two round 0s, which touch. Cut into equal
    # thirds, the first cut would fall inside the first 0; the stretches that may be its digits
    # hold the 1 and each 0, each as tall as the group, and not the whole.
    img = Image.new("L", (420, 180), 255)
    draw = ImageDraw.Draw(img)
    draw.line([(130, 30), (130, 150)], fill=0, width=9)
    draw.ellipse((134, 30, 244, 150), outline=0, width=9)
    draw.ellipse((240, 30, 350, 150), outline=0, width=9)
    [lone] = pictures.read_digits(img)
    assert lone.ink is not None and lone.cuts is None, "its ink kept, cut only on a second look"
    lone = pictures.cut_apart(lone)
    assert stretches_reading(replace(lone, stretches=lone.cuts), [(126, 136), (136, 244), (244, 355)])
    assert all(cut.box[3] - cut.box[1] >= 0.75 * (lone.box[3] - lone.box[1]) for _, _, cut in lone.cuts)
    assert all(cut.image.shape == (28, 28, 1) and cut.image.max() > 200 for _, _, cut in lone.cuts)
    assert (lone.box[0], lone.box[2]) not in {(cut.box[0], cut.box[2]) for _, _, cut in lone.cuts}
    # As predict.py reads a file twice as big, decoded at half its size: the same stretches, in
    # the file's own pixels.
    monkeypatch.setattr(pictures, "WORKING_SIZE", 420)
    img.resize((840, 360), Image.Resampling.NEAREST).save(tmp_path / "hundred.png")
    [again], _ = prepare(tmp_path / "hundred.png", "auto", keep_picture=False)
    again = pictures.cut_apart(again)
    assert [(i, j, cut.box) for i, j, cut in again.cuts] == [
        (i, j, tuple(2 * v for v in cut.box)) for i, j, cut in lone.cuts
    ]


def drawn(*strokes: list[tuple[int, int]]) -> Image.Image:
    """Strokes (in pixels) dark on white, 330 x 180."""
    img = Image.new("L", (330, 180), 255)
    draw = ImageDraw.Draw(img)
    for stroke in strokes:
        draw.line(stroke, fill=0, width=9, joint="curve")
    return img


SEVEN_AT_LEFT = [(40, 30), (110, 30), (65, 150)]
# 41, the 4's bar running into the 1: one group no wider than a digit (0.6 times its height).
FOUR_AND_ONE = [(215, 30), (170, 110), (240, 110)], [(220, 60), (220, 150)], [(244, 30), (244, 150)]


@pytest.mark.parametrize("before", [[SEVEN_AT_LEFT], []], ids=["in a number", "alone"])
def test_a_1_pressed_against_the_digit_beside_it_is_kept_both_ways_as_a_one(before):
    # Read whole and, for reading.judge() to choose, as the 4 and the 1, cut where they touch.
    *_, group = pictures.read_digits(drawn(*before, *FOUR_AND_ONE))
    assert group.halves is not None and group.halves_are == Halves.ONE
    four_half, one_half = group.halves
    assert four_half.box[0] == group.box[0] and one_half.box[2] == group.box[2]
    assert 232 <= four_half.box[2] == one_half.box[0] <= 242, "cut where the bar meets the 1"


@pytest.mark.parametrize(
    "strokes",
    [
        # A 9 whose stem runs straight down its right side: no 1 beside it, nor a sliver of its stem.
        ([(180, 30), (150, 45), (150, 80), (180, 95), (210, 80), (212, 45), (180, 30)], [(212, 40), (212, 150)]),
        # A 4 whose first stroke runs straight down its left side, for two thirds of its height.
        ([(170, 30), (170, 110), (240, 110)], [(220, 30), (220, 150)]),
    ],
    ids=["9 with a straight stem", "4 with a straight first stroke"],
)
def test_a_digit_with_a_straight_stroke_down_one_side_is_not_taken_for_a_1_beside_it(strokes):
    _, group = pictures.read_digits(drawn(SEVEN_AT_LEFT, *strokes))
    assert group.halves is None


@pytest.mark.parametrize(
    "stroke",
    [
        [(180, 30), (190, 140), (200, 150), (210, 140), (220, 30)],
        [(180, 30), (180, 140), (200, 150), (220, 140), (220, 30)],
    ],
    ids=["V", "U"],
)
def test_a_lone_letter_of_two_straight_strokes_is_not_taken_for_two_1s_pressed_together(stroke):
    # Its two strokes meet only at their feet; in a number, 1s may touch so.
    [group] = pictures.read_digits(drawn(stroke))
    assert group.halves is None


def test_two_digits_that_touch_alone_are_kept_both_ways():
    img = Image.new("L", (300, 180), 255)  # 00: two 0s overlapping by half, and nothing else
    draw = ImageDraw.Draw(img)
    draw.ellipse((40, 30, 150, 150), outline=0, width=9)
    draw.ellipse((85, 30, 195, 150), outline=0, width=9)
    [pair] = pictures.read_digits(img)
    assert pair.halves is not None
    left, right = pair.halves
    assert left.box[0] == pair.box[0] and right.box[2] == pair.box[2] and left.box[2] <= right.box[0]


def test_two_pieces_apart_unlike_in_height_are_kept_both_ways_their_pieces_as_halves():
    # A small 7 beside a tall 1: as unlike in height as a digit broken in two, so read as one
    # digit and, for reading.judge() to choose, as the two pieces (a "31" or "91" as people write).
    img = Image.new("L", (330, 260), 255)
    draw = ImageDraw.Draw(img)
    draw.line([(40, 80), (130, 80), (70, 170)], fill=0, width=9, joint="curve")  # the 7: 90 high
    draw.line([(200, 30), (200, 230)], fill=0, width=9)  # the 1: 200 high
    [group] = pictures.read_digits(img)
    assert group.halves is not None and group.halves_are == Halves.APART
    left, right = group.halves
    assert abs(left.box[2] - 135) <= 6 and abs(right.box[0] - 195) <= 6, "each half one piece, cut at the gap"
    assert right.box[3] - right.box[1] > 190 and left.box[3] - left.box[1] < 110


def test_a_lone_digit_drawn_wide_is_not_split():
    img = Image.new("L", (300, 180), 255)
    ImageDraw.Draw(img).ellipse((40, 40, 240, 150), outline=0, width=9)  # a 0 drawn 1.8 times as wide as tall
    assert len(pictures.read_digits(img)) == 1


@pytest.mark.parametrize("slant", [0, 15, 35])
def test_a_long_line_or_an_equals_sign_is_one_mark_not_digits_that_touch(slant):
    for bars in ([0], [-30, 30]):  # a dash, an equals sign
        img = Image.new("L", (400, 400), 255)
        draw = ImageDraw.Draw(img)
        for offset in bars:
            draw.line([(80, 200 + offset), (320, 200 + offset)], fill=0, width=12)
        assert len(pictures.read_digits(img.rotate(slant, fillcolor=255))) == 1


def test_a_dash_and_a_dot_between_digits_are_marks_left_out_not_read():
    img = write([[SEVEN], [ONE]], gap=80)
    draw = ImageDraw.Draw(img)
    draw.line([(160, 85), (200, 85)], fill=0, width=9)  # a dash, between the two
    draw.ellipse((240, 120, 250, 130), fill=0)  # a dot
    found = pictures.read_digits(img)
    assert len([d for d in found if not d.mark]) == 2
    marks = sorted(d.box for d in found if d.mark)
    assert [box[0] < x < box[2] for box, x in zip(marks, (180, 245), strict=True)] == [True, True], "each where it lies"


def test_a_minus_sign_before_a_lone_digit_is_kept_both_ways_the_digit_alone_and_the_sign_a_mark():
    img = write([[SEVEN]])
    ImageDraw.Draw(img).line([(5, 80), (22, 80)], fill=0, width=9)  # "-7", the sign 8 pixels from the 7
    [digit] = pictures.read_digits(img)
    assert digit.halves_are == Halves.MARKED and digit.box[0] < 22, "whole, the sign in it, as a broken stroke might be"
    bare, sign = digit.halves
    assert sign.mark and not bare.mark
    assert bare.box[0] >= 28, "the 7 alone starts at the 7"
    np.testing.assert_array_equal(bare.image, pictures.preprocess(write([[SEVEN]])))


def test_a_comma_hanging_between_digits_is_a_mark_not_a_one():
    img = write([[ONE], [ONE], [ONE], [ONE]], size=(60, 100), gap=40)  # 1 111, digits from y = 30 to 130
    ImageDraw.Draw(img).line([(125, 110), (118, 150)], fill=0, width=9)  # a comma after the first
    found = pictures.read_digits(img)
    assert len([d for d in found if not d.mark]) == 4
    assert [d.box[0] < 130 < d.box[2] for d in found if d.mark] == [True]


@pytest.mark.parametrize("gap", [0, 25], ids=["touching", "apart"])
def test_an_underlined_number_is_read_as_its_digits_not_the_line(gap):
    img = write([[SEVEN], [ONE], [*FOUR], [SEVEN]])  # digits from y = 30 to 130
    ImageDraw.Draw(img).line([(15, 130 + gap), (img.width - 15, 130 + gap)], fill=0, width=7)
    digits = pictures.read_digits(img)
    assert len(digits) == 4
    assert all(d.box[3] - d.box[1] < 100 for d in digits), "each box its digit's, not reaching down to the line"


def test_digits_written_in_a_row_of_boxes_are_read_each_in_its_box():
    img = write([[SEVEN], [ONE], [*FOUR]])  # cells of 120 x 100 from x = 30, 150 apart, y = 30 to 130
    draw = ImageDraw.Draw(img)
    draw.rectangle((15, 12, 445, 148), outline=0, width=3)
    for x in (158, 308):  # the walls between the boxes
        draw.line([(x, 12), (x, 148)], fill=0, width=3)
    digits = pictures.read_digits(img)
    assert len(digits) == 3
    assert all(d.box[3] - d.box[1] < 110 for d in digits), "each digit's own box, not the form's"


def test_boxes_that_touch_are_read_each_with_its_digit_their_double_walls_no_1s():
    img = write([[SEVEN], [ONE], [*FOUR]])  # cells of 120 x 100 from x = 30, 150 apart, y = 30 to 130
    draw = ImageDraw.Draw(img)
    for left in (15, 160, 305):  # three boxes side by side, each wall two lines thick
        draw.rectangle((left, 12, left + 145, 148), outline=0, width=3)
    digits = pictures.read_digits(img)
    assert len(digits) == 3
    assert all(d.box[3] - d.box[1] < 110 for d in digits), "each digit's own box, not the form's"


def test_boxes_drawn_apart_one_left_blank_are_each_a_frame_the_blank_one_too():
    img = write([[SEVEN], [ONE], []])
    draw = ImageDraw.Draw(img)
    for left in (15, 165, 315):  # three boxes 6 pixels apart, the last one empty
        draw.rectangle((left, 12, left + 144, 148), outline=0, width=3)
    digits = pictures.read_digits(img)
    assert [d.box[2] < 160 for d in digits] == [True, False], "the 7 and the 1, no 0 for the blank box"


def test_a_number_photographed_askew_is_still_one_line():
    digits = pictures.read_digits(write([[SEVEN], [ONE], [SEVEN], [ONE]], climb=45))
    assert len(digits) == 4 and lefts(digits) == sorted(lefts(digits))


def on_lines(*lines: Image.Image, indent: int = 0) -> Image.Image:
    """Pictures of numbers (write()) one under another on one page, each `indent` pixels further right."""
    width, height = max(img.width for img in lines) + indent * len(lines), sum(img.height for img in lines)
    page = Image.new("L", (width, height), 255)
    for n, img in enumerate(lines):
        page.paste(img, (n * indent, sum(above.height for above in lines[:n])))
    return page


@pytest.mark.parametrize("indent", [0, 75], ids=["under", "between"])
def test_two_lines_of_digits_are_read_line_by_line_from_the_top(indent):
    # "between": each digit of the second line starts halfway between two of the first line's,
    # so left to right the two lines' digits alternate.
    digits = pictures.read_digits(on_lines(write([[SEVEN], [ONE], [SEVEN]]), write([[*FOUR], [ONE]]), indent=indent))
    assert [d.line for d in digits] == [0, 0, 0, 1, 1]
    assert lefts(digits[:3]) == sorted(lefts(digits[:3])) and lefts(digits[3:]) == sorted(lefts(digits[3:]))
    assert all(d.box[3] <= digits[3].box[1] for d in digits[:3]), "the first line's digits above the second's"


def test_a_digit_cut_in_pieces_by_squared_paper_is_one_digit_not_two_lines():
    img = write([[[(0.15, 0.1), (0.6, 0.1), (0.75, 0.2), (0.75, 0.55), (0.6, 0.95)]]], width=12)  # a 7
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 90, img.width, 98), fill=255)  # the paper's lines, taken out with the ink across them:
    draw.rectangle((114, 0, 122, img.height), fill=255)  # its foot lies below the rest, and beside it
    assert len(pictures.read_digits(img)) == 1


def test_a_digit_broken_into_pieces_one_below_another_is_one_digit_not_two_lines():
    # A 2 drawn with a pen that skips: its arc, a bit of its diagonal further left, its base.
    arc, diagonal, base = (
        [(0.55, 0.12), (0.7, 0.1), (0.78, 0.25), (0.66, 0.45)],
        [(0.48, 0.55), (0.38, 0.62)],
        [(0.78, 0.72), (1.05, 1.0)],
    )
    assert len(pictures.read_digits(write([[arc, diagonal, base]]))) == 1


def test_a_line_of_one_group_under_a_number_is_read_as_part_of_a_number():
    # Two 0s leaning into each other, 0.8 times as wide as tall: alone in a picture a wide 0, but
    # on a line of its own under "71", as narrow as two digits of a number may be.
    pair = Image.new("L", (330, 180), 255)
    draw = ImageDraw.Draw(pair)
    draw.ellipse((150, 30, 215, 150), outline=0, width=9)
    draw.ellipse((185, 30, 250, 150), outline=0, width=9)
    assert pictures.read_digits(pair)[0].halves is None
    *_, last = pictures.read_digits(on_lines(write([[SEVEN], [ONE]]), pair))
    assert last.line == 1 and last.halves is not None and last.halves_are == Halves.NARROW


def test_cli_puts_a_space_between_the_lines_of_a_number(tmp_path, untrained_weights, capsys):
    on_lines(write([[SEVEN], [ONE]]), write([[ONE], [SEVEN], [ONE]])).save(tmp_path / "lines.png")
    predict.main([str(tmp_path / "lines.png"), "--weights", str(untrained_weights)])
    first, second, confidence = capsys.readouterr().out.split()
    assert (len(first), len(second)) == (2, 3) and (first + second).isdigit() and confidence.endswith("%)")
    predict.main([str(tmp_path / "lines.png"), "--json", "--weights", str(untrained_weights)])
    record = json.loads(capsys.readouterr().out)
    assert record["number"] == f"{first} {second}" and [d["line"] for d in record["digits"]] == [0, 0, 1, 1, 1]


def test_a_page_of_a_hundred_specks_ends_in_a_reading_or_no_digit_bounded():
    rng = np.random.default_rng(0)
    img = Image.new("L", (700, 500), 255)
    draw = ImageDraw.Draw(img)
    for x, y in rng.integers(0, 690, size=(100, 2)):
        draw.ellipse((x, y % 490, x + 6, y % 490 + 6), fill=0)
    try:
        digits = pictures.read_digits(img)
    except pictures.UserError:
        return
    assert 1 <= len(digits) <= 64


def test_cli_prints_a_number_and_its_least_sure_digit(tmp_path, untrained_weights, capsys):
    write([[SEVEN], [ONE], [SEVEN]]).save(tmp_path / "number.png")
    assert predict.main([str(tmp_path / "number.png"), "--weights", str(untrained_weights)]) == 0
    number, confidence = capsys.readouterr().out.split()
    assert len(number) == 3 and number.isdigit()
    assert confidence.startswith("(") and confidence.endswith("%)")


def test_cli_says_a_dash_between_digits_was_left_out_and_json_gives_its_box(tmp_path, untrained_weights, capsys):
    img = write([[SEVEN], [ONE], [SEVEN], [ONE]], gap=80)
    ImageDraw.Draw(img).line([(350, 85), (400, 85)], fill=0, width=9)  # 71-71
    img.save(tmp_path / "dashed.png")
    assert predict.main([str(tmp_path / "dashed.png"), "--weights", str(untrained_weights)]) == 0
    assert capsys.readouterr().out.rstrip().endswith("%); 1 mark left out, not a digit")
    predict.main([str(tmp_path / "dashed.png"), "--json", "--weights", str(untrained_weights)])
    record = json.loads(capsys.readouterr().out)
    [mark] = record["left_out"]
    assert len(record["number"]) == 4 and mark["box"][0] < 375 < mark["box"][2]


def test_cli_top_k_applies_to_each_digit_of_a_number(tmp_path, untrained_weights, capsys):
    write([[SEVEN], [ONE]]).save(tmp_path / "number.png")
    predict.main([str(tmp_path / "number.png"), "--top", "2", "--weights", str(untrained_weights)])
    _, per_digit = capsys.readouterr().out.strip().split(": ", 1)
    assert len(per_digit.split(" | ")) == 2
    assert all(len(part.split("  ")) == 2 for part in per_digit.split(" | "))


@pytest.mark.parametrize("count", [1, 3])
def test_json_gives_the_number_each_digit_its_box_and_one_digit_at_the_top_level(
    tmp_path, untrained_weights, capsys, count
):
    img = write([[SEVEN], [ONE], [SEVEN]][:count])
    img.save(tmp_path / "n.png")
    predict.main([str(tmp_path / "n.png"), "--json", "--weights", str(untrained_weights)])
    record = json.loads(capsys.readouterr().out)
    assert len(record["number"]) == count == len(record["digits"])
    for digit in record["digits"]:
        left, top, right, bottom = digit["box"]
        assert 0 <= left < right <= img.width and 0 <= top < bottom <= img.height
        assert digit["digit"] == int(np.argmax(digit["probabilities"]))
    assert record["number"] == "".join(str(d["digit"]) for d in record["digits"])
    assert ("digit" in record) == (count == 1)


def test_boxes_are_in_the_pixels_of_the_file_even_when_a_big_photo_is_reduced(tmp_path, untrained_weights, capsys):
    img = write([[SEVEN], [ONE]], size=(600, 500), gap=150, width=40)
    assert max(img.size) > pictures.WORKING_SIZE
    img.save(tmp_path / "big.png")
    predict.main([str(tmp_path / "big.png"), "--json", "--weights", str(untrained_weights)])
    boxes = [d["box"] for d in json.loads(capsys.readouterr().out)["digits"]]
    # The 7's bar starts a fifth into its 600-pixel cell; the 1 (a pen 40 wide) in the middle of the next.
    assert boxes[0][0] == pytest.approx(30 + 120, abs=15)
    assert boxes[-1][2] == pytest.approx(30 + 750 + 300 + 20, abs=15)


def test_preview_of_a_number_shows_each_digit(tmp_path, untrained_weights):
    write([[SEVEN], [ONE], [SEVEN]]).save(tmp_path / "n.png")
    args = [str(tmp_path / "n.png"), "--preview", str(tmp_path / "why.png"), "--weights", str(untrained_weights)]
    assert predict.main(args) == 0
    with Image.open(tmp_path / "why.png") as figure:
        assert figure.format == "PNG" and figure.height > 600  # the picture above a column per digit


def test_the_figure_of_a_long_number_keeps_its_titles_and_labels_apart(tmp_path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from mnist_cnn import figures
    from mnist_cnn.reading import Piece

    img = write([[SEVEN], [ONE]] * 3)
    digits = pictures.read_digits(img)
    assert len(digits) == 6
    rng = np.random.default_rng(0)
    pieces = [Piece(d, rng.dirichlet(np.ones(10)), why=rng.normal(size=(28, 28))) for d in digits]
    fig = Figure(figsize=figures.prediction_size(pieces))
    figures.draw_prediction(fig, tmp_path / "n.png", img, pieces)
    renderer = FigureCanvasAgg(fig).get_renderer()
    texts = [t for ax in fig.axes for t in (ax.title, ax.xaxis.label, ax.yaxis.label) if t.get_text()]
    boxes = [t.get_window_extent(renderer) for t in texts + fig.texts]
    overlapping = [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1 :] if a.overlaps(b)]
    assert not overlapping


@pytest.mark.parametrize("angle", [25, -35])
def test_a_number_written_at_a_tilt_is_read_as_the_same_number_written_level(angle):
    level = write([[SEVEN], [ONE], [*FOUR], [SEVEN]])
    tilted = level.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    want, got = pictures.read_digits(level), pictures.read_digits(tilted)
    assert len(got) == 4 and lefts(got) == sorted(lefts(got))
    for a, b in zip(want, got, strict=True):  # each digit upright, as MNIST would have drawn it
        assert np.corrcoef(a.image.ravel(), b.image.ravel())[0, 1] > 0.6  # turned, not turned back: 0.2-0.4
    # The boxes are in the tilted picture's pixels: each holds ink, and they climb as the line does.
    ink = np.asarray(tilted) < 128
    assert all(ink[top:bottom, left:right].any() for left, top, right, bottom in (d.box for d in got))
    centres = np.array([((d.box[0] + d.box[2]) / 2, (d.box[1] + d.box[3]) / 2) for d in got])
    slope = np.polyfit(centres[:, 0], centres[:, 1], 1)[0]
    assert abs(np.degrees(np.arctan(slope)) + angle) < 3  # Pillow turns counter-clockwise: the line rises


@pytest.mark.parametrize(
    "picture",
    [
        write([[[(0.0, 0.9), (1.0, 0.2)]]], size=(160, 100)),  # a 1 lying at 35 degrees
        write([[SEVEN], [ONE]], climb=60),  # two digits, one higher than the other: as tilted as two turned
    ],
    ids=["a digit alone", "two digits"],
)
def test_ink_along_a_tilted_line_that_holds_no_level_number_when_turned_is_read_as_it_lies(picture, monkeypatch):
    assert writing_tilt(np.asarray(picture) < 128) != 0, "its ink lies along a tilted line"
    found = pictures.read_digits(picture)
    monkeypatch.setattr(pictures, "writing_tilt", lambda inked, elongated=None: 0.0)
    as_it_lies = pictures.read_digits(picture)
    assert [d.box for d in found] == [d.box for d in as_it_lies]
    for a, b in zip(found, as_it_lies, strict=True):
        np.testing.assert_array_equal(a.image, b.image)


@pytest.mark.parametrize("angle", [30, -30])
def test_two_digits_written_at_a_tilt_are_also_read_turned_level(angle):
    level = write([[SEVEN], [*FOUR]])
    tilted = level.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    first = pictures.read_digits(tilted)[0]
    assert first.turned is not None and len(first.turned) == 2, "read as it lies, and turned level too"
    for a, b in zip(pictures.read_digits(level), first.turned, strict=True):  # each digit upright
        assert np.corrcoef(a.image.ravel(), b.image.ravel())[0, 1] > 0.6
    ink = np.asarray(tilted) < 128  # the turned digits' boxes in the tilted picture's pixels
    assert all(ink[top:bottom, left:right].any() for left, top, right, bottom in (d.box for d in first.turned))


@pytest.mark.parametrize("angle", [30, -30])
def test_two_digits_too_close_for_their_ink_to_lie_along_a_line_are_turned_by_their_centres(angle):
    level = write([[SEVEN], [*FOUR]], size=(80, 120), gap=10)  # the pair about as long as it is tall
    tilted = level.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    assert writing_tilt(np.asarray(tilted) < 128, PAIR_ELONGATED) == 0, "its ink has no long axis"
    first = pictures.read_digits(tilted)[0]
    assert first.turned is not None and len(first.turned) == 2, "read turned level too"
    for a, b in zip(pictures.read_digits(level), first.turned, strict=True):  # each digit upright
        assert np.corrcoef(a.image.ravel(), b.image.ravel())[0, 1] > 0.6


def test_the_line_through_two_pieces_centres_is_their_tilt_within_its_range():
    pair = np.array([[0, 100, 0, 80], [50, 150, 100, 180]])  # (top, bottom, left, right): 26.6 degrees
    assert pieces_tilt(pair, np.array([1.0, 1.0])) == pytest.approx(26.57, abs=0.01)
    assert pieces_tilt(np.array([[50, 150, 0, 80], [0, 100, 100, 180]]), np.ones(2)) == pytest.approx(-26.57, abs=0.01)
    assert pieces_tilt(np.array([[0, 100, 0, 80], [10, 110, 100, 180]]), np.ones(2)) == 0  # 5.7: level
    assert pieces_tilt(np.array([[0, 100, 0, 80], [200, 300, 60, 140]]), np.ones(2)) == 0  # 73: one above another
    assert pieces_tilt(pair, np.array([1.0, 0.1])) == 0  # a speck beside a digit: one sizable piece


def test_level_pairs_and_a_digit_alone_are_read_only_as_they_lie():
    for picture in (write([[SEVEN], [ONE]]), write([[*FOUR]]), write([[ONE]])):
        assert all(d.turned is None for d in pictures.read_digits(picture))


def test_a_tilted_pairs_turned_reading_is_scaled_with_it_to_the_files_pixels():
    tilted = write([[SEVEN], [*FOUR]]).rotate(30, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    first = pictures.read_digits(tilted)[0]
    scaled = first.scaled(2.0, 2.0)
    assert [d.box for d in scaled.turned] == [pictures.scaled_box(d.box, 2.0, 2.0) for d in first.turned]


def test_level_writing_and_a_digit_alone_lie_along_no_tilt():
    assert writing_tilt(np.asarray(write([[SEVEN], [ONE], [*FOUR]], climb=20)) < 128) == 0
    assert writing_tilt(np.asarray(write([[ONE]])) < 128) == 0
    assert writing_tilt(np.asarray(write([[*FOUR]])) < 128) == 0


def test_no_mnist_test_digit_is_read_as_a_tilted_number(mnist):
    # Some lie along a tilted line (wide 4s, long 7s): they hold no digits apart, and stay one digit.
    lying = [image for image in mnist["x_test"] if writing_tilt(image > 127)]
    assert lying, "some MNIST digits' ink lies along a tilted line"
    for image in lying:
        page = Image.new("L", (200, 200), 255)
        page.paste(Image.fromarray(255 - image).resize((112, 112), Image.Resampling.BICUBIC), (44, 44))
        assert len(pictures.read_digits(page)) == 1
