"""Fail when the dlcore package has an import cycle.

Every import of a dlcore module counts, at the top of a file or inside a function alike: a
function-level import hides a cycle from Python's import machinery, not from the design. The
graph's nodes are modules (a package is its __init__); an edge A -> B means A imports B, or
imports a name from B. `from . import x` is an edge to the submodule x when x is one, else to the
package. Optional compiled modules (dlcore._C, dlcore._cuda) are leaves and never form a cycle.

Usage: python .ci/check_imports.py [src/dlcore]   (exit 1 and the cycles printed when there are any)
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path


COMPILED = {"dlcore._C", "dlcore._cuda"}  # extension modules: leaves of the graph


def module_names(root: Path) -> dict:
    """{dotted module name: file} for every .py under the package root."""
    pkg = root.name
    names = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join([pkg] + parts)] = path
    return names


def resolve(module: str, is_package: bool, level: int, target: str | None) -> str:
    """The absolute name of a relative import `from <level dots><target> import ...` in `module`."""
    if level == 0:
        return target or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    if level > 1:
        base = base[:-(level - 1)]
    return ".".join(base + ([target] if target else []))


def edges(root: Path) -> dict:
    names = module_names(root)
    pkg = root.name
    graph = {m: set() for m in names}
    for mod, path in names.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = resolve(mod, is_package, node.level, node.module)
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    if sub in COMPILED:
                        continue
                    targets.append(sub if sub in names else base)
            for t in targets:
                while t and t not in names and "." in t:  # a name inside a module: the module
                    t = t.rsplit(".", 1)[0]
                if t in names and t != mod and t.split(".")[0] == pkg:
                    graph[mod].add(t)
    return graph


def cycles(graph: dict) -> list:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main(argv):
    root = Path(argv[1] if len(argv) > 1 else Path(__file__).resolve().parent.parent / "src" / "dlcore")
    graph = edges(root)
    found = cycles(graph)
    for comp in found:
        inside = set(comp)
        print("import cycle among: " + ", ".join(comp))
        for m in comp:
            print(f"  {m} -> " + ", ".join(sorted(graph[m] & inside)))
    if found:
        return 1
    print(f"no import cycle among {len(graph)} modules")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
