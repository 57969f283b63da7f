"""Many picture files turned into network inputs chunk by chunk, by worker processes when there are many.

Each file gives (path, digit, picture) or (path, UserError, None): one unreadable file never
stops the others. No TensorFlow here: predict.py loads the network while the workers decode.
"""

import ctypes
import multiprocessing
import os
import sys
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image

from mnist_cnn.errors import UserError
from mnist_cnn.pictures import Digit, load_image, read_digits

CHUNK = 256  # images decoded and predicted together: bounds memory however many are given
MANY_FILES = 32  # from this many files on, worker processes decode them
# glibc's mallopt() parameters (malloc.h): how much freed memory it keeps, and from what size on
# it maps each array afresh from the system.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
KEPT_MEMORY, MAPPED_FROM = 64 << 20, 16 << 20
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


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


def prepare(path: Path, invert: str, keep_picture: bool) -> tuple[list[Digit], Image.Image | None]:
    """The digits in one file, their boxes in the file's own pixels, and, when asked, a small copy
    of the picture to show (its info["original_size"] the file's, to draw the boxes on it)."""
    img = load_image(path)
    try:
        digits = read_digits(img, invert)
    except UserError as e:
        raise UserError(f"{path}: {e}") from None
    scale = np.divide(img.info["original_size"], img.size)
    digits = [d.scaled(*(float(v) for v in scale)) for d in digits]
    if not keep_picture:
        return digits, None
    img.thumbnail((320, 320))
    return digits, img.convert("RGBA" if img.has_transparency_data else "RGB")


def attempt(path: Path, invert: str, keep_picture: bool) -> tuple:
    """(path, digits, picture) for one file, or (path, UserError, None) if it cannot be read."""
    try:
        return (path, *prepare(path, invert, keep_picture))
    except UserError as e:
        return path, e, None


def quiet_pillow() -> None:
    """Pillow warns about pictures it could still decode (photos between its pixel limit and twice
    it, a short TIFF strip, odd EXIF): the picture is what counts, and each warning is two lines."""
    warnings.filterwarnings("ignore", module="PIL")


def keep_freed_memory() -> None:
    """Have glibc keep the memory one picture's arrays free for the next picture's.

    By default it hands a few hundred kilobytes back to the system after each picture and takes
    them again, page fault by page fault, for the next: on 1,000 pictures in bench/predict.py the
    workers took 440,000 page faults rather than 175,000, and the call 0.3 s longer (2-core Intel
    Xeon). Elsewhere (macOS, musl) there is no such call, and nothing to do.
    """
    if sys.platform != "linux":
        return
    try:
        libc = ctypes.CDLL(None)  # this process's own symbols: the C library's among them
        libc.mallopt(M_TRIM_THRESHOLD, KEPT_MEMORY)
        libc.mallopt(M_MMAP_THRESHOLD, MAPPED_FROM)
    except (OSError, AttributeError):
        pass


def start_worker() -> None:
    """A worker process's set-up, before its first picture."""
    quiet_pillow()
    keep_freed_memory()


def decoded_in_workers(count: int) -> bool:
    """Whether prepared_chunks() hands `count` files to worker processes."""
    return count >= MANY_FILES and (os.cpu_count() or 1) >= 2


def prepared_chunks(
    files: list[Path], invert: str, keep_pictures: bool, workers_started: Callable[[], None] = lambda: None
) -> Iterator[list[tuple]]:
    """attempt() for every file, CHUNK at a time.

    Many files are decoded in two worker processes, which use both cores while this one imports
    TensorFlow and runs the network (threads would share one interpreter lock): once they run,
    `workers_started()` is called, to start that. At most four chunks (two with pictures) are
    ever in flight, so memory stays bounded. A few files are not worth starting them.
    """
    chunks = [files[start : start + CHUNK] for start in range(0, len(files), CHUNK)]
    work = partial(attempt, invert=invert, keep_picture=keep_pictures)
    if not decoded_in_workers(len(files)):
        yield from ([work(path) for path in chunk] for chunk in chunks)
        return
    # Forked, the workers have this process's imports (numpy, scipy, Pillow) at no cost, where a
    # spawned one imports them and predict.py again: 0.5 s of CPU each, and 1,000 pictures in
    # bench/predict.py took 0.2-0.4 s longer. A fork is safe while no thread of ours runs (the
    # BLAS library's own threads are fork-safe): the pool forks both workers at its first task,
    # and only then does workers_started() let TensorFlow in. Where TensorFlow already runs
    # (predict.main called again in one process), they are spawned.
    context = multiprocessing.get_context("spawn" if "tensorflow" in sys.modules else "fork")
    with ProcessPoolExecutor(max_workers=2, mp_context=context, initializer=start_worker) as pool:
        in_flight: deque = deque()
        for chunk in chunks:
            in_flight.append(pool.map(work, chunk, chunksize=8))
            if len(in_flight) == 1:
                workers_started()
            if len(in_flight) == (2 if keep_pictures else 4):  # digits are 3 KB, pictures to show 300
                yield list(in_flight.popleft())
        while in_flight:
            yield list(in_flight.popleft())
