"""predict.py: turning any image into an MNIST-like digit, its errors, and the command line."""

import os
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_one_line_error, run_script
from PIL import Image, ImageDraw

import predict


def draw_digit(size=(120, 160), ink=0, paper=255, mode="L") -> Image.Image:
    """A thick '7', dark ink on light paper by default."""
    img = Image.new(mode, size, paper)
    draw = ImageDraw.Draw(img)
    w, h = size
    draw.line([(0.25 * w, 0.2 * h), (0.75 * w, 0.2 * h), (0.4 * w, 0.85 * h)], fill=ink, width=max(3, w // 10))
    return img


def assert_white_digit_on_black(digit: np.ndarray) -> None:
    assert digit.shape == (28, 28, 1) and digit.dtype == np.float32
    assert digit.min() >= 0 and digit.max() <= 255
    border = np.concatenate([digit[0], digit[-1], digit[:, 0], digit[:, -1]])
    assert border.mean() < 30, "background should be black"
    assert digit.max() > 150, "the digit should be bright"


def test_dark_digit_on_light_paper_becomes_white_on_black():
    assert_white_digit_on_black(predict.preprocess(draw_digit(ink=0, paper=255)))


def test_light_digit_on_dark_background_stays_white_on_black():
    assert_white_digit_on_black(predict.preprocess(draw_digit(ink=255, paper=0)))


def test_both_polarities_of_one_digit_give_the_same_input():
    dark_on_light = predict.preprocess(draw_digit(ink=0, paper=255))
    light_on_dark = predict.preprocess(draw_digit(ink=255, paper=0))
    np.testing.assert_allclose(dark_on_light, light_on_dark, atol=1)


def test_digit_drawn_on_a_transparent_canvas_is_composited_onto_white():
    canvas = Image.new("RGBA", (100, 100), (0, 0, 0, 0))  # transparent *black*: naive conversion sees all black
    ImageDraw.Draw(canvas).line([(50, 10), (50, 90)], fill=(0, 0, 0, 255), width=12)
    digit = predict.preprocess(canvas)
    assert_white_digit_on_black(digit)
    assert digit[:, 14].mean() > digit[:, 3].mean() + 100  # the stroke, in the middle, is what is white


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA", "P", "1", "CMYK", "I", "F"])
def test_every_common_pillow_mode_gives_an_mnist_shaped_digit(mode):
    img = draw_digit(mode="RGB", ink=(0, 0, 0), paper=(255, 255, 255)).convert(mode)
    assert_white_digit_on_black(predict.preprocess(img))


def test_sixteen_bit_gray_is_scaled_not_clipped():
    eight_bit = np.asarray(draw_digit(), dtype=np.uint16)
    img = Image.fromarray(eight_bit * 257)  # the same picture over 0..65535
    assert img.mode.startswith("I;16")
    np.testing.assert_allclose(predict.preprocess(img), predict.preprocess(draw_digit()), atol=1)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "GIF", "WEBP", "TIFF"])
def test_every_common_file_format_is_read(tmp_path, fmt):
    path = tmp_path / f"digit.{fmt.lower()}"
    draw_digit(mode="RGB", ink=(20, 20, 20), paper=(240, 240, 240)).save(path, fmt)
    assert_white_digit_on_black(predict.preprocess(predict.load_image(path)))


def write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def truncated_png(path: Path) -> Path:
    draw_digit().save(path)
    return write(path, path.read_bytes()[:200])


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.png", "no such file"),
        (lambda d: d, "is a directory"),
        (lambda d: write(d / "empty.png", b""), "not an image"),
        (lambda d: write(d / "notes.png", b"hello"), "not an image"),
        (lambda d: truncated_png(d / "cut.png"), "truncated or corrupt"),
    ],
)
def test_unreadable_images_raise_one_clear_error(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(predict.UserError, match=message):
        predict.load_image(path)


def test_cli_without_an_image_explains_both_ways_to_give_one(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "IMG_PATH"}
    assert_one_line_error(run_script("predict.py", cwd=tmp_path, env=env), "IMG_PATH=<img> python3 predict.py")


def test_cli_without_weights_says_to_train_first(tmp_path):
    draw_digit().save(tmp_path / "seven.png")
    assert_one_line_error(run_script("predict.py", "seven.png", cwd=tmp_path), "train first with python3 model.py")


@pytest.mark.parametrize(
    ("content", "message"), [(b"", "not an image"), (b"text", "not an image"), (None, "no such file")]
)
def test_cli_rejects_bad_images_in_one_line(tmp_path, untrained_weights, content, message):
    if content is not None:
        (tmp_path / "bad.png").write_bytes(content)
    result = run_script("predict.py", "bad.png", "--weights", str(untrained_weights), cwd=tmp_path)
    assert_one_line_error(result, "bad.png", message)


def test_cli_rejects_weights_that_are_not_hdf5(tmp_path):
    draw_digit().save(tmp_path / "seven.png")
    (tmp_path / "model.weights.h5").write_text("not weights")
    assert_one_line_error(run_script("predict.py", "seven.png", cwd=tmp_path), "cannot load", "python3 model.py")


def test_cli_rejects_weights_of_another_network(tmp_path):
    import keras

    other = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
    other.save_weights(tmp_path / "model.weights.h5")
    draw_digit().save(tmp_path / "seven.png")
    assert_one_line_error(run_script("predict.py", "seven.png", cwd=tmp_path), "cannot load", "python3 model.py")


def test_img_path_environment_variable_prints_the_digit_first(tmp_path, untrained_weights):
    draw_digit().save(tmp_path / "seven.png")
    env = {**os.environ, "IMG_PATH": "seven.png"}
    result = run_script("predict.py", "--weights", str(untrained_weights), cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    digit, confidence = result.stdout.split()
    assert digit in "0123456789" and len(digit) == 1
    assert confidence.startswith("(") and confidence.endswith("%)")
