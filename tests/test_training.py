"""A real, short run of model.py on MNIST digits, and predict.py reading real test digits with its weights."""

import re

import h5py
import numpy as np
from conftest import run_script
from PIL import Image

import predict
from mnist_cnn import figures, network, reading
from mnist_cnn.pictures import Digit


def test_one_epoch_on_real_digits_saves_weights_and_plot(trained_run):
    workdir, result = trained_run
    assert "Total params: 1,386,506" in result.stdout  # the summary is printed before training
    assert (workdir / "model.weights.h5").is_file()
    with Image.open(workdir / "results.png") as plot:
        assert plot.format == "PNG"
    # No temporaries; the digit stats beside the weights, for "not a digit".
    assert sorted(p.name for p in workdir.iterdir()) == [
        "model.digits.npz",
        "model.weights.h5",
        "results-mistakes.png",
        "results.png",
    ]
    assert "kept epoch 1 of 1" in result.stdout


def test_one_epoch_on_real_digits_beats_a_real_accuracy_floor(trained_run, mnist):
    workdir, result = trained_run
    reported = float(re.search(r"test accuracy: ([0-9.]+)", result.stdout).group(1))
    net = network.build_model()
    net.load_weights(workdir / "model.weights.h5")
    # Test images 1000..2999 were never seen by that run, not even as its test set.
    held_out = mnist["x_test"][1000:3000, ..., None], mnist["y_test"][1000:3000]
    accuracy = np.mean(np.argmax(net.predict(held_out[0], verbose=0), axis=1) == held_out[1])
    assert accuracy > 0.85, accuracy  # 3,600 images and one epoch reach about 0.9; chance is 0.1
    assert reported > 0.85


def test_predict_reads_real_test_digits_saved_as_png_in_both_polarities(trained_run, mnist, tmp_path, capsys):
    workdir, _ = trained_run
    digits, labels = mnist["x_test"][1000:1020], mnist["y_test"][1000:1020]
    answers = {"white on black": [], "black on white": []}
    for i, digit in enumerate(digits):
        for polarity, pixels in (("white on black", digit), ("black on white", 255 - digit)):
            path = tmp_path / f"{i}-{polarity.replace(' ', '_')}.png"
            Image.fromarray(pixels).resize((112, 112)).save(path)
            predict.main([str(path), "--weights", str(workdir / "model.weights.h5")])
            # A picture the one-epoch weights call "not a digit" prints nothing: a wrong answer.
            answers[polarity].append((capsys.readouterr().out.split() or ["not a digit"])[0])
    for polarity, predicted in answers.items():
        correct = np.mean(np.array(predicted) == labels.astype(str))
        assert correct >= 0.8, f"{polarity}: {correct:.0%} right"
    # The two polarities make 28x28s up to 0.4 of a grey level apart, enough for a digit on the
    # refusal threshold's edge to be "not a digit" in one only; any two readings must agree.
    read_in_both = [(a, b) for a, b in zip(*answers.values(), strict=True) if "not a digit" not in (a, b)]
    assert len(read_in_both) >= 18 and all(a == b for a, b in read_in_both)


def test_the_mistakes_figure_shows_digits_the_weights_really_misread(trained_run, small_mnist_path):
    workdir, _ = trained_run
    with Image.open(workdir / "results-mistakes.png") as figure:
        assert figure.format == "PNG" and figure.width >= 1200
    test = np.load(small_mnist_path)
    net = network.build_model()
    net.load_weights(workdir / "model.weights.h5")
    probabilities = net.predict(test["x_test"], verbose=0)
    shown = figures.worst_mistakes(test["y_test"], probabilities)
    answers = probabilities.argmax(axis=1)
    assert 0 < len(shown) <= 40
    assert (answers[shown] != test["y_test"][shown]).all()  # each one shown is misread
    assert np.all(np.diff(probabilities[shown].max(axis=1)) <= 0)  # the most confident first
    counts = figures.confusion(test["y_test"], answers)
    assert counts.sum() == len(answers) and np.trace(counts) == (answers == test["y_test"]).sum()


def test_why_marks_the_ink_whose_loss_costs_the_answer_most(trained_run, mnist):
    workdir, _ = trained_run
    reader = reading.Reader(workdir / "model.weights.h5")
    digits = [Digit(image[..., None].astype(np.float32), (0, 0, 28, 28)) for image in mnist["x_test"][1000:1030]]
    rng = np.random.default_rng(0)
    marked, random = [], []
    for piece in reader.read(digits):
        why = reader.why(piece).why
        image = piece.digit.image[..., 0]
        assert not why[image == 0].any()  # only ink can push
        ink = np.flatnonzero(image > 0)
        k = len(ink) // 5
        for chosen, drops in (
            (ink[np.argsort(-why.ravel()[ink])[:k]], marked),
            (rng.choice(ink, k, replace=False), random),
        ):
            wiped = image.copy().ravel()
            wiped[chosen] = 0
            after = reader.read([Digit(wiped.reshape(28, 28, 1), piece.digit.box)])[0]
            drops.append(piece.probabilities[piece.answer] - after.probabilities[piece.answer])
    # Wiping the fifth of the ink it marks most "for" costs the answer far more than a random fifth.
    assert np.mean(marked) > 2 * np.mean(random) and np.mean(marked) > 0.2, (np.mean(marked), np.mean(random))


def test_bfloat16_training_saves_float32_weights_that_predict_reads(small_mnist_path, tmp_path):
    args = ("--data", str(small_mnist_path), "--epochs", "1", "--batch-size", "32", "--seed", "0", "--no-show")
    result = run_script("model.py", *args, "--precision", "bfloat16", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "arithmetic: bfloat16, weights in float32" in result.stdout
    assert float(re.search(r"test accuracy: ([0-9.]+)", result.stdout).group(1)) > 0.85  # as float32's run
    with h5py.File(tmp_path / "model.weights.h5") as f:
        dtypes = set()
        f.visititems(lambda name, o: dtypes.add(o.dtype) if isinstance(o, h5py.Dataset) else None)
    assert dtypes and all(d == np.float32 or d.kind != "f" for d in dtypes)
    net = network.build_model()
    net.load_weights(tmp_path / "model.weights.h5")  # the float32 network predict.py builds
