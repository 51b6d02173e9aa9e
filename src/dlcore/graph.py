"""The symbolic graph of the functional API: KerasTensor, Input, nodes, shape inference, graph run.

    inputs = dl.Input(shape=(20,))                        # a KerasTensor of shape (None, 20): no data
    h = dl.layers.Dense(64, activation="relu")(inputs)    # builds the layer, records a Node
    outputs = dl.layers.Dense(10)(h)
    model = dl.Model(inputs, outputs)                     # a Graph from the inputs to the outputs

Calling any Module on a KerasTensor (or on a list of them) records a Node instead of computing:
Module.__call__ checks its arguments with `is_symbolic` and hands them to `symbolic_call`, which
builds the layer for the input shape and infers the output shape (the layer's
compute_output_shape, or one forward pass on zeros when it has none). A Graph orders the nodes
from the inputs to the outputs, runs them on real tensors and (de)serializes them.

Layers are used through their methods only (build, compute_output_shape, __call__, train / eval),
so this module does not import dlcore.module, which imports it.
"""
from __future__ import annotations

import numbers
import re

import numpy as np

from .call_context import training_context
from .saving import deserialize_layer, serialize_layer
from .tensor import Tensor, no_grad

__all__ = ["KerasTensor", "Node", "Input", "Graph", "is_symbolic", "symbolic_call", "output_shape", "dry_run_shape"]


# --------------------------------------------------------------------------------------------
# Shapes
# --------------------------------------------------------------------------------------------

def shape_tuple(shape):
    """A shape as a tuple of ints and Nones (an int n is (n,)); None stays None."""
    if shape is None:
        return None
    if isinstance(shape, numbers.Integral):
        return (int(shape),)
    return tuple(None if d is None else int(d) for d in shape)


def is_multi_shape(shape) -> bool:
    """True for a list of shapes (a layer with several inputs or outputs)."""
    return isinstance(shape, (list, tuple)) and len(shape) > 0 and isinstance(shape[0], (list, tuple))


def output_shape(layer, input_shape):
    """Output shape of `layer` for `input_shape` (batch axis included, maybe None).

    Uses the layer's compute_output_shape; layers without one are run once on zeros.
    """
    fn = getattr(layer, "compute_output_shape", None)
    if fn is not None:
        try:
            out = fn(input_shape)
            if out is not None:
                return out if is_multi_shape(out) else shape_tuple(out)
        except NotImplementedError:
            pass
    return dry_run_shape(layer, input_shape)


def dry_run_shape(layer, input_shape):
    """The output shape of one forward pass on zeros (batch 1 for a None batch), in inference mode.

    A None time axis is tried with one step. The layers' modes are left as they are.
    """
    def zeros(shape):
        return Tensor(np.zeros(tuple(1 if d is None else d for d in shape), np.float32))
    multi = is_multi_shape(input_shape)
    with no_grad(), training_context(False):
        out = layer([zeros(s) for s in input_shape]) if multi else layer(zeros(input_shape))
    batch = input_shape[0][0] if multi else input_shape[0]
    if isinstance(out, (list, tuple)):
        return [(batch,) + tuple(o.shape[1:]) for o in out]
    return (batch,) + tuple(out.shape[1:])


def build_layer(layer, input_shape):
    """Create the layer's weights for `input_shape` unless it has them."""
    if not getattr(layer, "built", False) and hasattr(layer, "build"):
        layer.build(input_shape)
        layer.built = True  # a Keras-style build() need not say so itself (else the first call builds again)


# --------------------------------------------------------------------------------------------
# Symbolic tensors and nodes
# --------------------------------------------------------------------------------------------

class KerasTensor:
    """A symbolic tensor: a shape (batch axis None) and the layer call that produces it.

    dl.Input(shape) makes one; calling a layer on it records a graph node and returns a new
    KerasTensor instead of computing anything. dl.Model(inputs, outputs) turns the graph into a model.
    """

    def __init__(self, shape, node=None, index=0, name=None, dtype="float32"):
        self.shape = shape_tuple(shape)
        self.node = node      # the Node that produced it (None for an Input)
        self.index = index    # which output of that node
        self.name = name
        self.dtype = dtype

    def __repr__(self):
        return f"<KerasTensor shape={self.shape} name={self.name!r}>"

    @property
    def ndim(self):
        return len(self.shape)


class Node:
    """One call of a layer on symbolic inputs."""

    def __init__(self, layer, inputs, kwargs, outputs_shape):
        self.layer = layer
        self.inputs = inputs      # a KerasTensor or a list of them
        self.kwargs = kwargs
        multi = is_multi_shape(outputs_shape)
        shapes = outputs_shape if multi else [outputs_shape]
        self.outputs = [KerasTensor(s, node=self, index=i) for i, s in enumerate(shapes)]
        self.multi_output = multi

    @property
    def input_list(self):
        return list(self.inputs) if isinstance(self.inputs, (list, tuple)) else [self.inputs]


