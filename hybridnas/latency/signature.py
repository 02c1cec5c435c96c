"""Layer signatures: the typed key of a latency table entry (a layer spec, its input shape, how many inputs it sums)."""

from __future__ import annotations

import dataclasses
from typing import Any, Iterator, NamedTuple

from ..errors import HybridNASError
from ..ir.layers import LAYERS, LayerSpec, Shape
from ..spaces import Arch, Space


class LatencyError(HybridNASError):
    """A latency table cannot answer: wrong device or settings, a missing layer, a damaged file."""


class Signature(NamedTuple):
    """What determines one layer's run time: its spec, its input shape (batch excluded), its summed inputs."""

    spec: LayerSpec
    in_shape: Shape
    inputs: int = 1

    def timed(self) -> bool:
        """Whether running it costs anything (a single-input pass-through does not)."""
        return self.spec.call() is not None or self.inputs > 1

    def to_record(self) -> dict[str, Any]:
        """A JSON-ready record: the layer kind, its fields, the input shape and the number of inputs."""
        fields = {f.name: getattr(self.spec, f.name) for f in dataclasses.fields(self.spec)}
        return {"kind": self.spec.kind, "fields": fields, "in_shape": list(self.in_shape), "inputs": self.inputs}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "Signature":
        """Inverse of `to_record`; raises LatencyError on a record no layer type accepts."""
        try:
            spec_cls = LAYERS.get(record["kind"])
            fields = {k: tuple(v) if isinstance(v, list) else v for k, v in record["fields"].items()}
            c, h, w = (int(v) for v in record["in_shape"])
            return cls(spec_cls(**fields), (c, h, w), int(record["inputs"]))
        except (KeyError, TypeError, ValueError, HybridNASError) as exc:
            raise LatencyError(f"bad layer record {str(record)[:200]}: {exc}") from None

    def calibration_kind(self) -> str:
        """What a calibration scales together: the layer kind, with its mixer for a MetaFormer block."""
        mixer = getattr(self.spec, "mixer", None)
        return f"{self.spec.kind}:{mixer}" if mixer else self.spec.kind

    def describe(self) -> str:
        """Short human-readable form, e.g. `conv_norm_act(cin=3, cout=16, ...) @ 3x32x32`."""
        fields = ", ".join(f"{k}={v}" for k, v in self.to_record()["fields"].items())
        extra = f" (+{self.inputs - 1} summed inputs)" if self.inputs > 1 else ""
        return f"{self.spec.kind}({fields}) @ {'x'.join(map(str, self.in_shape))}{extra}"


def arch_signatures(space: Space, arch: Arch) -> Iterator[tuple[str, Signature]]:
    """(node name, signature) of every timed layer of an architecture, in execution order."""
    for node in space.plan(arch).nodes:
        sig = Signature(node.spec, node.in_shape, len(node.inputs))
        if sig.timed():
            yield node.name, sig


def space_signatures(space: Space) -> list[Signature]:
    """Every distinct timed signature the space can produce, in a stable order."""
    seen = dict.fromkeys(Signature(spec, shape, n) for spec, shape, n in space.layer_options())
    return [sig for sig in seen if sig.timed()]
