"""model.summary(): the Keras-style table of layers, output shapes and parameter counts.

    dl.Sequential([dl.layers.Dense(16, activation="relu", input_shape=(4,)), dl.layers.Dense(3)],
                  name="tiny").summary()

    Model: "tiny"
    _______________________________________________________________________
     Layer (type)                     Output Shape              Param #
    =======================================================================
     dense (Dense)                    (None, 16)                80
    _______________________________________________________________________
     dense_1 (Dense)                  (None, 3)                 51
    =======================================================================
    Total params: 131
    Trainable params: 131
    Non-trainable params: 0
    _______________________________________________________________________

A functional model lists its inputs and its graph's nodes with their recorded shapes; any other
model lists its direct layers, with shapes inferred from the input shape it was built for. The
model is read through `name`, `built`, `count_params()`, `parameters()`, `_sublayers()`, and the
`_graph` / `_build_input_shape` attributes every dlcore model has; nothing here imports models.
"""
from __future__ import annotations

import numpy as np

from .graph import output_shape
from .utils import snake_case

__all__ = ["print_summary"]


def _layer_name(layer):
    n = getattr(layer, "name", None)
    if isinstance(n, str) and n:
        return n
    return snake_case(type(layer).__name__)


def _count(layer):
    if hasattr(layer, "count_params"):
        try:
            return int(layer.count_params())
        except Exception:
            pass
    return int(sum(int(np.prod(p.shape)) for p in layer.parameters()))


def _count_trainable(module):
    return int(sum(int(np.prod(p.shape)) for p in module.parameters() if getattr(p, "trainable", True)
                   and getattr(p, "requires_grad", True)))


def _fmt_shape(shape):
    if isinstance(shape, list):
        return ", ".join(_fmt_shape(s) for s in shape)
    if isinstance(shape, tuple):
        return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
    return str(shape)


def _row(fields, widths):
    out = ""
    for f, w in zip(fields, widths):
        f = str(f)
        out += (" " + f).ljust(w)[:max(w, len(f) + 1)] if len(f) + 1 <= w else " " + f + " "
    return out.rstrip()


def summary_rows(model):
    """(name, type, output shape, params) for each direct layer of `model`."""
    rows = []
    graph = model._graph
    if graph is not None:
        for i, t in enumerate(graph.inputs):
            rows.append((t.name or ("input_layer" if i == 0 else f"input_layer_{i}"), "InputLayer", t.shape, 0))
        for node in graph.nodes:
            layer = node.layer
            shape = node.outputs[0].shape if not node.multi_output else [t.shape for t in node.outputs]
            rows.append((_layer_name(layer), type(layer).__name__, shape, _count(layer)))
        return rows
    shape = model._build_input_shape
    for layer in model._sublayers():
        out = None
        if shape is not None:
            try:
                out = output_shape(layer, shape)
            except Exception:
                out = None
        rows.append((_layer_name(layer), type(layer).__name__, out if out is not None else "?", _count(layer)))
        shape = out
    return rows


def print_summary(model, line_length=None, print_fn=None):
    """Print a Keras-style table: layer (type), output shape, parameter count, and the totals."""
    print_fn = print_fn or print
    if not model.built:
        raise ValueError(f"{model.name}.summary: the model is not built yet; give input_shape= to the first "
                         "layer, call model.build(input_shape), or call it on data")
    rows = summary_rows(model)
    widths = [33, 26, 12]
    total = line_length or sum(widths)
    lines = [f'Model: "{model.name}"', "_" * total,
             _row(["Layer (type)", "Output Shape", "Param #"], widths), "=" * total]
    for i, (name, typ, shape, n) in enumerate(rows):
        lines.append(_row([f"{name} ({typ})", _fmt_shape(shape), f"{n:,}"], widths))
        lines.append(("_" if i + 1 < len(rows) else "=") * total if i + 1 < len(rows) else "=" * total)
    if not rows:
        lines.append("=" * total)
    n_total = model.count_params()
    n_train = _count_trainable(model)
    lines += [f"Total params: {n_total:,}", f"Trainable params: {n_train:,}",
              f"Non-trainable params: {n_total - n_train:,}", "_" * total]
    print_fn("\n".join(lines))
