"""How predict.py and the drawing pad say what a picture reads as (reading.judge's pieces):
one digit, `7 (98.6%)`; a number, `2026 (97.1%)`, the marks left out said; `not a digit`; and
the same as one JSON object per picture."""

from pathlib import Path

from mnist_cnn.reading import Piece

NOT_A_DIGIT = "not a digit"


def format_top(piece: Piece, k: int) -> str:
    """'7 (98.6%)', or with the k-1 next most likely digits: '7 (98.6%)  1 (0.9%)  2 (0.3%)'.
    The answer comes first even where the network put another digit first (reading.read_by_its_loops)."""
    return "  ".join(f"{digit} ({piece.probabilities[digit]:.1%})" for digit in piece.ranked[:k])


def number_text(digits: list[Piece]) -> str:
    """The digits read, in order, a space between lines: '2026', or '12 34' written on two lines."""
    return "".join(
        (" " if k and p.digit.line != digits[k - 1].digit.line else "") + str(p.answer) for k, p in enumerate(digits)
    )


def format_reading(pieces: list[Piece], k: int = 1) -> str:
    """One digit as format_top(); a number as its digits (number_text) and the confidence of the
    least sure one, '2026 (97.1%)', then with k > 1 each digit's k most likely:
    '2026 (97.1%): 2 (99.0%)  3 (0.6%) | ...'.
    Pieces that are not digits are left out and counted: '12 (96.0%); 1 mark left out, not a digit';
    a picture with no digit at all reads 'not a digit'."""
    digits = [p for p in pieces if p.is_digit]
    if not digits:
        return NOT_A_DIGIT
    if len(digits) == 1:
        text = format_top(digits[0], k)
    else:
        text = number_text(digits) + f" ({min(p.confidence for p in digits):.1%})"
        if k > 1:
            text += ": " + " | ".join(format_top(p, k) for p in digits)
    left_out = len(pieces) - len(digits)
    if left_out:
        text += f"; {left_out} mark{'s' if left_out > 1 else ''} left out, {NOT_A_DIGIT}"
    return text


def json_record(path: Path, pieces: list[Piece]) -> dict:
    """The reading of one picture with at least one digit as JSON: the number, each digit with its
    box in the picture's pixels (left, top, right, bottom) and its line (0 the top one), and the
    boxes of the marks left out as not digits. One digit is also at the top level, as before
    numbers were read. (A picture with no digit is predict.py's error "not a digit".)"""

    def entry(p: Piece) -> dict:
        return {
            "digit": p.answer,
            "confidence": p.confidence,
            "box": list(p.digit.box),
            "line": p.digit.line,
            "probabilities": p.probabilities.round(6).tolist(),
        }

    digits = [p for p in pieces if p.is_digit]
    each = [entry(p) for p in digits]
    record = {"path": str(path), "number": number_text(digits), "digits": each}
    if len(each) == 1:
        record.update({key: each[0][key] for key in ("digit", "confidence", "probabilities")})
    record["left_out"] = [{"box": list(p.digit.box)} for p in pieces if not p.is_digit]
    return record
