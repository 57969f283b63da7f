"""TensorFlow and Keras, imported once, quietly, with this project's settings.

Use: `from mnist_cnn.backend import keras, tf`.

The settings are environment variables TensorFlow reads at import, so every module that needs
TensorFlow imports it from here, never directly.
"""

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

# TensorFlow's C++ start-up chatter would bury our one-line errors; warnings still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# oneDNN's kernels train this network 2.5x faster on x86 CPUs, but TensorFlow only turns
# them on by itself for some Intel chips (measured on a 2-core AMD EPYC; see the README).
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


@contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Discard what C++ code writes to fd 2: TensorFlow announces oneDNN at import with a log
    line no setting suppresses. Python exceptions raised inside still show, after it."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


with _native_stderr_silenced():
    import keras
    import tensorflow as tf

__all__ = ["keras", "tf"]
