"""Files written whole or not at all, and places checked for writing before the work starts.

What the user had is never replaced by something half-written, and a write that fails (a full
disk, a read-only folder, an I/O error) is a WriteError: one line naming the file and why.
"""

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mnist_cnn.errors import UserError

# model.py writes and predict.py reads this name, so the two scripts meet without flags.
DEFAULT_WEIGHTS = Path("model.weights.h5")


class WriteError(UserError):
    """A file that could not be written: the machine's fault (no space, read-only), not the input's."""

    def __init__(self, path: Path, error: OSError):
        super().__init__(f"cannot write {path}: {reason(error)}")


def reason(error: OSError) -> str:
    """The system's words for an OSError, in lower case: 'no space left on device'."""
    words = error.strerror or str(error)
    return words[:1].lower() + words[1:]


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`, moved over it only if the block succeeds.

    An interrupted or failing write leaves the previous file untouched, and an OSError on the way
    becomes a WriteError. The name is unique per call, so two runs writing the same file cannot
    mix their bytes; it keeps the suffixes because Keras insists weights files end in .weights.h5.
    """
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix="".join(path.suffixes))
        os.close(fd)
        tmp = Path(tmp_name)
        tmp.chmod(0o666 & ~_umask())  # mkstemp makes it private; the result should be an ordinary file
        yield tmp
        with open(tmp, "rb") as f:  # on disk before the rename, so a power cut keeps one whole file
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        raise WriteError(path, e) from None
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def write_atomically(path: Path, data: bytes | str) -> None:
    """Write `data` to `path` whole or not at all (see atomic_path)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data.encode() if isinstance(data, str) else data)


def check_writable(path: Path) -> None:
    """Raise a WriteError now if `path` could not be written later (a read-only or foreign folder),
    so a command fails in a second rather than after its work. Folders that do not exist yet are
    judged by the nearest one that does, where they would be made."""
    folder = path.parent.absolute()
    while not folder.exists():
        folder = folder.parent
    try:
        if path.is_dir():
            raise IsADirectoryError(21, "it is a folder")
        if not folder.is_dir():
            raise NotADirectoryError(20, f"{folder} is not a folder")
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-check.")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise WriteError(path, e) from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
