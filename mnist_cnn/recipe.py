"""The training recipe as one value: what model.py's flags choose, train() follows, and a resume compares.

DEFAULT   batch 256, Adam warmed up to 0.003 over the first epoch then a cosine to zero,
          augmented images, the best validation epoch's weights kept
PLAIN     the original recipe, for comparison: batch 32, a constant 0.001 (Adam's default),
          no augmentation, the last epoch's weights
"""

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class Recipe:
    epochs: int = 13
    batch_size: int = 256
    learning_rate: float = 3e-3  # the peak of the warm-up + cosine schedule; constant when plain
    plain: bool = False  # no augmentation, no schedule, the last epoch's weights

    def settings(self) -> dict:
        """The recipe as the plain dict a run's state keeps (run.json), to refuse a resume that differs."""
        return dataclasses.asdict(self)


DEFAULT = Recipe()
PLAIN = Recipe(batch_size=32, learning_rate=1e-3, plain=True)


def choose(plain: bool, **overrides: int | float | None) -> Recipe:
    """DEFAULT or PLAIN with the fields the user gave (None: not given) put in."""
    given = {name: value for name, value in overrides.items() if value is not None}
    return dataclasses.replace(PLAIN if plain else DEFAULT, **given)
