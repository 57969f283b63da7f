"""predict.py: turning pictures into MNIST-like digits, each bad input, each output format."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, assert_one_line_error, png_claiming_size, run_script
from PIL import Image, ImageDraw, ImageFilter
from scipy import ndimage

import predict
from mnist_cnn import batches, network, pictures
from mnist_cnn.errors import UserError


def draw_digit(size=(120, 160), ink=0, paper=255, mode="L", box=None) -> Image.Image:
    """A thick '7', dark ink on light paper by default; `box` = (left, top, width, height) to place it."""
    img = Image.new(mode, size, paper)
    left, top, w, h = box or (0, 0, *size)
    points = [(left + 0.25 * w, top + 0.2 * h), (left + 0.75 * w, top + 0.2 * h), (left + 0.4 * w, top + 0.85 * h)]
    ImageDraw.Draw(img).line(points, fill=ink, width=max(3, w // 10))
    return img


def ink_bbox(digit: np.ndarray) -> tuple[int, int]:
    """Height and width of the pixels above 50 in a (28, 28, 1) network input."""
    rows, cols = np.nonzero(digit[..., 0] > 50)
    return rows.max() - rows.min() + 1, cols.max() - cols.min() + 1


def line_box(size: tuple[int, int], points: list, width: int) -> tuple[int, int]:
    """ink_bbox() of the network input for one black line drawn through `points` on white paper."""
    img = Image.new("L", size, 255)
    ImageDraw.Draw(img).line(points, fill=0, width=width)
    return ink_bbox(pictures.preprocess(img))


def placed_apart(digit: np.ndarray, reference: np.ndarray) -> float:
    """Mean absolute difference of two network inputs, the first moved by up to a pixel each way
    (black coming in at the edges): each is placed to the nearest pixel by its centre of mass,
    which a little noise may move across a rounding."""
    h, w = digit.shape[:2]
    differences = []
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            moved = np.zeros_like(digit)
            moved[max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = digit[
                max(-dy, 0) : h - max(dy, 0), max(-dx, 0) : w - max(dx, 0)
            ]
            differences.append(np.abs(moved - reference).mean())
    return min(differences)


def centre_of_mass(digit: np.ndarray) -> tuple[float, float]:
    ys, xs = np.indices(digit.shape[:2])
    total = digit[..., 0].sum()
    return (ys * digit[..., 0]).sum() / total, (xs * digit[..., 0]).sum() / total


def assert_mnist_like(digit: np.ndarray) -> None:
    """White on black, 0..255, the ink within MNIST's 20x20 box, its mass centred (which, as in
    MNIST, may push a top-heavy digit such as 7 into the 4-pixel margin)."""
    assert digit.shape == (28, 28, 1) and digit.dtype == np.float32
    assert digit.min() >= 0 and digit.max() <= 255
    assert digit.max() > 200, "the strokes' cores should be near MNIST's 255"
    assert digit[digit <= 50].mean() < 8, "the background should be black, not grey"
    assert (digit > 50).mean() > 0.03, "the digit should fill its box, not be a speck"
    assert max(ink_bbox(digit)) <= 21
    assert np.allclose(centre_of_mass(digit), 13.5, atol=1.0)


# --- preprocessing, step by step -------------------------------------------------------------


def test_dark_digit_on_light_paper_becomes_white_on_black():
    assert_mnist_like(pictures.preprocess(draw_digit(ink=0, paper=255)))


def test_light_digit_on_dark_background_stays_white_on_black():
    assert_mnist_like(pictures.preprocess(draw_digit(ink=255, paper=0)))


def test_both_polarities_of_one_digit_give_the_same_input():
    dark_on_light = pictures.preprocess(draw_digit(ink=0, paper=255))
    light_on_dark = pictures.preprocess(draw_digit(ink=255, paper=0))
    np.testing.assert_allclose(dark_on_light, light_on_dark, atol=2)


def test_forced_polarity_overrides_the_guess():
    img = draw_digit(ink=0, paper=255)
    auto = pictures.preprocess(img)
    np.testing.assert_array_equal(pictures.preprocess(img, invert="yes"), auto)
    try:  # told the white paper is the ink, it must not come back with the same digit
        forced = pictures.preprocess(img, invert="no")
    except UserError:
        forced = None
    assert forced is None or not np.allclose(forced, auto, atol=20)


def test_grey_shaded_noisy_paper_gives_a_clean_digit():
    img = np.asarray(draw_digit(size=(300, 240), ink=90, paper=185, box=(100, 60, 90, 120)), dtype=np.float32)
    img = img * np.linspace(0.7, 1.0, 300)[None, :] + np.random.default_rng(0).normal(0, 6, (240, 300))
    digit = pictures.preprocess(Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)))
    assert_mnist_like(digit)
    assert (digit > 50).mean() < 0.25, "shading and noise must not become ink"


def test_steep_shading_neither_flips_the_polarity_nor_becomes_ink():
    clean = np.asarray(draw_digit(size=(300, 400), ink=150, paper=210, box=(180, 120, 30, 40)), dtype=np.float32)
    # The light falls off by 90 levels down the page: the paper at the bottom is darker than the ink.
    shaded = clean - np.linspace(0, 90, 400)[:, None] + np.random.default_rng(0).normal(0, 2, clean.shape)
    shaded = pictures.preprocess(Image.fromarray(np.clip(shaded, 0, 255).astype(np.uint8)))
    assert_mnist_like(shaded)
    clean = pictures.preprocess(Image.fromarray(clean.astype(np.uint8)))
    assert ink_bbox(shaded) == ink_bbox(clean)
    assert placed_apart(shaded, clean) < 2


def assert_read_as_in_the_light(clean: Image.Image, lit, light: int, blur: float) -> None:
    """The digit photographed with a phone's shadow over it (`light` of 255 where not `lit`, its
    edge blurred) gives the network the input the digit gives without it."""
    page = np.asarray(clean, dtype=np.float32)
    shade = np.asarray(
        Image.fromarray(np.where(lit, 255, light).astype(np.uint8)).filter(ImageFilter.GaussianBlur(blur))
    )
    photo = page * shade / 255 + np.random.default_rng(0).normal(0, 3, page.shape)
    shaded = pictures.preprocess(Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8)))
    in_the_light = pictures.preprocess(clean)
    assert_mnist_like(shaded)
    assert ink_bbox(shaded) == pytest.approx(ink_bbox(in_the_light), abs=1)
    assert placed_apart(shaded, in_the_light) < 6


def test_the_sharp_edge_of_a_shadow_across_the_page_is_not_taken_for_ink():
    ys, xs = np.indices((300, 400))
    # A phone's shadow over the right of the page, its edge slanting past the digit: half the light.
    clean = draw_digit(size=(400, 300), ink=40, paper=220, box=(150, 70, 90, 140))
    assert_read_as_in_the_light(clean, xs > 250 - 0.3 * ys, light=140, blur=2)


@pytest.mark.parametrize("lit_side", ["left", "top"])
def test_a_digit_written_in_a_deep_shadow_over_most_of_the_page_reads_as_in_the_light(lit_side):
    ys, xs = np.indices((600, 800))
    # The phone's shadow covers all but a corner of the page, the digit with it: 45% of the light,
    # deeper than the paper's block levels may stray from the border's.
    lit = xs < 200 - 0.5 * ys if lit_side == "left" else ys < 150 - 0.2 * xs
    clean = draw_digit(size=(800, 600), ink=40, paper=215, box=(420, 250, 90, 150))
    assert_read_as_in_the_light(clean, lit, light=115, blur=3)


@pytest.mark.parametrize("shape", [(8, 8), (9, 13), (10, 700), (301, 200)])
def test_the_paper_under_the_strokes_is_smoothed_as_a_5x5_mean_in_2x2_blocks(shape):
    ink = np.random.default_rng(0).uniform(0, 255, shape).astype(np.float32)
    h, w = shape
    expected = np.pad(ndimage.uniform_filter(ink, 5), ((0, h % 2), (0, w % 2)), mode="edge")
    expected = expected.reshape((h + 1) // 2, 2, (w + 1) // 2, 2).mean(axis=(1, 3))
    np.testing.assert_allclose(pictures.mean_5x5_in_2x2_blocks(ink), expected, atol=1e-3)


def test_specks_and_marks_away_from_the_digit_do_not_stretch_its_box():
    clean = draw_digit(size=(500, 400), box=(200, 120, 90, 140))
    dusty = clean.copy()
    draw = ImageDraw.Draw(dusty)
    for x, y in [(20, 30), (450, 60), (60, 350), (470, 380), (330, 200)]:  # dust, a pencil dot
        draw.ellipse([x, y, x + 6, y + 6], fill=30)
    draw.line([(30, 200), (80, 215)], fill=60, width=3)  # a stray mark
    dusty, clean = pictures.preprocess(dusty), pictures.preprocess(clean)
    assert ink_bbox(dusty) == ink_bbox(clean)
    assert np.abs(dusty - clean).mean() < 1


def test_marks_of_another_colour_across_a_coloured_digit_are_not_taken_for_ink():
    blue, yellow, orange = (30, 40, 200), (240, 220, 90), (255, 150, 40)
    clean = draw_digit(size=(200, 220), ink=blue, paper=yellow, mode="RGB", box=(40, 30, 120, 160))
    marked = clean.copy()
    draw = ImageDraw.Draw(marked)
    draw.line([(10, 60), (190, 150)], fill=orange, width=6)  # crossed out, underlined, scribbled on
    draw.line([(20, 200), (180, 195)], fill=orange, width=5)
    draw.line([(150, 20), (110, 210)], fill=orange, width=4)
    marked, clean = pictures.preprocess(marked), pictures.preprocess(clean)
    assert_mnist_like(marked)
    assert placed_apart(marked, clean) < 8


def test_a_digit_drawn_in_separate_pieces_keeps_every_piece():
    whole = Image.new("L", (300, 300), 255)
    ImageDraw.Draw(whole).line([(90, 60), (210, 60), (130, 250)], fill=0, width=14)
    broken = whole.copy()
    ImageDraw.Draw(broken).rectangle([150, 40, 175, 80], fill=255)  # the pen skipped in the bar
    assert ink_bbox(pictures.preprocess(broken)) == pytest.approx(ink_bbox(pictures.preprocess(whole)), abs=1)


def test_small_digit_in_a_corner_is_found_scaled_and_centred():
    img = draw_digit(size=(800, 600), box=(20, 500, 45, 60))  # 60 px tall, bottom-left of a photo
    digit = pictures.preprocess(img)
    assert_mnist_like(digit)
    assert max(ink_bbox(digit)) >= 18, "scaled up to fill MNIST's 20x20 box"


def test_a_small_digit_drawn_from_edge_to_edge_is_not_taken_for_lines_across_the_picture():
    img = Image.new("L", (28, 28), 255)  # a 3 drawn on a 28x28 canvas, touching its top and bottom
    ImageDraw.Draw(img).line([(12, 0), (17, 6), (14, 12), (22, 17), (14, 27)], fill=0, width=3)
    digit = pictures.preprocess(img)[..., 0]
    assert ndimage.label(digit > 50)[1] == 1, "the 3 whole, its middle not dropped as a line down the picture"


def test_lines_of_ruled_paper_are_not_taken_for_the_digit():
    digit = draw_digit(size=(400, 300), box=(140, 60, 120, 180))
    lined = digit.copy()
    for y in range(20, 300, 40):  # dark lines across, slightly tilted as photographed, crossing the digit
        ImageDraw.Draw(lined).line([(0, y), (400, y + 3)], fill=120, width=2)
    clean, lined = pictures.preprocess(digit), pictures.preprocess(lined)
    assert_mnist_like(lined)
    assert ink_bbox(lined) == pytest.approx(ink_bbox(clean), abs=2), "the digit's own box, not the lines'"
    assert (lined > 50).sum() > 0.8 * (clean > 50).sum(), "the strokes crossing the lines stay"


def test_a_0_resting_on_a_ruled_line_keeps_its_foot():
    # Written to fill the space between two lines, a 0's foot lies along the lower one and its top
    # along the upper: taken with the lines, it was two arcs, read in a number as 1s.
    clean = Image.new("L", (400, 300), 255)
    ImageDraw.Draw(clean).ellipse((150, 56, 250, 184), outline=0, width=8)
    lined = clean.copy()
    for y in range(0, 300, 60):  # the foot's and the top's strokes centred on the lines
        ImageDraw.Draw(lined).line([(0, y), (400, y)], fill=150, width=2)
    lined = Image.fromarray(np.minimum(np.asarray(lined), np.asarray(clean)))
    clean, lined = pictures.preprocess(clean)[..., 0] > 50, pictures.preprocess(lined)[..., 0] > 50
    assert ndimage.binary_fill_holes(lined).sum() > 1.5 * lined.sum(), "still a ring round its hole"
    assert (lined ^ clean).sum() < 0.2 * clean.sum()


def test_squared_paper_leaves_neither_its_crossings_nor_gaps_in_the_digit():
    digit = draw_digit(size=(400, 300), box=(140, 60, 120, 180))
    squared = digit.copy()
    draw = ImageDraw.Draw(squared)
    for k in range(15, 400, 30):  # lines both ways, slightly tilted, under the ink
        draw.line([(k, 0), (k + 4, 300)], fill=150, width=2)
        draw.line([(0, k), (400, k + 4)], fill=150, width=2)
    squared = Image.fromarray(np.minimum(np.asarray(squared), np.asarray(digit)))
    clean, squared = pictures.preprocess(digit), pictures.preprocess(squared)
    assert_mnist_like(squared)
    assert ink_bbox(squared) == pytest.approx(ink_bbox(clean), abs=1)
    assert np.abs(squared - clean).mean() < 15


def test_a_box_drawn_round_the_digit_as_on_a_form_is_not_taken_for_it():
    digit = draw_digit(size=(300, 300), box=(90, 60, 120, 180))  # a 7 with strokes 12 pixels wide
    boxed = digit.copy()
    ImageDraw.Draw(boxed).rectangle((60, 40, 240, 260), outline=0, width=3)  # thin, dark, clear of the 7
    clean, boxed = pictures.preprocess(digit), pictures.preprocess(boxed)
    assert_mnist_like(boxed)
    assert np.abs(boxed - clean).mean() < 3, "the 7 alone, its strokes not hollowed by the box's thin lines"


def test_a_digit_written_too_big_for_its_box_is_read_without_the_box():
    digit = draw_digit(size=(300, 300), box=(90, 60, 120, 180))  # a 7 from y = 90 to 240
    boxed = digit.copy()
    ImageDraw.Draw(boxed).rectangle((60, 120, 240, 190), outline=0, width=3)  # its bar above, its foot below
    clean, boxed = pictures.preprocess(digit), pictures.preprocess(boxed)
    assert_mnist_like(boxed)
    assert ink_bbox(boxed) == ink_bbox(clean), "the 7's own box, not the form's"
    assert np.abs(boxed - clean).mean() < 12, "the 7, cut only where the box's lines crossed it"


def test_a_digit_too_big_for_its_box_keeps_its_strokes_where_they_cross_the_lines():
    seven = draw_digit(size=(300, 300), box=(90, 60, 120, 180))  # a 7 from y = 90 to 240
    ImageDraw.Draw(seven).rectangle((60, 120, 240, 190), outline=0, width=3)  # its stem crosses the bottom line
    digit = pictures.preprocess(seven)[..., 0]
    assert ndimage.label(digit > 64)[1] == 1, "one stroke, not cut in two where the box's line crossed it"


@pytest.mark.parametrize("box", [(120, 180), (125, 175)], ids=["twice as tall", "2.5 times as tall"])
def test_a_1_running_through_its_box_is_not_taken_for_a_wall_between_two_boxes(box):
    one = Image.new("L", (400, 300), 255)
    draw = ImageDraw.Draw(one)
    draw.line([(215, 88), (190, 212)], fill=0, width=12)  # a 1 through both lines of its box
    draw.rectangle((112, box[0], 288, box[1]), outline=0, width=3)
    digit = pictures.preprocess(one)
    height, width = ink_bbox(digit)
    assert height == 20 and width < 10, "the 1 alone, its box dropped"


def test_a_9_drawn_square_is_not_taken_for_a_box_with_writing_under_it():
    img = Image.new("L", (300, 300), 255)
    draw = ImageDraw.Draw(img)
    draw.rectangle((100, 40, 200, 160), outline=0, width=8)  # its loop, a box of its own...
    draw.line([(196, 160), (196, 260)], fill=0, width=8)  # ...with its tail under it, and nothing inside
    digit = pictures.preprocess(img)[..., 0]
    assert ink_bbox(digit[..., None])[0] == 20, "the whole 9"
    assert (digit[:14, :14] > 127).any(), "its loop's left side kept"


def test_a_square_drawn_a_little_tilted_with_nothing_in_it_is_not_taken_for_a_frame():
    img = Image.new("L", (300, 300), 255)
    ImageDraw.Draw(img).polygon([(70, 70), (210, 60), (218, 200), (78, 210)], outline=0, width=9)
    digit = pictures.preprocess(img)[..., 0]
    assert ink_bbox(digit[..., None]) == (20, 20), "the whole square, its sides not dropped as a box's"


def test_a_pencil_digit_in_a_dark_printed_box_is_read_though_fainter_than_the_box():
    digit = draw_digit(size=(300, 300), box=(90, 60, 120, 180), ink=170, paper=250)
    boxed = digit.copy()
    ImageDraw.Draw(boxed).rectangle((60, 40, 240, 260), outline=0, width=3)
    clean, boxed = pictures.preprocess(digit), pictures.preprocess(boxed)
    assert_mnist_like(boxed)
    assert np.abs(boxed - clean).mean() < 3


def test_a_0_drawn_square_is_not_taken_for_a_frame():
    img = Image.new("L", (200, 240), 255)
    ImageDraw.Draw(img).rectangle((50, 40, 150, 200), outline=0, width=8)
    img.putpixel((100, 120), 0)  # a speck inside is not writing
    digit = pictures.preprocess(img)
    assert_mnist_like(digit)
    assert ink_bbox(digit)[0] >= 18, "the whole square, as tall as a digit"


@pytest.mark.parametrize("gap", [0, 20], ids=["touching", "apart"])
def test_a_line_under_the_digit_running_on_past_it_is_not_taken_for_it(gap):
    digit = draw_digit(size=(300, 300), box=(90, 40, 120, 180))  # the 7's foot at y = 193
    underlined = digit.copy()
    ImageDraw.Draw(underlined).line([(60, 193 + gap), (240, 193 + gap)], fill=0, width=12)
    clean, underlined = pictures.preprocess(digit), pictures.preprocess(underlined)
    assert_mnist_like(underlined)
    assert ink_bbox(underlined) == pytest.approx(ink_bbox(clean), abs=2), "the digit's own box, not the line's"
    assert placed_apart(underlined, clean) < 10


def test_a_digits_own_bar_at_its_foot_is_kept_though_it_runs_on_past_the_rest():
    img = Image.new("L", (300, 300), 255)  # a 2 drawn as a Z, its base running on to the right
    ImageDraw.Draw(img).line([(100, 60), (190, 60), (100, 230), (230, 230)], fill=0, width=14, joint="curve")
    digit = pictures.preprocess(img)[..., 0]
    rows = np.flatnonzero((digit > 127).any(axis=1))
    assert (digit[rows[-1] - 1 : rows[-1] + 1] > 127).any(axis=0).sum() >= 12, "the base is the 2's, not a line"


def test_a_dark_table_beside_the_page_is_not_taken_for_the_digit():
    digit = draw_digit(size=(400, 300), box=(140, 60, 120, 180))
    photo = np.asarray(digit).copy()
    photo[:, :70] = 40  # the table the page lies on, along the picture's left edge
    assert np.abs(pictures.preprocess(Image.fromarray(photo)) - pictures.preprocess(digit)).mean() < 6


def test_a_sheet_photographed_on_a_desk_is_read_as_the_page():
    page = draw_digit(size=(300, 240), ink=30, paper=230, box=(110, 60, 80, 120)).rotate(3, fillcolor=230)
    photo = Image.new("L", (440, 360), 70)  # the desk, all round the slightly tilted sheet
    photo.paste(page, (60, 50))
    digit = pictures.preprocess(photo)
    assert_mnist_like(digit)
    assert np.abs(digit - pictures.preprocess(page)).mean() < 2


def test_a_marker_one_filling_the_middle_is_not_taken_for_a_sheet():
    height, width = line_box((70, 200), [(35, 10), (35, 190)], width=44)
    assert height >= 18 and width <= 6


def test_a_one_cropped_edge_to_edge_is_still_the_digit():
    height, width = line_box((80, 200), [(40, 0), (40, 200)], width=12)
    assert height >= 18 and width <= 6


def test_a_dash_in_a_long_thin_strip_is_read_not_a_traceback():
    # A picture too short for lines across it to be looked for.
    height, width = line_box((700, 10), [(0, 5), (700, 5)], width=2)
    assert width >= 18 and height <= 3


def test_aspect_ratio_is_kept_so_a_one_stays_thin():
    height, width = line_box((200, 200), [(100, 20), (100, 180)], width=14)
    assert height >= 18 and width <= 6


def stroke_width_of(digit: np.ndarray) -> float:
    big = np.kron(digit[..., 0] > 127, np.ones((4, 4), bool))  # measured as normalize_strokes does, at 4x
    return pictures.stroke_width(np.pad(big, 1)) / 4


def test_a_marker_thick_digit_is_slimmed_by_about_a_pixel_not_eroded(monkeypatch):
    img = Image.new("L", (200, 200), 255)
    ImageDraw.Draw(img).line([(50, 40), (150, 40), (80, 170)], fill=0, width=40)
    slimmed = stroke_width_of(pictures.preprocess(img))
    monkeypatch.setattr(pictures, "normalize_strokes", lambda digit, scale: digit)
    as_drawn = stroke_width_of(pictures.preprocess(img))
    assert as_drawn > pictures.STROKE_WIDTH_RANGE[1]  # a marker, by MNIST's measure
    assert 0.5 <= as_drawn - slimmed <= pictures.MAX_THINNING + 0.5, (as_drawn, slimmed)


def test_a_fine_pen_digit_is_thickened_to_mnist_strokes(monkeypatch):
    img = Image.new("L", (300, 300), 255)
    ImageDraw.Draw(img).line([(80, 60), (220, 60), (120, 250)], fill=0, width=3)
    thickened = stroke_width_of(pictures.preprocess(img))
    monkeypatch.setattr(pictures, "normalize_strokes", lambda digit, scale: digit)
    assert stroke_width_of(pictures.preprocess(img)) < pictures.STROKE_WIDTH_RANGE[0]
    assert pictures.STROKE_WIDTH_RANGE[0] <= thickened <= pictures.STROKE_WIDTH_RANGE[1]


def test_a_stroke_fainter_in_places_comes_out_as_bright_as_the_rest():
    img = Image.new("L", (100, 160), 240)
    draw = ImageDraw.Draw(img)
    draw.line([(50, 10), (50, 80)], fill=170, width=3)  # a pencil pressed lightly at the top...
    draw.line([(50, 80), (50, 150)], fill=20, width=3)  # ...and hard at the bottom
    digit = pictures.preprocess(img)[..., 0]
    rows = np.nonzero(digit.max(axis=1) > 50)[0]
    top, bottom = digit[rows[0] : rows[0] + 6].max(), digit[rows[-1] - 5 : rows[-1] + 1].max()
    assert top > 0.8 * bottom and bottom > 200


@pytest.mark.parametrize("size", [1, 2, 3, 10, 11, 999])
def test_a_strokes_core_level_is_numpys_90th_percentile(size):
    values = np.random.default_rng(size).uniform(0, 255, size).astype(np.float32)
    assert pictures.percentile_90(values) == pytest.approx(np.percentile(values, 90), rel=1e-6)


@pytest.mark.parametrize("sigma", [1, 6, 12])
def test_blank_page_is_no_digit_not_a_guess(sigma):
    page = np.random.default_rng(sigma).normal(200, sigma, (300, 400)) * np.linspace(0.75, 1.0, 400)
    with pytest.raises(UserError, match="no digit found"):
        pictures.preprocess(Image.fromarray(np.clip(page, 0, 255).astype(np.uint8)))


def test_one_pixel_image_is_no_digit():
    with pytest.raises(UserError, match="no digit found"):
        pictures.preprocess(Image.new("L", (1, 1), 0))


def test_digit_drawn_on_a_transparent_canvas_is_composited_onto_white():
    canvas = Image.new("RGBA", (100, 100), (0, 0, 0, 0))  # transparent *black*: naive conversion sees all black
    ImageDraw.Draw(canvas).line([(50, 10), (50, 90)], fill=(0, 0, 0, 255), width=12)
    digit = pictures.preprocess(canvas)
    assert_mnist_like(digit)


def test_a_page_with_a_transparent_margin_is_read_as_the_page_not_framed_in_white():
    page = Image.new("RGBA", (120, 160), (0, 0, 0, 255))  # a white 7 on a black page, up to its edges
    ImageDraw.Draw(page).line([(10, 6), (110, 6), (40, 156)], fill=(255, 255, 255, 255), width=12)
    canvas = Image.new("RGBA", (200, 240), (0, 0, 0, 0))  # exported with a transparent margin round it
    canvas.paste(page, (40, 40))
    assert_mnist_like(pictures.preprocess(canvas))
    np.testing.assert_allclose(pictures.preprocess(canvas), pictures.preprocess(page), atol=2)
    left, top, right, bottom = pictures.read_digits(canvas)[0].box  # in the picture's own pixels
    assert 40 <= left < right <= 160 and 40 <= top < bottom <= 200


def test_a_heavy_digit_that_covers_half_its_small_picture_is_found():
    img = Image.new("L", (28, 28), 255)
    ImageDraw.Draw(img).ellipse((3, 2, 24, 26), outline=0, width=7)  # a bold 0 drawn at 28x28
    assert (np.asarray(img) < 128).mean() > 0.4
    digit = pictures.preprocess(img)
    assert_mnist_like(digit)
    assert ink_bbox(digit)[0] >= 19  # the whole 0, as tall as MNIST's box


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA", "P", "1", "CMYK", "I", "F"])
def test_every_common_pillow_mode_gives_an_mnist_shaped_digit(mode):
    img = draw_digit(mode="RGB", ink=(0, 0, 0), paper=(255, 255, 255)).convert(mode)
    assert_mnist_like(pictures.preprocess(img))


def test_sixteen_bit_gray_is_scaled_not_clipped():
    eight_bit = np.asarray(draw_digit(), dtype=np.uint16)
    img = Image.fromarray(eight_bit * 257)  # the same picture over 0..65535
    assert img.mode.startswith("I;16")
    np.testing.assert_allclose(pictures.preprocess(img), pictures.preprocess(draw_digit()), atol=2)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "GIF", "WEBP", "TIFF"])
def test_every_common_file_format_is_read(tmp_path, fmt):
    path = tmp_path / f"digit.{fmt.lower()}"
    draw_digit(mode="RGB", ink=(20, 20, 20), paper=(240, 240, 240)).save(path, fmt)
    assert_mnist_like(pictures.preprocess(pictures.load_image(path)))


def test_exif_orientation_is_applied(tmp_path):
    upright = draw_digit(size=(120, 160))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to view": the camera stored the picture on its side
    upright.rotate(90, expand=True).save(tmp_path / "phone.jpg", exif=exif, quality=95)
    loaded = pictures.load_image(tmp_path / "phone.jpg")
    assert loaded.size == upright.size
    np.testing.assert_allclose(pictures.preprocess(loaded), pictures.preprocess(upright), atol=40)


def test_animated_gif_is_read_from_its_first_frame(tmp_path):
    seven, blank = draw_digit(), Image.new("L", (120, 160), 255)
    seven.save(tmp_path / "anim.gif", save_all=True, append_images=[blank], duration=100, loop=0)
    assert_mnist_like(pictures.preprocess(pictures.load_image(tmp_path / "anim.gif")))


def test_enormous_photo_is_downscaled_not_refused(tmp_path):
    draw_digit(size=(6000, 4500), box=(2000, 1000, 1500, 2000)).save(tmp_path / "big.jpg", quality=80)
    img = pictures.load_image(tmp_path / "big.jpg")
    assert max(img.size) <= pictures.WORKING_SIZE
    assert_mnist_like(pictures.preprocess(img))


def test_pictures_between_pillows_limit_and_twice_it_are_read_without_warnings(
    tmp_path, untrained_weights, monkeypatch, recwarn, capsys
):
    draw_digit(size=(40, 40)).save(tmp_path / "large.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 1,600 pixels: over the limit, under twice it
    assert predict.main([str(tmp_path / "large.png"), "--weights", str(untrained_weights)]) == 0
    assert not [w for w in recwarn if issubclass(w.category, Image.DecompressionBombWarning)]
    assert capsys.readouterr().err == ""


def write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def truncated(path: Path, fmt: str) -> Path:
    buffer = io.BytesIO()
    draw_digit().save(buffer, fmt)
    return write(path, buffer.getvalue()[: len(buffer.getvalue()) // 2])


BAD_IMAGES = [
    ("missing.png", lambda d: d / "missing.png", "no such file"),
    ("empty.png", lambda d: write(d / "empty.png", b""), "not an image"),
    ("notes.png", lambda d: write(d / "notes.png", b"shopping list"), "not an image"),
    ("cut.png", lambda d: truncated(d / "cut.png", "PNG"), "truncated or corrupt"),
    ("cut.jpg", lambda d: truncated(d / "cut.jpg", "JPEG"), "truncated or corrupt"),
    ("bomb.png", lambda d: write(d / "bomb.png", png_claiming_size(50_000, 50_000)), "decompression bomb"),
]


@pytest.mark.parametrize(("name", "make", "message"), BAD_IMAGES, ids=[b[0] for b in BAD_IMAGES])
def test_unreadable_images_raise_one_clear_error_naming_the_file(tmp_path, name, make, message):
    with pytest.raises(UserError, match=message) as error:
        pictures.load_image(make(tmp_path))
    assert name in str(error.value)


def test_directories_expand_to_their_images_and_empty_ones_are_reported(tmp_path):
    (tmp_path / "digits").mkdir()
    (tmp_path / "empty").mkdir()
    for name in ("b.png", "a.JPG", "notes.txt"):
        (tmp_path / "digits" / name).write_bytes(b"")
    files, errors = batches.find_images([tmp_path / "digits", tmp_path / "empty", tmp_path / "gone.png"])
    assert [f.name for f in files] == ["a.JPG", "b.png"]
    assert [path.name for path, _ in errors] == ["empty", "gone.png"]
    assert [m.split(": ", 1)[1].split(" (")[0] for _, m in errors] == ["directory holds no image files", "no such file"]


# --- the command line ------------------------------------------------------------------------


def test_cli_without_an_image_explains_both_ways_to_give_one(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "IMG_PATH"}
    assert_one_line_error(run_script("predict.py", cwd=tmp_path, env=env), "IMG_PATH=<img> python3 predict.py")


def test_cli_without_weights_says_to_train_first(tmp_path):
    draw_digit().save(tmp_path / "seven.png")
    assert_one_line_error(run_script("predict.py", "seven.png", cwd=tmp_path), "train first with python3 model.py")


def test_cli_rejects_weights_that_are_not_hdf5(tmp_path):
    draw_digit().save(tmp_path / "seven.png")
    (tmp_path / "model.weights.h5").write_text("not weights")
    result = run_script("predict.py", "seven.png", cwd=tmp_path)
    assert_one_line_error(result, "model.weights.h5: not a Keras weights file", "python3 model.py")


def write_unusable_weights(path: Path, kind: str, good: Path) -> None:
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        path.write_bytes(good.read_bytes()[:100_000])
    elif kind == "not HDF5":
        path.write_text("not weights")
    else:
        import keras

        other = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
        other.save_weights(path)


@pytest.mark.parametrize(
    ("kind", "problem"),
    [
        ("empty", "the file is empty"),
        ("truncated", "the file is cut short (100,000 bytes)"),
        ("not HDF5", "not a Keras weights file (HDF5)"),
        ("another network", "these are the weights of another network"),
    ],
)
def test_unusable_weights_are_refused_saying_what_is_wrong(tmp_path, untrained_weights, kind, problem):
    path = tmp_path / "model.weights.h5"
    write_unusable_weights(path, kind, untrained_weights)
    with pytest.raises(UserError) as error:
        network.load_model(path)
    assert str(error.value).startswith(f"{path}: {problem}")
    assert "python3 model.py" in str(error.value)


def test_many_files_decoded_in_worker_processes_match_one_by_one_in_order(tmp_path, monkeypatch):
    for i in range(batches.MANY_FILES + 3):
        draw_digit(size=(60 + i, 90)).save(tmp_path / f"{i:02d}.png")
    (tmp_path / "05.png").write_text("not an image")
    files = sorted(tmp_path.iterdir())
    monkeypatch.setattr(batches, "CHUNK", 8)  # more chunks than are ever in flight at once
    chunks = list(batches.prepared_chunks(files, "auto", keep_pictures=False))
    assert [len(chunk) for chunk in chunks] == [8, 8, 8, 8, len(files) - 32]
    results = [item for chunk in chunks for item in chunk]
    assert [path for path, _, _ in results] == files
    for path, digits, _ in results:
        expected = batches.attempt(path, "auto", False)[1]
        if path.name == "05.png":
            assert isinstance(digits, UserError) and str(digits) == str(expected)
        else:
            assert [d.box for d in digits] == [d.box for d in expected]
            np.testing.assert_array_equal(np.stack([d.image for d in digits]), np.stack([d.image for d in expected]))


def test_a_folder_read_by_forked_workers_reads_as_it_does_in_one_process(tmp_path, untrained_weights, capsys):
    # In a fresh predict.py no TensorFlow runs yet, so its workers are forked; here, in the test
    # process where it does, they are spawned. Both must give the same lines in the same order.
    for i in range(batches.MANY_FILES + 3):
        draw_digit(size=(60 + 3 * i, 90)).save(tmp_path / f"{i:02d}.png")
    result = run_script("predict.py", str(tmp_path), "--weights", str(untrained_weights), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert predict.main([str(tmp_path), "--weights", str(untrained_weights)]) == 0
    assert result.stdout == capsys.readouterr().out
    assert len(result.stdout.splitlines()) == batches.MANY_FILES + 3


@pytest.mark.skipif(sys.platform != "linux", reason="glibc's allocator settings: Linux only")
def test_a_worker_keeps_the_memory_one_picture_freed_for_the_next():
    # In a fresh process, as a worker is: arrays of a 300x320 picture's size made and freed 200
    # times, as the pipeline does. Left to itself, glibc hands them back and faults them in again
    # (87,000 page faults here); kept, the pages stay.
    code = """
