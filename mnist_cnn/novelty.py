"""Not a digit: how far the network's view of a picture is from every digit it was trained on.

The score is the class-conditional Mahalanobis distance (Lee et al., 2018) on the 128 units
before the last layer: the squared distance to the nearest of the ten class means, each under
its class's own covariance shrunk toward the one the ten share (regularized discriminant
analysis, Friedman 1989). Digits land near their class's mean; letters, symbols and doodles
land between or beyond them, where softmax still picks some digit with high confidence.
bench/notdigits.py compares it with the energy score of the logits and with the softmax's own
confidence.

A picture is not a digit when its distance is above a threshold and the network is not
CONFIDENT of its reading. The means, the covariance's inverse and the threshold are computed by
model.py on the training images after training and saved beside the weights (model.weights.h5
-> model.digits.npz); `python3 model.py --calibrate` computes them for weights trained without
them. The threshold refuses REFUSED of the validation images, which are real digits.

NumPy only: the activations come from network.features_and_probabilities.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnist_cnn.errors import UserError
from mnist_cnn.storage import atomic_path

REFUSED = 0.01  # the share of real MNIST digits (validation) called "not a digit"
# A reading at least this sure is a digit however far out it lies: neat digits unlike MNIST's
# (a round 0, a 1 with a foot) lie far out yet read at 100%. With it, 0.5% of the real-world
# set's digits are refused rather than 1.3%, and more letters are caught (36% rather than 31%),
# as the threshold can come down (bench/notdigits.py).
CONFIDENT = 0.999
# Each class's covariance counts this much, the shared one the rest: a 1's activations vary
# along other directions than an 8's, and a letter that lies along a direction its nearest class
# does not vary in is far out. With the weights of three seeds, at the threshold that refuses 1%
# of validation digits, 0.75 catches 47% of bench/notdigits.py's letters rather than 38% (the
# shared covariance alone), 86% of its symbols as before, and refuses 11 of the real-world
# set's digits rather than 14; 1.0 (each class's own) catches 52% but misses more symbols (80%)
# and refuses 16.
OWN_COVARIANCE = 0.75


@dataclass(frozen=True)
class DigitStats:
    """Where the digits lie in the 128-unit layer: class means, their precisions, the refusal threshold."""

    means: np.ndarray  # (10, 128)
    precision: np.ndarray  # (10, 128, 128): each class's inverse covariance; (128, 128): one shared (older stats)
    threshold: float  # distances above it are not digits


def fit_stats(features: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Class means and precisions (OWN_COVARIANCE of each class's covariance, the rest the
    shared one's) of the training images' activations."""
    features = features.astype(np.float64)
    means = np.stack([features[labels == k].mean(axis=0) for k in range(10)])
    centred = features - means[labels]
    shared = centred.T @ centred / len(features)
    own = [np.cov(centred[labels == k], rowvar=False, bias=True) for k in range(10)]
    # ReLU units that never fire leave a covariance singular; a small ridge keeps it invertible.
    ridge = 1e-6 * np.trace(shared) / len(shared) * np.eye(len(shared))
    mixed = [OWN_COVARIANCE * c + (1 - OWN_COVARIANCE) * shared + ridge for c in own]
    return means, np.linalg.inv(np.stack(mixed))


def distances(means: np.ndarray, precision: np.ndarray, features: np.ndarray) -> np.ndarray:
    """Each row's squared Mahalanobis distance to the nearest class mean, under that class's
    precision (or one shared by all, a single 128 x 128)."""
    gaps = features[None, :, :] - means[:, None, :]  # (10, n, 128)
    # The product with the precision through BLAS: a three-operand einsum loops in plain C, 7x
    # slower (74 ms for 256 pieces, a quarter of a second in 1,000 pictures).
    return np.einsum("knd,knd->kn", gaps @ precision, gaps).min(axis=0)


def calibrate(train: tuple[np.ndarray, np.ndarray], validation: tuple[np.ndarray, np.ndarray]) -> DigitStats:
    """Stats from the training images' activations and labels; the threshold from the validation
    images' activations and probabilities, so that REFUSED of them would be called not a digit."""
    means, precision = fit_stats(*train)
    features, probabilities = validation
    far = np.where(probabilities.max(axis=1) < CONFIDENT, distances(means, precision, features), -np.inf)
    return DigitStats(means, precision, float(np.quantile(far, 1 - REFUSED)))


def stats_path(weights: Path) -> Path:
    """model.weights.h5 -> model.digits.npz"""
    return weights.with_name(weights.name.removesuffix(".weights.h5") + ".digits.npz")


def save_stats(stats: DigitStats, path: Path) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, means=stats.means, precision=stats.precision, threshold=stats.threshold)


def load_stats(path: Path) -> DigitStats | None:
    """The stats saved beside some weights; None where there are none (weights from before them)."""
    try:
        with np.load(path) as f:
            stats = DigitStats(f["means"], f["precision"], float(f["threshold"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError) as e:
        raise UserError(f"{path}: unreadable ({e}); recompute it with python3 model.py --calibrate") from None
    if stats.means.shape != (10, 128) or stats.precision.shape not in ((10, 128, 128), (128, 128)):
        raise UserError(f"{path}: not the stats of this network; recompute it with python3 model.py --calibrate")
    return stats
