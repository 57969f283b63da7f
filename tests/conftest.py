"""Shared fixtures: the project root on sys.path, script runners, MNIST and weights files."""

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the scripts and their package, imported from the checkout

from mnist_cnn import novelty  # noqa: E402  (needs the path above)
from mnist_cnn.mnist import read_npz  # noqa: E402
from mnist_cnn.network import build_model  # noqa: E402


def run_script(script: str, *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300):
    """Run one of the project's scripts as a user would (env: the whole environment, default ours)."""
    return subprocess.run(
        [sys.executable, str(ROOT / script), *args],
        cwd=cwd,
        env=os.environ if env is None else env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_line_error(result, *fragments: str) -> None:
    """A failure as users should see it: non-zero exit, one error line on stderr, no traceback.

    argparse's own usage errors come after its usage line, as every argparse tool does.
    """
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    if lines and lines[0].startswith("usage:"):
        lines = [line for line in lines if ": error: " in line]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def png_claiming_size(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels: what a decompression bomb looks like at open."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


@pytest.fixture(scope="session")
def mnist_path() -> Path:
    """The real MNIST .npz: $MNIST_NPZ, else Keras' download; skipped when neither is there."""
    if os.environ.get("MNIST_NPZ"):
        path = Path(os.environ["MNIST_NPZ"])
        if not path.is_file():
            pytest.fail(f"MNIST_NPZ={path} is not a file")
        return path
    try:
        import keras

        keras.datasets.mnist.load_data()
    except Exception as e:
        pytest.skip(f"needs real MNIST: set MNIST_NPZ=path/to/mnist.npz (download failed: {type(e).__name__})")
    return Path.home() / ".keras" / "datasets" / "mnist.npz"


@pytest.fixture(scope="session")
def mnist(mnist_path: Path) -> dict[str, np.ndarray]:
    return read_npz(str(mnist_path))


@pytest.fixture(scope="session")
def small_mnist_path(mnist: dict[str, np.ndarray], tmp_path_factory) -> Path:
    """A real but small MNIST: 4,000 training and 1,000 test images, for a training run of seconds."""
    path = tmp_path_factory.mktemp("data") / "small_mnist.npz"
    np.savez(
        path,
        x_train=mnist["x_train"][:4000],
        y_train=mnist["y_train"][:4000],
        x_test=mnist["x_test"][:1000],
        y_test=mnist["y_test"][:1000],
    )
    return path


@pytest.fixture(scope="session")
def untrained_weights(tmp_path_factory) -> Path:
    """Weights of the right shape (random), for tests of the plumbing rather than accuracy, with
    digit stats beside them whose threshold calls every mark a digit, as plumbing tests expect."""
    path = tmp_path_factory.mktemp("untrained") / "model.weights.h5"
    model = build_model()
    model.save_weights(path)
    everything = novelty.DigitStats(np.zeros((10, 128)), np.eye(128), threshold=np.inf)
    novelty.save_stats(everything, novelty.stats_path(path))
    return path


@pytest.fixture(scope="session")
def trained_run(small_mnist_path: Path, tmp_path_factory):
    """One real run of model.py (1 epoch on the small MNIST, batch 32 for enough steps): its directory and output."""
    workdir = tmp_path_factory.mktemp("trained")
    args = ("--data", str(small_mnist_path), "--epochs", "1", "--batch-size", "32", "--seed", "0", "--no-show")
    result = run_script("model.py", *args, cwd=workdir)
    assert result.returncode == 0, result.stderr
    return workdir, result
