"""bench/RESULTS.md, one section per machine kind, kept by the benchmarks themselves.

Each benchmark run with ``--results bench/RESULTS.md`` replaces only its own part (kernels, sweep,
interference, train) of the section of the machine it ran on (keyed by the CPU model), so that a
run on one machine never erases another's. Each part records the targets it measured in an HTML
comment (``<!-- targets {...} -->``, JSON: name -> {"value", "goal", "better": "higher"|"lower"}),
and the summary table at the top is rebuilt from all sections: per target, the worst value over the
machines measured, and on which.

    python bench/results.py [bench/RESULTS.md]      rebuild the summary only
"""
from __future__ import annotations

import json
import re
from pathlib import Path

SUMMARY_BEGIN, SUMMARY_END = "<!-- summary:begin -->", "<!-- summary:end -->"
TARGETS = re.compile(r"<!-- targets (\{.*?\}) -->")


def _machine_markers(machine: str):
    return f"<!-- machine: {machine} -->", f"<!-- end machine: {machine} -->"


def _part_markers(part: str):
    return f"<!-- part: {part} -->", f"<!-- end part: {part} -->"


def _replace_between(text: str, begin: str, end: str, body: str, append_to: str | None = None) -> str:
    i, j = text.find(begin), text.find(end)
    if i >= 0 and j > i:
        return text[:i] + begin + "\n" + body.rstrip() + "\n" + text[j:]
    block = begin + "\n" + body.rstrip() + "\n" + end + "\n"
    if append_to is not None:
        k = text.find(append_to)
        return text[:k] + block + "\n" + text[k:]
    return text.rstrip() + "\n\n" + block


def update(path, machine: str, title: str, part: str, body: str, targets: dict) -> None:
    """Put `body` as part `part` of `machine`'s section (created with heading `title` if new), record
    its `targets`, and rebuild the summary."""
    path = Path(path)
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    mb, me = _machine_markers(machine)
    if mb not in text:
        text = text.rstrip() + f"\n\n{mb}\n## {title}\n\n{me}\n"
    pb, pe = _part_markers(part)
    i, j = text.index(mb), text.index(me)
    section = text[i:j]
    rec = f"<!-- targets {json.dumps(targets, sort_keys=True)} -->"
    section = _replace_between(section, pb, pe, body.rstrip() + "\n\n" + rec)
    text = text[:i] + section + text[j:]
    path.write_text(rebuild_summary(text))


def collect(text: str) -> dict:
    """{target: [(machine, value, goal, better), ...]} from every section's records."""
    out = {}
    for m in re.finditer(r"<!-- machine: (.*?) -->(.*?)<!-- end machine: \1 -->", text, re.S):
        machine, section = m.group(1), m.group(2)
        for rec in TARGETS.finditer(section):
            for name, t in json.loads(rec.group(1)).items():
                out.setdefault(name, []).append((machine, t["value"], t["goal"], t["better"]))
    return out


def rebuild_summary(text: str) -> str:
    rows = ["| target | goal | worst over the machines | on | machines measured |", "|---|---|---|---|---|"]
    for name, vals in sorted(collect(text).items()):
        better = vals[0][3]
        worst = min(vals, key=lambda v: v[1]) if better == "higher" else max(vals, key=lambda v: v[1])
        goal = vals[0][2]
        met = worst[1] >= goal if better == "higher" else worst[1] <= goal
        rows.append(f"| {name} | {'>=' if better == 'higher' else '<='} {goal:g} | {worst[1]:.2f} "
                    f"({'met' if met else 'not met'}) | {worst[0]} | {len(vals)} |")
    body = "\n".join(rows)
    if SUMMARY_BEGIN in text:
        return _replace_between(text, SUMMARY_BEGIN, SUMMARY_END, body)
    first = text.find("<!-- machine:")
    block = f"## Summary: the worst over the machines measured\n\n{SUMMARY_BEGIN}\n{body}\n{SUMMARY_END}\n\n"
    return text[:first] + block + text[first:] if first >= 0 else text.rstrip() + "\n\n" + block


def target(value: float, goal: float, better: str = "higher") -> dict:
    return {"value": round(float(value), 4), "goal": goal, "better": better}


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(description="Rebuild the summary table of a results file from its machines' "
                                 "sections (the benchmarks' --results does this after each update).")
    ap.add_argument("file", nargs="?", default=str(Path(__file__).with_name("RESULTS.md")),
                    help="the results file (default: bench/RESULTS.md)")
    p = Path(ap.parse_args(argv).file)
    if not p.is_file():
        ap.error(f"no such file: {p}")
    p.write_text(rebuild_summary(p.read_text()))


if __name__ == "__main__":
    main()
