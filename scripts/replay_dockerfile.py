"""Build the Dockerfile without Docker, then use the result as the README's `docker run` does.

    sudo python3 scripts/replay_dockerfile.py --data ../shared/mnist/mnist.npz

The Dockerfile's base is a Debian slim image; this bootstraps the same Debian release with
debootstrap (minbase, with the image's apt sources), replays the Dockerfile's RUN, ENV, COPY
and WORKDIR steps in a chroot, then mounts a copy of the checkout on /t, as
`docker run -v "$PWD":/t -w /t` would, and inside it: checks that Tk is there for the plot
window, trains one epoch with `python3 model.py`, and reads an MNIST test digit saved as a
PNG with `IMG_PATH=... python3 predict.py`. Any failing step stops it with a non-zero exit
naming the step.

Needs root, debootstrap and chroot (Debian: apt-get install debootstrap). The bootstrapped base
is cached (--cache), so a second run starts from it. What Docker would take from the host is
copied in: /etc/resolv.conf, and the host's CA bundle for registries behind a TLS-inspecting
proxy (pip is pointed at it with PIP_CERT; it is not part of the image's recipe).
"""

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEBIAN_RELEASES = {"11": "bullseye", "12": "bookworm", "13": "trixie"}
MIRROR = "http://deb.debian.org/debian"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# What `docker run` starts with before the image's ENV lines.
DOCKER_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root"}
# The host's proxy CA for pip during the build only: a setting of this machine, not of the image.
BUILD_ENV = {"PIP_CERT": "/usr/local/share/host-ca/ca-certificates.crt"}
# The apt sources of Debian's official slim images (deb822 format, no sources.list).
IMAGE_SOURCES = """\
Types: deb
URIs: http://deb.debian.org/debian
Suites: {release} {release}-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: {release}-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""


class StepFailed(Exception):
    pass


def parse_dockerfile(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction, continuation lines joined, comments dropped."""
    instructions, pending = [], ""
    for line in path.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        if line.lstrip().startswith("#"):  # a comment inside a continued instruction
            continue
        keyword, _, rest = (pending + line).strip().partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
        pending = ""
    return instructions


def debian_release(image: str) -> str:
    """The codename of a Debian base image: debian:12.12-slim -> bookworm."""
    match = re.fullmatch(r"debian:(\w+)(?:\.\d+)*(?:-slim)?(?:@sha256:\w+)?", image)
    if not match:
        raise StepFailed(f"FROM {image}: only Debian base images (debian:<release>[-slim]) can be replayed")
    release = DEBIAN_RELEASES.get(match[1], match[1])
    if release not in DEBIAN_RELEASES.values():
        raise StepFailed(f"FROM {image}: unknown Debian release {match[1]!r}")
    return release


def run(command: list[str], step: str) -> None:
    print(f"+ {step}", flush=True)
    start = time.monotonic()
    result = subprocess.run(command)
    if result.returncode != 0:
        raise StepFailed(f"{step}: exit status {result.returncode}")
    print(f"  ({time.monotonic() - start:.0f} s)", flush=True)


def bootstrap(release: str, cache: Path) -> Path:
    """A minbase root file system of `release`, from the cache or made and cached now."""
    base = cache / f"{release}-minbase"
    if base.is_dir():
        print(f"+ debootstrap {release}: cached in {base}", flush=True)
        return base
    cache.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(dir=cache, prefix=f".{release}-"))
    try:
        run(["debootstrap", "--variant=minbase", release, str(partial), MIRROR], f"debootstrap {release}")
        (partial / "etc/apt/sources.list").unlink(missing_ok=True)
        (partial / "etc/apt/sources.list.d/debian.sources").write_text(IMAGE_SOURCES.format(release=release))
        partial.rename(base)  # only a complete bootstrap is ever cached
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return base


@contextmanager
def container(base: Path, work: Path) -> Iterator[Path]:
    """A throwaway copy of `base` with /proc, /sys, /dev/pts and /dev/shm mounted and the host's network
    settings; everything is unmounted and removed afterwards."""
    root = work / "root"
    subprocess.run(["cp", "-a", "--reflink=auto", str(base), str(root)], check=True)
    mounts = [
        ("proc", "proc", "proc"),
        ("sysfs", "sysfs", "sys"),
        ("devpts", "devpts", "dev/pts"),
        ("tmpfs", "tmpfs", "dev/shm"),
    ]
    mounted: list[Path] = []
    try:
        for kind, source, target in mounts:
            subprocess.run(["mount", "-t", kind, source, str(root / target)], check=True)
            mounted.append(root / target)
        shutil.copy("/etc/resolv.conf", root / "etc/resolv.conf")
        if HOST_CA_BUNDLE.is_file():
            (root / "usr/local/share/host-ca").mkdir(parents=True, exist_ok=True)
            shutil.copy(HOST_CA_BUNDLE, root / "usr/local/share/host-ca/ca-certificates.crt")
        yield root
    finally:
        for path in reversed(mounted):
            subprocess.run(["umount", "-l", str(path)], check=False)
        shutil.rmtree(root, ignore_errors=True)


def in_chroot(root: Path, command: str, env: dict[str, str], cwd: str) -> list[str]:
    """The command line that runs a shell `command` in `root` with exactly `env`, from `cwd`."""
    variables = [f"{key}={value}" for key, value in env.items()]
    return [
        "chroot",
        str(root),
        "/usr/bin/env",
        "-i",
        *variables,
        "/bin/sh",
        "-c",
        f"cd {shlex.quote(cwd)} && {command}",
    ]