_INPUT_COUNT = [0]
_AUTO_INPUT_NAME = re.compile(r"input_layer(_\d+)?")


def Input(shape=None, batch_size=None, name=None, dtype="float32", batch_shape=None):
    """A symbolic input of `shape` (without the batch axis), the start of a functional model.

    `name` ("input_layer", "input_layer_1", ... unless given) is the key of this input when a
    model with several inputs is fed a dict.
    """
    if batch_shape is not None:
        shape = tuple(batch_shape)[1:]
        batch_size = tuple(batch_shape)[0]
    if shape is None:
        raise ValueError("Input: give shape=(...) (without the batch axis)")
    if name is None:
        n = _INPUT_COUNT[0]
        _INPUT_COUNT[0] += 1
        name = "input_layer" if n == 0 else f"input_layer_{n}"
    return KerasTensor((batch_size,) + shape_tuple(shape), name=name, dtype=dtype)


def is_symbolic(args) -> bool:
    """True when a call's first argument is a KerasTensor or a non-empty list of them."""
    if not args:
        return False
    a = args[0]
    if isinstance(a, KerasTensor):
        return True
    return isinstance(a, (list, tuple)) and len(a) > 0 and all(isinstance(v, KerasTensor) for v in a)


def symbolic_call(layer, args, kwargs):
    """layer(keras_tensor): build the layer for the input shape and record a graph node."""
    if len(args) != 1:
        raise ValueError(f"{type(layer).__name__}: a layer in a functional model takes one input "
                         "(or one list of inputs)")
    inputs = args[0]
    in_shape = [t.shape for t in inputs] if isinstance(inputs, (list, tuple)) else inputs.shape
    build_layer(layer, in_shape)
    node = Node(layer, inputs, dict(kwargs), output_shape(layer, in_shape))
    layer.__dict__.setdefault("_inbound_nodes", []).append(node)  # layer.input / layer.output
    for t in node.outputs:
        t.name = getattr(layer, "name", None)
    return node.outputs if node.multi_output else node.outputs[0]


# --------------------------------------------------------------------------------------------
# The graph of a functional model
# --------------------------------------------------------------------------------------------

