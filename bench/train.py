"""Benchmark training: the plain recipe against the default one, on the same data and machine.

    python3 bench/train.py --data mnist.npz                      # 13 epochs; default recipe on seeds 1 2 3
    python3 bench/train.py --data mnist.npz --epochs 1 --seeds 1 # a quick look

Recipes, each run in a fresh process of its own (TensorFlow reads its oneDNN setting at
import, and a process of its own gives each its own peak memory):
  plain-stock   the reference: the plain recipe as stock Keras runs it, fit() on the NumPy
                arrays (batch 32, Adam at 0.001, no augmentation) with TensorFlow's stock
                settings: oneDNN as TensorFlow decides (tensorflow_onednn_default), tf.data autotuning on
  plain-tfdata  python3 model.py --plain: the same recipe through model.py's input pipeline
                (fixed prefetch, no autotuning), oneDNN still as TensorFlow decides
  plain-onednn  python3 model.py --plain with oneDNN on: what the two settings are worth together
  default       python3 model.py as it is now: bfloat16 arithmetic on CPUs with AVX512_BF16 or AMX
  default-float32  python3 model.py --precision float32: what bfloat16 is worth

For each run it prints the arithmetic, seconds per epoch, total seconds (process start to exit,
as a user waits), test accuracy, peak RSS, GFLOP/s and that as a share of the CPU's float32
peak, and each recipe's time as a multiple of plain-stock's. The peak is cores x clock x FLOP
per cycle per core: 64 with AVX-512 (two 16-lane FMA units, as server Xeons and EPYCs since
Zen 4 have; assumed, not measured), 32 with AVX2 and FMA; the clock is the highest "cpu MHz"
in /proc/cpuinfo, which a VM reports as its nominal clock. The training FLOP are counted from
the layers (training_flops_per_image), so bfloat16 runs are measured against the float32 peak
too. It runs the package's own functions (mnist_cnn) and writes nothing into the checkout.
"""

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from argparse import SUPPRESS
from dataclasses import replace
from pathlib import Path

from common import bench_parser, parse_data

from mnist_cnn.cpu import cpu_flags, cpuinfo


def tensorflow_onednn_default() -> str:
    """What TensorFlow decides about oneDNN by itself, as TF_ENABLE_ONEDNN_OPTS would say it: on
    (on Linux x86) for CPUs with AVX512_VNNI, AVX512_BF16, AVX_VNNI or AMX, its documented rule
    (the import log agrees on this session's Intel Xeon), off otherwise. mnist_cnn.backend turns
    it on everywhere, so the stock recipes say TensorFlow's choice out loud."""
    return "1" if cpu_flags() & {"avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile"} else "0"


STOCK = {"TF_ENABLE_ONEDNN_OPTS": tensorflow_onednn_default()}
RECIPES = {
    "plain-stock": {"plain": True, "stock_fit": True, "env": STOCK, "precision": "float32"},
    "plain-tfdata": {"plain": True, "stock_fit": False, "env": STOCK, "precision": "float32"},
    "plain-onednn": {"plain": True, "stock_fit": False, "env": {"TF_ENABLE_ONEDNN_OPTS": "1"}, "precision": "float32"},
    "default": {"plain": False, "stock_fit": False, "env": {}, "precision": "auto"},
    "default-float32": {"plain": False, "stock_fit": False, "env": {}, "precision": "float32"},
}


def training_flops_per_image(net) -> float:
    """Multiply-adds of one forward pass, counted as 2 FLOP, times 3 for forward plus backward."""
    flops = 0
    for layer in net.layers:
        kind = type(layer).__name__
        if kind == "Conv2D":
            _, h, w, c_out = layer.output.shape
            kh, kw = layer.kernel_size
            flops += 2 * h * w * c_out * kh * kw * layer.input.shape[-1]
        elif kind == "Dense":
            flops += 2 * layer.input.shape[-1] * layer.units
    return 3 * flops