def expand(value: str, env: dict[str, str]) -> str:
    """$VAR and ${VAR} as Docker expands them in ENV, WORKDIR and COPY."""
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: env.get(m[1] or m[2], ""), value)


def replay(instructions: list[tuple[str, str]], root: Path, context: Path) -> dict[str, str]:
    """Run the steps after FROM in the chroot; return the image's environment."""
    env, workdir = dict(DOCKER_ENV), "/"
    for number, (keyword, arguments) in enumerate(instructions[1:], start=2):
        step = f"step {number}: {keyword} {' '.join(arguments.split())[:70]}"
        if keyword == "RUN":
            command = (
                " ".join(shlex.quote(a) for a in json.loads(arguments)) if arguments.startswith("[") else arguments
            )
            run(in_chroot(root, command, {**env, **BUILD_ENV}, workdir), step)
        elif keyword == "ENV":
            for pair in shlex.split(arguments):
                key, _, value = pair.partition("=")
                env[key] = expand(value, env)
        elif keyword == "WORKDIR":
            workdir = str(Path(workdir, expand(arguments, env)))
            (root / workdir.lstrip("/")).mkdir(parents=True, exist_ok=True)
        elif keyword == "COPY":
            *sources, destination = shlex.split(expand(arguments, env))
            target = root / Path(workdir, destination).relative_to("/")
            print(f"+ {step}", flush=True)
            # Sources may be wildcards, as Docker's are (Go's filepath.Match, which glob follows here).
            paths = [path for source in sources for path in sorted(context.glob(source)) or [context / source]]
            for path in paths:
                if destination.endswith("/") or len(paths) > 1:
                    target.mkdir(parents=True, exist_ok=True)
                    shutil.copy(path, target / path.name)
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(path, target)
        elif keyword in ("CMD", "LABEL", "EXPOSE"):
            pass  # nothing to build
        else:
            raise StepFailed(f"{step}: this script does not replay {keyword}")
    return env


def use_like_docker_run(root: Path, env: dict[str, str], data: Path) -> None:
    """`docker run -v "$PWD":/t -w /t`: a copy of the checkout on /t, MNIST in it; then the README's steps."""
    with tempfile.TemporaryDirectory() as project:
        tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True)
        for name in filter(None, tracked.stdout.split("\0")):
            (Path(project) / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / name, Path(project) / name)
        shutil.copy(data, Path(project) / "mnist.npz")
        (root / "t").mkdir(exist_ok=True)
        subprocess.run(["mount", "--bind", project, str(root / "t")], check=True)
        try:
            check_tk = "python3 -c 'import tkinter, matplotlib; matplotlib.use(\"TkAgg\")'"
            run(in_chroot(root, check_tk, env, "/t"), "Tk for the plot window")
            train = "python3 model.py --epochs 1 --data mnist.npz --no-show"
            run(in_chroot(root, train, env, "/t"), train)
            save_digit = (
                "import numpy as np; from PIL import Image; d = np.load('mnist.npz'); "
                "Image.fromarray(255 - d['x_test'][0]).resize((140, 140)).save('digit.png'); print(d['y_test'][0])"
            )
            made = subprocess.run(
                in_chroot(root, f"python3 -c {shlex.quote(save_digit)}", env, "/t"), capture_output=True, text=True
            )
            predicted = subprocess.run(
                in_chroot(root, "python3 predict.py", {**env, "IMG_PATH": "digit.png"}, "/t"),
                capture_output=True,
                text=True,
            )
        finally:
            subprocess.run(["umount", str(root / "t")], check=False)
    step = "IMG_PATH=digit.png python3 predict.py"
    print(f"+ {step}: {predicted.stdout.strip()} (the test digit drawn is a {made.stdout.strip()})", flush=True)
    if made.returncode or predicted.returncode or predicted.stdout.split()[:1] != [made.stdout.strip()]:
        raise StepFailed(f"{step}: {made.stderr.strip()} {predicted.stderr.strip()}".strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=os.environ.get("MNIST_NPZ"), help="MNIST .npz ($MNIST_NPZ)")
    parser.add_argument("--dockerfile", type=Path, default=ROOT / "Dockerfile")
    parser.add_argument(
        "--cache", type=Path, default=Path.home() / ".cache/mnist-cnn/replay", help="where the bootstrap is kept"
    )
    args = parser.parse_args()
    if args.data is None or not Path(args.data).is_file():
        parser.error("give the MNIST .npz with --data or MNIST_NPZ")
    if os.geteuid() != 0:
        sys.exit("replay_dockerfile.py: error: needs root (debootstrap, chroot, mount)")
    if not shutil.which("debootstrap"):
        sys.exit("replay_dockerfile.py: error: needs debootstrap (Debian: apt-get install debootstrap)")

    start = time.monotonic()
    try:
        instructions = parse_dockerfile(args.dockerfile)
        if not instructions or instructions[0][0] != "FROM":
            raise StepFailed(f"{args.dockerfile}: the first instruction must be FROM")
        release = debian_release(instructions[0][1])
        print(f"{instructions[0][1]}: replaying on Debian {release}", flush=True)
        base = bootstrap(release, args.cache)
        with tempfile.TemporaryDirectory(dir=args.cache) as work, container(base, Path(work)) as root:
            env = replay(instructions, root, args.dockerfile.parent)
            use_like_docker_run(root, env, Path(args.data))
    except StepFailed as e:
        sys.exit(f"replay_dockerfile.py: failed at {e}")
    print(f"the Dockerfile builds and its image trains and predicts ({time.monotonic() - start:.0f} s)")


if __name__ == "__main__":
    main()
