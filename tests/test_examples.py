"""Every example script runs to the end (in a subprocess) and meets the target it prints."""
import os
import pathlib
import subprocess
import tempfile
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p.name for p in (ROOT / "examples").glob("*.py") if not p.name.startswith("_"))


def run_script(args, timeout=300):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    # On a machine shared with other jobs, OpenMP threads that spin while waiting for work slow every
    # kernel call several-fold; sleeping waiters keep the examples' run time stable there.
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    # Run from an empty folder: `python -m` puts the working directory first on sys.path, and from the
    # checkout's root that would import the source tree (without its compiled _C) instead of dlcore.
    with tempfile.TemporaryDirectory() as cwd:
        return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                              timeout=timeout, env=env)


def test_all_examples_listed():
    assert set(EXAMPLES) >= {"regression_mlp.py", "mlp_onehot_classifier.py", "cnn_digits.py",
                             "lstm_sequence_classifier.py", "autoencoder.py", "gan.py"}


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES)
def test_example_runs_and_meets_target(script):
    proc = run_script([str(ROOT / "examples" / script)])
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{script} failed (rc={proc.returncode}):\n{out[-4000:]}"
    result = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert result and result[-1].endswith(": met"), out[-4000:]
    assert "\r" not in proc.stdout  # not a terminal: plain lines, no bar redraws


@pytest.mark.slow
def test_demo_quick():
    proc = run_script(["-m", "dlcore.demo", "--quick"])
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "test accuracy:" in proc.stdout and "time per epoch:" in proc.stdout
    assert "CPU ISA=" in proc.stdout and "threads=" in proc.stdout
    assert "Epoch 1/3" in proc.stdout and "\r" not in proc.stdout