def worker(name: str, seed: int, epochs: int, data: str) -> None:
    """One training run in this process; prints its figures as one JSON line."""
    # First: it sets TensorFlow's environment (oneDNN) before TensorFlow loads, as model.py does.
    from mnist_cnn.backend import keras
    from mnist_cnn.mnist import load_mnist, split_validation
    from mnist_cnn.network import build_model
    from mnist_cnn.recipe import DEFAULT, PLAIN
    from mnist_cnn.training import train, use_precision

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.start)

    seconds: list[float] = []
    keras.utils.set_random_seed(seed)
    (x_train, y_train), (x_test, y_test) = load_mnist(data)
    train_data, val_data = split_validation(x_train, y_train)
    precision = use_precision(RECIPES[name]["precision"])
    net = build_model()
    recipe = replace(PLAIN if RECIPES[name]["plain"] else DEFAULT, epochs=epochs)  # model.py's own recipes
    if RECIPES[name]["stock_fit"]:  # Keras' own fit() on the arrays, not mnist_cnn.training's pipeline
        net.compile(
            optimizer=keras.optimizers.Adam(recipe.learning_rate),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        net.fit(
            *train_data,
            batch_size=recipe.batch_size,
            epochs=epochs,
            validation_data=val_data,
            callbacks=[EpochTimer()],
            verbose=0,
        )
    else:
        with tempfile.TemporaryDirectory() as state:  # resume state, as model.py keeps it
            train(net, train_data, val_data, recipe, Path(state), [EpochTimer()])
    _, accuracy = net.evaluate(x_test, y_test, batch_size=1024, verbose=0)
    flops = training_flops_per_image(net) * len(train_data[0]) * epochs
    gflops = flops / sum(seconds) / 1e9
    print(json.dumps({"epoch_seconds": seconds, "test_accuracy": accuracy, "gflops": gflops, "precision": precision}))


def run(recipe: str, seed: int, epochs: int, data: str) -> dict:
    """Run one worker process; add its wall time and peak RSS to what it reports."""
    env = {**os.environ, **RECIPES[recipe]["env"]}
    args = ["--worker", recipe, "--seed", str(seed), "--epochs", str(epochs), "--data", data]
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, *args], env=env, stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"bench/train.py: {recipe} seed {seed} failed (exit {proc.returncode})")
    result = json.loads(out.strip().splitlines()[-1])
    return {"recipe": recipe, "seed": seed, "total_seconds": wall, "peak_rss_gb": usage.ru_maxrss / 2**20, **result}


def cpu_model() -> str:
    return next(iter(cpuinfo("model name")), None) or platform.processor() or platform.machine()


def fp32_peak_gflops() -> float | None:
    """cores x GHz x FLOP per cycle (see the docstring); None where /proc/cpuinfo is not there."""
    flags = cpu_flags()
    mhz = max((float(value) for value in cpuinfo("cpu MHz")), default=0.0)
    per_cycle = 64 if "avx512f" in flags else 32 if {"avx2", "fma"} <= flags else 16
    return (os.cpu_count() or 1) * mhz / 1000 * per_cycle or None


def main() -> None:
    parser = bench_parser(__doc__, weights=False)
    parser.add_argument("--epochs", type=int, default=13, help="epochs per run (default: 13)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3], help="seeds of the default recipe")
    parser.add_argument(
        "--recipes", nargs="+", choices=RECIPES, default=list(RECIPES), help="which recipes to run (default: all)"
    )
    parser.add_argument(
        "--plain-seconds",
        type=float,
        help="plain-stock's total seconds from an earlier run on this machine, to compare without rerunning it",
    )
    parser.add_argument("--worker", choices=RECIPES, help=SUPPRESS)
    parser.add_argument("--seed", type=int, default=1, help=SUPPRESS)
    args = parse_data(parser)
    if args.worker:
        return worker(args.worker, args.seed, args.epochs, args.data)

    peak = fp32_peak_gflops()
    print(f"machine: {os.cpu_count()} cores, {cpu_model()}; Python {platform.python_version()}; {args.epochs} epochs")
    print(f"float32 peak: {peak:.0f} GFLOP/s (see the docstring)" if peak else "float32 peak: unknown")
    columns = ("seed", "s/epoch", "total s", "test acc", "peak RSS", "GFLOP/s", "of peak", "arithmetic")
    print(f"{'recipe':16s} " + " ".join(f"{c:>9s}" for c in columns), flush=True)
    results = []
    for recipe in args.recipes:
        # The plain recipes are the reference, not the subject: one seed each keeps the run short.
        for seed in args.seeds if recipe == "default" else args.seeds[:1]:
            r = run(recipe, seed, args.epochs, args.data)
            results.append(r)
            share = f"{r['gflops'] / peak:9.0%}" if peak else f"{'':9s}"
            print(
                f"{recipe:16s} {seed:9d} {sum(r['epoch_seconds']) / args.epochs:9.1f} {r['total_seconds']:9.1f} "
                f"{r['test_accuracy']:9.2%} {r['peak_rss_gb']:7.2f}GB {r['gflops']:9.1f} {share} {r['precision']:>9s}",
                flush=True,
            )

    print("\nper recipe (mean over seeds):")
    reference = next((r["total_seconds"] for r in results if r["recipe"] == "plain-stock"), args.plain_seconds)
    if reference and "plain-stock" not in args.recipes:
        print(f"  plain-stock   total {reference:6.1f} s, from --plain-seconds (an earlier run)")
    for recipe in args.recipes:
        runs = [r for r in results if r["recipe"] == recipe]
        total = sum(r["total_seconds"] for r in runs) / len(runs)
        accuracies = [r["test_accuracy"] for r in runs]
        line = (
            f"  {recipe:16s} total {total:6.1f} s, test accuracy mean {sum(accuracies) / len(accuracies):.2%} "
            f"(min {min(accuracies):.2%}), peak RSS {max(r['peak_rss_gb'] for r in runs):.2f} GB"
        )
        if reference:
            line += f", {total / reference:.2f}x the time of plain-stock"
        print(line)


if __name__ == "__main__":
    main()
