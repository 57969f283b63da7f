"""Lines across the whole picture: the lines of ruled or squared paper, a dark table beside the page.

They are not the digit: pictures.py drops their ink before it looks for the digit, and keeps the
strokes that cross them. Boolean masks in, boolean masks out; NumPy only.
"""

import numpy as np


def crossing_lines(mask: np.ndarray) -> np.ndarray:
    """The ink of bands that cross the whole picture from edge to edge, such as the lines of
    ruled or squared paper or a dark table beside the page; none if removing them would leave
    almost nothing (a "1" cropped as tightly as it was drawn also runs edge to edge). Strokes of
    the digit that cross a band, or only reach into it, are kept.

    Bands are found on a grid of about 128 cells a side, three cells thick, that are inked at
    both edges and over 3/4 of the way: a line tilted by up to about 2 degrees still counts, and
    so does one whose ink fades beside the digit (whose own ink raises the paper's level there).
    """
    cell = max(1, max(mask.shape) // 128)
    across, down = band_rows(mask, cell), band_rows(mask.T, cell)
    # Squared paper: each line goes on across the other, so at first every crossing is kept as
    # a stroke; once the lines each way are known they no longer count as going on.
    first_across, first_down = band_ink(mask, across, mask, cell), band_ink(mask.T, down, mask.T, cell).T
    lines = band_ink(mask, across, mask & ~first_down, cell) | band_ink(mask.T, down, (mask & ~first_across).T, cell).T
    if mask.sum() - lines.sum() < max(50, 0.02 * mask.sum()):
        return np.zeros_like(mask)
    return lines


def band_rows(mask: np.ndarray, cell: int) -> np.ndarray:
    """Which rows of `mask` lie in a band inked across it, found on a grid of `cell` pixels."""
    n, m = mask.shape
    if n < 3 * cell or not (mask[:, :cell].any() and mask[:, -cell:].any()):
        return np.zeros(n, bool)  # too short for a band, or no ink at one of its edges: most pictures
    padded = np.pad(mask, ((0, -n % cell), (0, -m % cell)))
    coarse = padded.reshape(padded.shape[0] // cell, cell, padded.shape[1] // cell, cell).any(axis=(1, 3))
    inked = coarse[:-2] | coarse[1:-1] | coarse[2:]  # three cells thick
    band = inked[:, 0] & inked[:, -1] & (inked.mean(axis=1) >= 0.75)
    return (np.convolve(band, np.ones(3)) > 0).repeat(cell)[:n]


def band_ink(mask: np.ndarray, bands: np.ndarray, strokes: np.ndarray, cell: int) -> np.ndarray:
    """The ink of the lines in the rows `bands` of `mask`: what runs along the band, over 3/4 of
    any 12 cells, less the strokes that cross it (those in `strokes` just above and below it)."""
    out = np.zeros_like(mask)
    if not bands.any():  # most pictures: nothing to smear the mask for
        return out
    half = 6 * cell
    # A line's fringe, or a line tilted a little, is inked along the band a row up or down.
    padded = np.pad(mask, ((1, 1), (0, 0)))
    smeared = padded[:-2] | padded[1:-1] | padded[2:]
    edges = np.flatnonzero(np.diff(np.concatenate([[0], bands.astype(np.int8), [0]])))
    for top, bottom in zip(edges[::2], edges[1::2], strict=True):
        # A stroke of the digit that only reaches into the band runs along it for a short way.
        sums = np.pad(smeared[top:bottom], ((0, 0), (half + 1, half)), mode="edge").cumsum(axis=1, dtype=np.int32)
        along = sums[:, 2 * half + 1 :] - sums[:, : -2 * half - 1] >= 0.75 * (2 * half + 1)
        above, below = strokes[max(0, top - 2) : top].any(axis=0), strokes[bottom : bottom + 2].any(axis=0)
        out[top:bottom] = mask[top:bottom] & along & ~(above & below)
    return out