import resource
import numpy as np
from mnist_cnn import batches
batches.start_worker()
picture = np.zeros((300, 320), np.float32)
start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(200):
    brighter = picture + 1
    wide = brighter.astype(np.float64)
    del brighter
    doubled = wide * 2
    del wide, doubled
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start)
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert int(result.stdout) < 2000


def test_bad_files_never_stop_the_good_ones(tmp_path, untrained_weights):
    for _, make, _ in BAD_IMAGES:
        make(tmp_path)
    draw_digit().save(tmp_path / "good.png")
    (tmp_path / "no_images").mkdir()
    names = [b[0] for b in BAD_IMAGES] + ["good.png", "no_images"]
    result = run_script("predict.py", *names, "--weights", str(untrained_weights), cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = result.stderr.strip().splitlines()
    assert len(errors) == len(BAD_IMAGES) + 1
    for name, _, message in [*BAD_IMAGES, ("no_images", None, "directory holds no image files")]:
        [line] = [e for e in errors if f" {name}: " in e]
        assert message in line
    assert result.stdout.startswith("good.png: ") and len(result.stdout.splitlines()) == 1


def test_img_path_environment_variable_prints_the_digit_first(tmp_path, untrained_weights):
    draw_digit().save(tmp_path / "seven.png")
    env = {**os.environ, "IMG_PATH": "seven.png"}
    result = run_script("predict.py", "--weights", str(untrained_weights), cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    digit, confidence = result.stdout.split()
    assert digit in "0123456789" and len(digit) == 1
    assert confidence.startswith("(") and confidence.endswith("%)")


def test_top_k_lists_the_most_likely_digits_in_order(tmp_path, untrained_weights, capsys):
    draw_digit().save(tmp_path / "seven.png")
    assert predict.main([str(tmp_path / "seven.png"), "--top", "3", "--weights", str(untrained_weights)]) == 0
    entries = capsys.readouterr().out.split("  ")
    percentages = [float(e.split("(")[1].rstrip("%)\n")) for e in entries]
    assert len(entries) == 3 and percentages == sorted(percentages, reverse=True)


def test_json_gives_one_object_per_image_and_errors_as_objects(tmp_path, untrained_weights, capsys):
    draw_digit().save(tmp_path / "a.png")
    draw_digit(ink=255, paper=0).save(tmp_path / "b.png")
    (tmp_path / "c.png").write_text("not a picture")
    status = predict.main([str(tmp_path), "--json", "--weights", str(untrained_weights)])
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert status == 1
    assert [Path(r["path"]).name for r in records] == ["a.png", "b.png", "c.png"]
    for record in records[:2]:
        assert len(record["probabilities"]) == 10 and abs(sum(record["probabilities"]) - 1) < 1e-4
        assert record["digit"] == int(np.argmax(record["probabilities"]))
        assert record["confidence"] == pytest.approx(max(record["probabilities"]), abs=1e-6)
    assert "not an image" in records[2]["error"]


def test_preview_writes_the_figure_of_what_the_network_saw(tmp_path, untrained_weights):
    draw_digit().save(tmp_path / "a.png")
    draw_digit().save(tmp_path / "b.png")
    assert (
        predict.main(
            [str(tmp_path / "a.png"), "--preview", str(tmp_path / "one.png"), "--weights", str(untrained_weights)]
        )
        == 0
    )
    assert (
        predict.main(
            [
                str(tmp_path / "a.png"),
                str(tmp_path / "b.png"),
                "--preview",
                str(tmp_path / "many.png"),
                "--weights",
                str(untrained_weights),
            ]
        )
        == 0
    )
    for name in ("one.png", "many-1.png", "many-2.png"):
        with Image.open(tmp_path / name) as figure:
            assert figure.format == "PNG" and figure.width >= 800


def test_show_without_a_display_says_so_and_still_predicts(tmp_path, untrained_weights, monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    draw_digit().save(tmp_path / "a.png")
    assert predict.main([str(tmp_path / "a.png"), "--show", "--weights", str(untrained_weights)]) == 0
    captured = capsys.readouterr()
    assert "no display" in captured.err and captured.out.strip()[0].isdigit()


def test_bad_arguments_fail_before_tensorflow_is_imported(tmp_path, untrained_weights):
    code = (
        "import sys, predict\n"
        f"status = predict.main(['missing.png', '--weights', {str(untrained_weights)!r}])\n"
        "print(status, 'tensorflow' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.split() == ["1", "False"]
    assert "missing.png: no such file" in result.stderr
