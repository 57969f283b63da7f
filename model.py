"""Train a small convolutional network on MNIST; save its weights and a plot of the training.

    python3 model.py                        # 13 epochs; MNIST is downloaded once by Keras
    python3 model.py --data mnist.npz       # offline: a local copy (or MNIST_NPZ=mnist.npz)

The network (mnist_cnn/network.py) reads raw 0..255 pixels and normalizes them itself. 6,000
of the 60,000 training images are held out for validation; the 10,000 test images are used
once, at the end. The recipe (mnist_cnn/recipe.py) is the default one, or --plain's.

A run keeps its state in model.resume/ beside the weights, updated after every epoch: a run
that is killed or interrupted continues from its last finished epoch when the same command
is started again (mnist_cnn/resume.py).
"""

import argparse
import os
import shutil
import sys
from functools import partial
from pathlib import Path

import numpy as np

from mnist_cnn import figures, novelty, recipe, resume
from mnist_cnn.errors import UserError, run_script
from mnist_cnn.storage import DEFAULT_WEIGHTS, WriteError, check_writable


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The arguments, with `args.recipe` the training recipe they choose."""
    default, plain = recipe.DEFAULT, recipe.PLAIN
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, help=f"training epochs (default: {default.epochs})")
    parser.add_argument(
        "--batch-size",
        type=int,
        help=f"images per step (default: {default.batch_size}; {plain.batch_size} with --plain)",
    )
    parser.add_argument(
        "--learning-rate",
        type=float,
        help=f"peak learning rate (default: {default.learning_rate}; with --plain a constant {plain.learning_rate})",
    )
    parser.add_argument(
        "--plain",
        action="store_true",
        help="the original recipe, for comparison: no augmentation, constant learning rate, last epoch's weights",
    )
    parser.add_argument(
        "--data",
        default=os.environ.get("MNIST_NPZ"),
        help="local MNIST .npz (keys x_train, y_train, x_test, y_test); default: $MNIST_NPZ, else download with Keras",
    )
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS, help="where to save the weights")
    parser.add_argument("--plot", type=Path, default=Path("results.png"), help="where to save the history plot")
    parser.add_argument("--seed", type=int, help="random seed for a reproducible run (default: a fresh one, printed)")
    parser.add_argument(
        "--precision",
        choices=("auto", "float32", "bfloat16"),
        default="auto",
        help="the arithmetic of training; the weights are float32 either way (default: auto, bfloat16 on CPUs "
        "with AVX512_BF16 or AMX)",
    )
    parser.add_argument("--no-show", action="store_true", help="save the plot without opening a window")
    parser.add_argument(
        "--calibrate",
        action="store_true",
        help="no training: compute the digit stats that tell digits from non-digits (model.digits.npz) "
        "for existing --weights",
    )
    parser.add_argument(
        "--fresh", action="store_true", help="start over, discarding the state of an interrupted run (model.resume/)"
    )
    args = parser.parse_args(argv)
    args.recipe = recipe.choose(
        args.plain, epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate
    )
    if args.recipe.epochs < 1 or args.recipe.batch_size < 1 or args.recipe.learning_rate <= 0:
        parser.error("--epochs and --batch-size must be at least 1, --learning-rate above 0")
    if not args.weights.name.endswith(".weights.h5"):
        parser.error("--weights must end in .weights.h5 (Keras' weights format)")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    state, stats = resume.state_dir(args.weights), novelty.stats_path(args.weights)
    mistakes = figures.mistakes_path(args.plot)
    places = [stats] if args.calibrate else [args.weights, state / "run.json", args.plot, mistakes, stats]
    for place in places:  # a second, not a whole run, to find out
        check_writable(place)
    if args.calibrate and not args.weights.is_file():
        raise UserError(f"{args.weights}: no such weights to calibrate; train them with python3 model.py")
    from mnist_cnn.mnist import load_mnist, split_validation  # reads the data before TensorFlow loads

    (x_train, y_train), (x_test, y_test) = load_mnist(args.data)
    train_data, val_data = split_validation(x_train, y_train)
    (x_fit, y_fit), (x_val, _) = train_data, val_data

    from mnist_cnn.backend import keras
    from mnist_cnn.network import build_model, features_and_probabilities, float32_copy, load_model, save_weights

    if args.calibrate:
        not_digits, printed_digits = letter_examples(x_fit)
        trained_on, validation, letters, digits = features_and_probabilities(
            load_model(args.weights), x_fit, x_val, not_digits, printed_digits
        )
        novelty.save_stats(novelty.calibrate(trained_on, y_fit, validation, (letters, digits)), stats)
        print(f"saved {stats}")
        return
    from mnist_cnn.training import ResumeNotice, train, use_precision

    # What must not change between an interrupted run and the one that resumes it.
    settings = {**args.recipe.settings(), "data": str(Path(args.data).resolve()) if args.data else None}
    with resume.exclusive_state(state):
        seed = resume.start_or_resume(state, settings, args.seed, args.fresh)
        keras.utils.set_random_seed(seed)
        print(f"{len(train_data[0])} training, {len(val_data[0])} validation, {len(x_test)} test images; seed {seed}")
        precision = use_precision(args.precision)
        print(f"arithmetic: {precision}" + (", weights in float32" if precision != "float32" else ""))
        model = build_model()
        model.summary()
        notice = ResumeNotice(state)
        try:
            history = train(model, train_data, val_data, args.recipe, state, [notice])
        except WriteError as e:
            raise kept_for_resume(e, state) from None
        except OSError as e:
            if notice.first and (state / "backup").exists():  # while restoring the backup
                raise UserError(
                    f"cannot resume from {state}/: its backup is unreadable ({e}); add --fresh to start over"
                ) from None
            raise kept_for_resume(WriteError(Path(e.filename or state), e), state) from None  # CSVLogger's
        except KeyboardInterrupt:
            done = resume.epochs_done(state)
            if not done:
                shutil.rmtree(state)
                sys.exit("model.py: interrupted before the first epoch finished; nothing was saved")
            sys.exit(
                f"model.py: interrupted after epoch {done} of {args.recipe.epochs}; run the same command to resume"
            )
        accuracies = history["val_accuracy"]
        kept = len(accuracies) if args.recipe.plain else accuracies.index(max(accuracies)) + 1
        print(f"kept epoch {kept} of {len(accuracies)} (validation accuracy {accuracies[kept - 1]:.4f})")
        # Drawn before the weights are saved, so that new weights never lie beside old stats for long.
        not_digits, printed_digits = letter_examples(x_fit)
        try:
            save_weights(model, args.weights)
        except WriteError as e:
            raise kept_for_resume(e, state) from None
        # Tested and measured as predict.py will run it, float32 throughout, in one pass: the test
        # set's answers, and where the training digits lie in the 128-unit layer and the distance
        # beyond which a picture is not a digit, and the letter detector (mnist_cnn/novelty.py).
        trained_on, validation, (_, test_probabilities), letters, digits = features_and_probabilities(
            float32_copy(model), x_fit, x_val, x_test, not_digits, printed_digits
        )
        test_accuracy = float(np.mean(test_probabilities.argmax(axis=1) == y_test))
        right = test_probabilities[np.arange(len(y_test)), y_test]
        test_loss = float(np.mean(-np.log(np.clip(right, 1e-7, 1))))  # Keras' cross-entropy, its clipping too
        print(f"test accuracy: {test_accuracy:.4f}  test loss: {test_loss:.4f}")
        try:
            novelty.save_stats(novelty.calibrate(trained_on, y_fit, validation, (letters, digits)), stats)
            figures.save_plot(history, args.plot, test_accuracy)
            figures.save_mistakes(mistakes, x_test, y_test, test_probabilities)
        except WriteError as e:
            raise kept_for_resume(e, state) from None
        shutil.rmtree(state)  # the run is complete: nothing left to resume
    print(f"saved {args.weights}, {stats}, {args.plot} and {mistakes}")
    if not args.no_show and figures.has_display():
        draw = partial(figures.draw_history, history=history, test_accuracy=test_accuracy)
        figures.show_window(figures.PLOT_WINDOW_TITLE, draw, figures.HISTORY_SIZE)


def letter_examples(x_fit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(not digits, digits) for novelty.py's letter detector, as predict.py reads them: printed
    letters, and printed digits beside MNIST's on paper. Drawn once training is over (over a
    minute on a 2-core AMD EPYC), so that a resumed run does not wait for them again before its
    first epoch; a run interrupted while they are drawn finishes when started again."""
    from mnist_cnn.outliers import printed_characters

    print("drawing the printed letters and digits that teach the letter detector")
    return printed_characters(x_fit[:: max(1, len(x_fit) // novelty.LETTER_ON_PAPER)])


def kept_for_resume(error: WriteError, state: Path) -> UserError:
    """The one line for a write that failed in the middle of a run (a full disk): what failed, and
    that the same command goes on from the last finished epoch once it can write again."""
    if not resume.epochs_done(state):
        shutil.rmtree(state, ignore_errors=True)
        return UserError(f"{error}; no epoch had finished, so nothing is kept")
    return UserError(f"{error}; the finished epochs are kept in {state}/: make room and run the same command to resume")


if __name__ == "__main__":
    run_script("model.py", main, "interrupted; the previous weights and plot, if any, are untouched")
