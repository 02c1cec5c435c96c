"""Timing backends: what runs a layer or a network when a table is built or validated.

`torch` runs eager PyTorch modules on the CPU or a GPU. `onnxruntime` runs each layer's ONNX graph (the
exporter `hybridnas export --onnx` uses) in an ONNX Runtime CPU session with the table's thread count and
graph-optimisation level. A backend returns runners (functions of no arguments) that `timing.time_all`
times; the table records the backend, and predictions refuse a table of another backend.
"""

from __future__ import annotations

from typing import Callable, ClassVar, Sequence

import numpy as np
import torch

from ..ir.layers import ConvNormAct, MetaBlock
from ..models import build_layer
from ..models import onnx as onnx_models
from ..registry import Registry
from .signature import LatencyError, Signature
from .timing import check_device, layer_runner, network_runner

Runner = Callable[[], object]
REFERENCE = [Signature(ConvNormAct(64, 64, 3), (64, 16, 16)), Signature(MetaBlock(64, "attention", 2, heads=2), (64, 8, 8))]

BACKENDS: Registry[type["Backend"]] = Registry("latency backend")


class Backend:
    """Builds runners for one runtime under fixed conditions (device, batch, dtype, threads, optimisation)."""

    name: ClassVar[str]
    optimizations: ClassVar[tuple[str, ...]] = ("",)  # allowed graph-optimisation levels; "" = not applicable

    def __init__(self, device: str, batch: int, dtype: str, threads: int, optimization: str) -> None:
        self.device, self.batch, self.dtype, self.threads, self.optimization = device, batch, dtype, threads, optimization

    def check(self) -> None:
        """Raise LatencyError where this machine or this backend cannot time the conditions."""
        check_device(self.device, self.dtype)
        if self.optimization not in self.optimizations:
            allowed = ", ".join(o for o in self.optimizations if o) or "none (leave it unset)"
            raise LatencyError(f"--optimization {self.optimization!r} for the {self.name} backend: use {allowed}")

    def versions(self) -> dict[str, object]:
        """Versions of the runtime (beside torch's) that a table records in its meta."""
        return {}

    def layer_runners(self, sigs: Sequence[Signature]) -> list[Runner]:
        """One runner per layer signature: its summed inputs, then the layer, at the backend's batch."""
        raise NotImplementedError

    def network_runners(self, models: Sequence[torch.nn.Module], input_shape: tuple[int, int, int]) -> list[Runner]:
        """One runner per built network, end to end, eval mode."""
        raise NotImplementedError

    def overhead_runner(self) -> Runner | None:
        """A call that does no work, when the runtime charges each call a fixed cost a network pays once.

        Timing layers one call each counts that cost once per layer; `build_table` subtracts it from every
        layer's time, and the calibration's base absorbs the network's single call. None: no such cost.
        """
        return None

    def reference_runner(self) -> Runner:
        """A fixed small workload timed beside layers and networks, to detect a machine's change of speed."""
        runs = self.layer_runners(REFERENCE)
        return lambda: [run() for run in runs]


@BACKENDS.register("torch")
class TorchBackend(Backend):
    """Eager PyTorch modules, eval mode, without autograd."""

    name = "torch"

    def layer_runners(self, sigs):
        return [layer_runner(sig, self.batch, self.device, self.dtype) for sig in sigs]

    def network_runners(self, models, input_shape):
        return [network_runner(m, input_shape, self.batch, self.device, self.dtype) for m in models]


@BACKENDS.register("onnxruntime")
class OnnxRuntimeBackend(Backend):
    """ONNX Runtime, CPU execution provider, float32: each layer is its own session, as exported."""

    name = "onnxruntime"
    optimizations = tuple(onnx_models.LEVELS)

    def check(self) -> None:
        if self.device != "cpu":
            raise LatencyError(f"the onnxruntime backend times the CPU execution provider; --device {self.device!r} "
                               "needs --backend torch")
        if self.dtype != "float32":
            raise LatencyError(f"the onnxruntime backend times float32 graphs, not {self.dtype}")
        super().check()

    def versions(self):
        return {"onnxruntime": onnx_models.ort.__version__, "onnx_opset": onnx_models.OPSET}

    def _runner(self, graph, shapes: Sequence[tuple[int, ...]], seed: int) -> Runner:
        sess = onnx_models.session(graph, self.threads, self.optimization)
        gen = np.random.default_rng(seed)
        feed = {i.name: gen.standard_normal((self.batch, *shape), dtype=np.float32)
                for i, shape in zip(sess.get_inputs(), shapes)}
        return lambda: sess.run(None, feed)

    def overhead_runner(self):
        # measured here: 8 us per session.run on a one-element Identity graph, where a 20-layer network
        # timed layer by layer would count 19 of them too many (a 30% over-prediction for a 0.4 ms network)
        return self._runner(onnx_models.identity_graph((1,)), [(1,)], 0)

    def layer_runners(self, sigs):
        graphs = onnx_models.layers_to_onnx([(build_layer(s.spec), s.in_shape, s.inputs) for s in sigs], self.batch)
        return [self._runner(g, [s.in_shape] * s.inputs, i) for i, (g, s) in enumerate(zip(graphs, sigs))]

    def network_runners(self, models, input_shape):
        graphs = [onnx_models.network_to_onnx(m, input_shape, batch=self.batch, dynamic_batch=False) for m in models]
        return [self._runner(g, [input_shape], i) for i, g in enumerate(graphs)]


def make_backend(name: str, device: str, batch: int, dtype: str, threads: int, optimization: str | None = None) -> Backend:
    """The named backend under these conditions, checked; `optimization` None takes the backend's default."""
    cls = BACKENDS.get(name)
    if optimization is None:
        optimization = onnx_models.GRAPH_OPTIMIZATION if cls is OnnxRuntimeBackend else ""
    backend = cls(device, batch, dtype, threads, optimization)
    backend.check()
    return backend


def list_backends() -> list[str]:
    """Registered backend names."""
    return BACKENDS.list()

