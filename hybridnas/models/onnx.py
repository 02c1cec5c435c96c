"""ONNX: export torch modules with torch's `torch.export`-based exporter, and run them in ONNX Runtime.

The exporter is torch's supported one (`dynamo=True`); the TorchScript exporter is deprecated and is never
used as a fallback, so what a latency table times is what `hybridnas export --onnx` ships. An operator the
exporter cannot express is an `OnnxExportError` naming the layer and mixer that uses it.
"""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

from ..errors import HybridNASError
from ..io import atomic_write
from ..ir import LayerPlan
from .builder import build_layer

OPSET = 18
GRAPH_OPTIMIZATION = "all"  # the level a user's deployment normally runs at; recorded with every timing
LEVELS = {"disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL, "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
           "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED, "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class OnnxExportError(HybridNASError):
    """A module cannot be exported to ONNX, or its ONNX graph does not run."""


class _Summed(nn.Module):
    """One layer fed the sum of its inputs, as `GraphNet` runs a node that reads several nodes."""

    def __init__(self, module: nn.Module | None) -> None:
        super().__init__()
        self.module = module

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        h = xs[0]
        for x in xs[1:]:
            h = h + x
        return self.module(h) if self.module is not None else h


class _Side(nn.Module):
    """Independent modules side by side: one export holds many, each extracted again by its input/output names."""

    def __init__(self, modules: Sequence[nn.Module], arity: Sequence[int]) -> None:
        super().__init__()
        self.parts = nn.ModuleList(modules)
        self.arity = list(arity)

    def forward(self, *xs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out, at = [], 0
        for part, n in zip(self.parts, self.arity):
            out.append(part(*xs[at:at + n]))
            at += n
        return tuple(out)


def _reason(exc: BaseException) -> str:
    """The informative line of an exporter error (its summary names the operator), without colour codes."""
    text = _ANSI.sub("", str(exc))
    found = re.findall(r"^<class '[\w.]+'>: (.+)$", text, flags=re.M)
    line = found[0] if found else next((ln for ln in text.splitlines() if ln.strip()), type(exc).__name__)
    return line.strip()[:300]


def _export(module: nn.Module, inputs: tuple[torch.Tensor, ...], input_names: list[str], output_names: list[str],
            dynamic_batch: bool) -> onnx.ModelProto:
    shapes = None
    if dynamic_batch:
        batch = torch.export.Dim("batch", min=1, max=4096)
        shapes = tuple({0: batch} for _ in inputs)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        program = torch.onnx.export(module.eval(), inputs, None, dynamo=True, opset_version=OPSET, verbose=False,
                                    input_names=input_names, output_names=output_names, dynamic_shapes=shapes,
                                    optimize=True)
    return program.model_proto


def network_to_onnx(model: nn.Module, input_shape: tuple[int, int, int], *, plan: LayerPlan | None = None,
                    batch: int = 1, dynamic_batch: bool = True) -> onnx.ModelProto:
    """An ONNX graph (input `input`, output `logits`) of a built network, opset `OPSET`.

    Args:
        plan: the network's layer plan; on failure, its layers are exported one by one to name the culprit.
        dynamic_batch: leave the batch dimension symbolic (`batch`), so one file serves every batch size.
    Raises:
        OnnxExportError: naming the first layer (and its mixer) the exporter cannot convert.
    """
    x = torch.zeros(max(batch, 2) if dynamic_batch else batch, *input_shape)
    try:
        return _export(model, (x,), ["input"], ["logits"], dynamic_batch)
    except Exception as exc:  # the exporter raises many types; each becomes one error naming the layer
        culprit = _failing_layer(plan) if plan is not None else None
        where = f" in {culprit}" if culprit else ""
        raise OnnxExportError(f"ONNX export (opset {OPSET}) failed{where}: {_reason(exc)}; such a layer cannot "
                              "be shipped as ONNX (export without --onnx, or use a mixer built from supported "
                              "operators)") from None


def _failing_layer(plan: LayerPlan) -> str | None:
    """`node 'name' (kind, mixer 'm')` of the first layer that fails to export alone, trying each layer type once."""
    tried = set()
    for node in plan.nodes:
        mixer = getattr(node.spec, "mixer", None)
        key = (node.spec.kind, mixer)
        if key in tried:
            continue
        tried.add(key)
        module = build_layer(node.spec)
        if module is None:
            continue
        try:
            _export(module, (torch.zeros(2, *node.in_shape),), ["x"], ["y"], False)
        except Exception:  # any failure here is the answer we are looking for
            described = f"{node.spec.kind}, mixer {mixer!r}" if mixer else node.spec.kind
            return f"node {node.name!r} ({described})"
    return None


def layers_to_onnx(layers: Sequence[tuple[nn.Module | None, tuple[int, ...], int]], batch: int) -> list[onnx.ModelProto]:
    """One ONNX graph per layer (inputs `l<i>_x<j>`, output `l<i>_y`), exported together in a single call.

    Each item is (module or None, input shape without batch, number of summed inputs). Exporting side by
    side and extracting each layer's subgraph costs one exporter set-up instead of one per layer.
    """
    modules = [_Summed(module) for module, _, _ in layers]
    arity = [n for _, _, n in layers]
    inputs, input_names, output_names = [], [], []
    for i, (_, shape, n) in enumerate(layers):
        gen = torch.Generator().manual_seed(i)
        inputs += [torch.randn(batch, *shape, generator=gen) for _ in range(n)]
        input_names += [f"l{i}_x{j}" for j in range(n)]
        output_names.append(f"l{i}_y")
    try:
        whole = _export(_Side(modules, arity), tuple(inputs), input_names, output_names, False)
    except Exception as exc:  # see network_to_onnx
        raise OnnxExportError(f"ONNX export (opset {OPSET}) of {len(layers)} layer(s) failed: {_reason(exc)}") from None
    extractor = onnx.utils.Extractor(whole)
    out = []
    for i, n in enumerate(arity):
        names = [f"l{i}_x{j}" for j in range(n)]
        out.append(extractor.extract_model(names, [f"l{i}_y"]))
    return out


def identity_graph(shape: tuple[int, ...]) -> onnx.ModelProto:
    """A graph that returns its input: what a runtime's per-call cost is measured on."""
    io_type = [onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, ["batch", *shape]) for name in "xy"]
    graph = onnx.helper.make_graph([onnx.helper.make_node("Identity", ["x"], ["y"])], "identity", io_type[:1],
                                   io_type[1:])
    return onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", OPSET)])


def session(model: onnx.ModelProto | bytes, threads: int = 1, optimization: str = GRAPH_OPTIMIZATION) -> ort.InferenceSession:
    """An ONNX Runtime CPU session: `threads` intra-op threads, one inter-op thread, sequential execution."""
    if optimization not in LEVELS:
        raise OnnxExportError(f"graph optimisation {optimization!r}: use one of {', '.join(LEVELS)}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = LEVELS[optimization]
    options.log_severity_level = 3
    data = model if isinstance(model, bytes) else model.SerializeToString()
    try:
        return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's own exception types are not importable by a stable name
        raise OnnxExportError(f"ONNX Runtime cannot load the graph: {str(exc).splitlines()[0][:300]}") from None


def run(sess: ort.InferenceSession, *arrays: np.ndarray) -> list[Any]:
    """Run a session on arrays given in the order of its inputs."""
    return sess.run(None, {i.name: a for i, a in zip(sess.get_inputs(), arrays)})


def check_against_torch(graph: onnx.ModelProto, model: nn.Module, input_shape: tuple[int, int, int], *,
                        batch: int = 3, rtol: float = 1e-4) -> dict[str, float]:
    """Run `graph` in ONNX Runtime and `model` in torch on one seeded batch; raise if they disagree.

    The bound is `rtol` times the largest torch logit (at least 1), so it scales with the network's output.
    Returns the batch, the largest absolute difference and the bound, for the export card.
    """
    x = torch.randn(batch, *input_shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = model.eval()(x).numpy()
    (got,) = run(session(graph), x.numpy())
    diff = float(np.abs(got - expected).max())
    bound = rtol * max(1.0, float(np.abs(expected).max()))
    if not diff <= bound:
        raise OnnxExportError(f"the ONNX graph disagrees with torch by {diff:.3g} (allowed {bound:.3g}) on a "
                              "seeded batch; the export was not written")
    return {"batch": batch, "max_abs_diff": diff, "allowed": bound}


def save(graph: onnx.ModelProto, path: str | Path) -> None:
    """Write `graph` to `path` atomically (one file; weights inline, so it must stay under 2 GB)."""
    data = graph.SerializeToString()
    atomic_write(Path(path), lambda handle: handle.write(data))
