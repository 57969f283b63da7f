"""Files written whole or not at all: what the user had is never replaced by something half-written."""

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# model.py writes and predict.py reads this name, so the two scripts meet without flags.
DEFAULT_WEIGHTS = Path("model.weights.h5")


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`, moved over it only if the block succeeds.

    An interrupted or failing write leaves the previous file untouched. The name is unique
    per call, so two runs writing the same file cannot mix their bytes; it keeps the
    suffixes because Keras insists weights files end in .weights.h5.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix="".join(path.suffixes))
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.chmod(0o666 & ~_umask())  # mkstemp makes it private; the result should be an ordinary file
    try:
        yield tmp
        with open(tmp, "rb") as f:  # on disk before the rename, so a power cut keeps one whole file
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
