"""Inputs that try to break predict.py: mutated image bytes, absurd sizes and modes.

Whatever a file holds, predict.py answers with a digit or one clear line naming the file:
never a traceback, never a hang, and memory stays bounded. Hypothesis generates the inputs;
the number of examples keeps the whole file to well under a minute.
"""

import io
import json
import os
import random
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, png_claiming_size
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from mnist_cnn import batches
from mnist_cnn.errors import UserError

FORMATS = {"PNG": ".png", "JPEG": ".jpg", "GIF": ".gif", "BMP": ".bmp", "TIFF": ".tif", "WEBP": ".webp"}
MODES = ("1", "L", "P", "LA", "RGB", "RGBA", "I;16", "I", "F", "CMYK")


def digit_picture(mode: str = "L", size: tuple[int, int] = (64, 48)) -> Image.Image:
    img = Image.new("L", size, 230)
    ImageDraw.Draw(img).line([(size[0] // 3, 8), (size[0] // 2, size[1] - 8)], fill=20, width=3)
    if mode in ("I;16", "I"):
        return Image.fromarray(np.asarray(img, np.uint16) * 257).convert(mode)
    return img.convert(mode)


# The modes each format can store (TIFF: all of MODES); others are converted to the last one.
STORABLE = {
    "JPEG": ("L", "CMYK", "RGB"),
    "WEBP": ("L", "RGBA", "RGB"),
    "GIF": ("L", "P"),
    "BMP": ("1", "L", "P", "RGBA", "RGB"),
    "PNG": ("1", "L", "LA", "P", "RGBA", "I;16", "RGB"),
}


def encoded(img: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if img.mode not in STORABLE.get(fmt, MODES):
        img = img.convert(STORABLE[fmt][-1])
    img.save(buffer, fmt)
    return buffer.getvalue()


SEEDS = [(fmt, encoded(digit_picture(mode), fmt)) for fmt in FORMATS for mode in ("L", "RGBA", "P")]


@st.composite
def mutated_files(draw) -> tuple[str, bytes]:
    """A valid small image in one of several formats, then bytes flipped, inserted or cut off."""
    fmt, data = draw(st.sampled_from(SEEDS))
    data = bytearray(data)
    for _ in range(draw(st.integers(1, 8))):
        action = draw(st.sampled_from(["flip", "insert", "truncate", "header"]))
        position = draw(st.integers(0, max(0, len(data) - 1)))
        if action == "flip" and data:
            data[position] ^= draw(st.integers(1, 255))
        elif action == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=64))
        elif action == "truncate":
            del data[position:]
        else:  # the first bytes say what the file is and how big: the likeliest to mislead a decoder
            data[: min(len(data), 32)] = draw(st.binary(min_size=32, max_size=32))[: min(len(data), 32)]
    return FORMATS[fmt], bytes(data)


def assert_digit_or_clear_error(path: Path) -> None:
    try:
        digits, _ = batches.prepare(path, "auto", keep_picture=True)
    except UserError as e:
        assert str(e).startswith(f"{path}: ") and "\n" not in str(e)
        return
    assert digits
    for digit in (d.image for d in digits):
        assert digit.shape == (28, 28, 1) and np.isfinite(digit).all()
        assert digit.min() >= 0 and digit.max() <= 255


FUZZ = settings(max_examples=150, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(mutated_files())
def test_mutated_image_bytes_give_a_digit_or_a_clear_error(tmp_path, file):
    suffix, data = file
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    assert_digit_or_clear_error(path)


@FUZZ
@given(
    mode=st.sampled_from(MODES),
    width=st.integers(1, 3000),
    height=st.integers(1, 3000),
    fmt=st.sampled_from(["PNG", "TIFF", "BMP"]),
    content=st.sampled_from(["digit", "noise", "flat"]),
)
def test_any_size_and_mode_gives_a_digit_or_a_clear_error(tmp_path, mode, width, height, fmt, content):
    if content == "digit":
        img = digit_picture(mode, (width, height))
    elif content == "noise":
        noise = np.random.default_rng(width * height).integers(0, 256, (height, width), dtype=np.uint8)
        img = Image.fromarray(noise).convert(mode)
    else:
        img = Image.new(mode, (width, height))
    path = tmp_path / f"sized{FORMATS[fmt]}"
    path.write_bytes(encoded(img, fmt))
    assert_digit_or_clear_error(path)


@pytest.mark.parametrize(("width", "height"), [(100_000, 100_000), (2**31 - 1, 1), (1, 2**31 - 1)])
def test_headers_claiming_absurd_sizes_are_refused_as_bombs(tmp_path, width, height):
    path = tmp_path / "claims.png"
    path.write_bytes(png_claiming_size(width, height))
    with pytest.raises(UserError, match="decompression bomb"):
        batches.prepare(path, "auto", keep_picture=False)


def test_cli_answers_every_fuzzed_file_in_bounded_time_and_memory(tmp_path, untrained_weights):
    rng = random.Random(0)
    for i in range(40):
        fmt, data = rng.choice(SEEDS)
        data = bytearray(data)
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if i % 4 == 0:
            del data[rng.randrange(len(data)) :]
        (tmp_path / f"{i:02d}{FORMATS[fmt]}").write_bytes(bytes(data))
    (tmp_path / "bomb.png").write_bytes(png_claiming_size(100_000, 100_000))
    names = sorted(p.name for p in tmp_path.iterdir())

    out, err = tmp_path.parent / "stdout", tmp_path.parent / "stderr"
    with open(out, "w") as stdout, open(err, "w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "predict.py"), str(tmp_path), "--json", "--weights", str(untrained_weights)],
            stdout=stdout,
            stderr=stderr,
        )
    hang = threading.Timer(120, proc.kill)  # a hang fails the test instead of stalling it
    hang.start()
    _, status, usage = os.wait4(proc.pid, 0)  # reaps it ourselves, for its own peak memory
    hang.cancel()
    assert os.waitstatus_to_exitcode(status) in (0, 1) and "Traceback" not in err.read_text(), err.read_text()
    answers = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(Path(a["path"]).name for a in answers) == names  # every file answered, once
    for answer in answers:
        assert ("digit" in answer) != ("error" in answer), answer
    assert any("decompression bomb" in a.get("error", "") for a in answers)
    assert usage.ru_maxrss < 2 * 2**20, f"peak memory {usage.ru_maxrss / 2**20:.1f} GB"  # TensorFlow itself is ~0.6