class Graph:
    """The nodes between `inputs` (from dl.Input) and `outputs`, in an order that runs them.

    inputs / outputs: a KerasTensor or a list of them (a list makes the model take / return lists).
    """

    def __init__(self, inputs, outputs):
        self.multi_input = isinstance(inputs, (list, tuple))
        self.multi_output = isinstance(outputs, (list, tuple))
        self.inputs = list(inputs) if self.multi_input else [inputs]
        self.outputs = list(outputs) if self.multi_output else [outputs]
        for t in self.inputs + self.outputs:
            if not isinstance(t, KerasTensor):
                raise TypeError(f"Model(inputs, outputs): expected KerasTensors from dl.Input and layer calls, "
                                f"got {type(t).__name__}")
        for t in self.inputs:
            if t.node is not None:
                raise ValueError("Model(inputs, outputs): inputs must come from dl.Input(...)")
        self.nodes = self._order()
        self.layers = []   # each layer once, in the order of its first call
        for node in self.nodes:
            if all(node.layer is not layer for layer in self.layers):
                self.layers.append(node.layer)

    def _order(self):
        """Walk back from the outputs: the depth-first post-order is an execution order."""
        order, seen, on_path = [], set(), set()
        input_ids = {id(t) for t in self.inputs}

        def visit(t):
            if t.node is None:
                if id(t) not in input_ids:
                    raise ValueError(f"Model(inputs, outputs): the outputs depend on an Input {t} that is not "
                                     "among the model's inputs")
                return
            node = t.node
            if id(node) in seen:
                return
            if id(node) in on_path:
                raise ValueError("Model(inputs, outputs): the graph has a cycle")
            on_path.add(id(node))
            for src in node.input_list:
                visit(src)
            on_path.discard(id(node))
            seen.add(id(node))
            order.append(node)

        for t in self.outputs:
            visit(t)
        return order

    @property
    def input_names(self):
        return [t.name for t in self.inputs]

    @property
    def output_names(self):
        """The name of the layer that makes each output (Keras): the keys of per-output losses and metrics."""
        names = []
        for i, t in enumerate(self.outputs):
            name = getattr(t.node.layer, "name", None) if t.node is not None else t.name
            if t.node is not None and t.node.multi_output:
                name = f"{name}_{t.index}" if t.index else name
            name = name or f"output_{i}"
            names.append(name if name not in names else f"{name}_{i}")
        return names

    @property
    def input_shape(self):
        shapes = [t.shape for t in self.inputs]
        return shapes if self.multi_input else shapes[0]

    @property
    def output_shape(self):
        shapes = [t.shape for t in self.outputs]
        return shapes if self.multi_output else shapes[0]

    def run(self, inputs, where="model"):
        """The outputs for real inputs (Tensors), each node's layer called once, in order.

        Several inputs come as a list in the order of the model's inputs, or as a dict by input name.
        """
        if isinstance(inputs, dict):
            missing = [n for n in self.input_names if n not in inputs]
            if missing or len(inputs) != len(self.inputs):
                raise ValueError(f"{where}: the inputs given as a dict must be keyed by the model's input names "
                                 f"{self.input_names}, got keys {sorted(inputs)}")
            inputs = [inputs[n] for n in self.input_names]
        xs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(xs) != len(self.inputs):
            raise ValueError(f"{where}: expected {len(self.inputs)} inputs, got {len(xs)}")
        values = {id(t): x for t, x in zip(self.inputs, xs)}
        for node in self.nodes:
            src = node.inputs
            args = [values[id(t)] for t in src] if isinstance(src, (list, tuple)) else values[id(src)]
            out = node.layer(args, **node.kwargs)
            for t, o in zip(node.outputs, out if node.multi_output else [out]):
                values[id(t)] = o
        outs = [values[id(t)] for t in self.outputs]
        return outs if self.multi_output else outs[0]

    # ---- serialization (the "config" of a functional model in a model file) -----------------
    def get_config(self):
        """The layers (serialized), the input shapes and the nodes as references into them."""
        index = {id(layer): i for i, layer in enumerate(self.layers)}
        node_index = {id(n): i for i, n in enumerate(self.nodes)}
        input_index = {id(t): i for i, t in enumerate(self.inputs)}

        def ref(t):
            if t.node is None:
                return ["input", input_index[id(t)], 0]
            return ["node", node_index[id(t.node)], t.index]

        nodes = []
        for n in self.nodes:
            src = n.inputs
            nodes.append({"layer": index[id(n.layer)],
                          "inputs": [ref(t) for t in src] if isinstance(src, (list, tuple)) else ref(src),
                          "multi_input": isinstance(src, (list, tuple)),
                          "kwargs": n.kwargs})
        config = {"layers": [serialize_layer(layer) for layer in self.layers],
                  "inputs": [list(t.shape[1:]) for t in self.inputs],
                  "nodes": nodes,
                  "outputs": [ref(t) for t in self.outputs],
                  "multi_input": self.multi_input, "multi_output": self.multi_output}
        if any(not _AUTO_INPUT_NAME.fullmatch(n or "") for n in self.input_names):
            config["input_names"] = self.input_names  # names the user gave: the keys of dict inputs
        return config

    @staticmethod
    def from_config(config):
        """(inputs, outputs) rebuilt from get_config(): fresh layers called on fresh Inputs."""
        try:
            layers = [deserialize_layer(s) for s in config["layers"]]
            names = config.get("input_names") or [None] * len(config["inputs"])
            if not isinstance(names, list) or len(names) != len(config["inputs"]) or \
                    not all(n is None or isinstance(n, str) for n in names):
                raise ValueError("bad input names")
            inputs = [Input(tuple(s), name=n) for s, n in zip(config["inputs"], names)]
            node_outputs = []

            def get(ref):
                kind, i, k = ref
                if kind == "input":
                    return inputs[i]
                if kind == "node" and 0 <= i < len(node_outputs):
                    return node_outputs[i][k]
                raise ValueError(f"bad reference {ref!r}")

            for n in config["nodes"]:
                layer = layers[n["layer"]]
                src = [get(r) for r in n["inputs"]] if n.get("multi_input") else get(n["inputs"])
                kwargs = n.get("kwargs") or {}
                if not isinstance(kwargs, dict):
                    raise ValueError("bad node kwargs")
                out = layer(src, **kwargs)
                node_outputs.append(out if isinstance(out, list) else [out])
            outputs = [get(r) for r in config["outputs"]]
        except ValueError as e:
            raise ValueError(f"model file: malformed functional model ({e})") from None
        except (KeyError, IndexError, TypeError) as e:
            raise ValueError(f"model file: malformed functional model ({type(e).__name__}: {e})") from None
        return (inputs if config.get("multi_input") else inputs[0],
                outputs if config.get("multi_output") else outputs[0])
