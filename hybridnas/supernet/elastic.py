"""The weight-sharing supernet of any space implementing WeightSharingSpace (spaces/protocol.py).

MetaFormer spaces use AutoFormer-style weight entanglement: every slot of the space (stem, each stage's
downsample, each block position x each mixer its layouts allow, head) owns the parameters of its largest
module. A subnet's parameter is a slice of its slot's:
leading channels/rows, the centre of a larger kernel, and for q/k/v projections the leading rows of each
of the three parts. `forward(x, arch)` runs the subnet's own static module (built once per architecture
on the meta device) with these slices via `torch.func.functional_call`, so the supernet computes exactly
what `Space.build(arch)` computes; `materialize` copies the slices into that static module. Elastic
depth: a stage with fewer blocks uses the leading block slots. Spaces that pick one op per position
(NAS-Bench-201, NAS-Bench-Macro) hold one slot per position and op, used whole (spaces/choice_protocols.py).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Iterable

import torch
from torch import nn
from torch.func import functional_call

from ..errors import HybridNASError
from ..models import build_layer
from ..spaces import Arch, Space
from ..spaces.protocol import WeightSharingSpace, require_protocol

SKELETON_CACHE = 64


def _is_qkv(name: str) -> bool:
    return name.endswith("qkv.weight") or name.endswith("qkv.bias")


def slice_to(tensor: torch.Tensor, shape: torch.Size | tuple[int, ...], name: str) -> torch.Tensor:
    """The entangled slice of a slot tensor with the subnet's `shape` (a view where possible)."""
    if tuple(tensor.shape) == tuple(shape):
        return tensor
    if len(shape) != tensor.dim() or any(s > t for s, t in zip(shape, tensor.shape)):
        raise HybridNASError(f"supernet slot {name} of shape {tuple(tensor.shape)} cannot hold {tuple(shape)}")
    if _is_qkv(name):  # rows are [q; k; v]: take the leading rows of each part
        big, small = tensor.shape[0] // 3, shape[0] // 3
        parts = [tensor[i * big:i * big + small] for i in range(3)]
        out = torch.cat(parts, 0)
        return out[(slice(None), *(slice(0, s) for s in shape[1:]))] if tensor.dim() > 1 else out
    index = []
    for dim, (s, t) in enumerate(zip(shape, tensor.shape)):
        if dim >= 2 and tensor.dim() == 4:  # a kernel: keep its centre
            start = (t - s) // 2
            index.append(slice(start, start + s))
        else:
            index.append(slice(0, s))
    return tensor[tuple(index)]


class Supernet(nn.Module):
    """All subnets of a space in one set of weights; `forward(x, arch)` runs one of them."""

    def __init__(self, space: Space) -> None:
        super().__init__()
        require_protocol(space, WeightSharingSpace, "a supernet",
                         "the metaformer, nasbench201 and nasbench_macro spaces implement it")
        self.space = space
        self.slots = nn.ModuleDict()
        for key, spec in space.supernet_slots():
            self.slots[key] = build_layer(spec)
        self._skeletons: OrderedDict[str, tuple[nn.Module, list[tuple[str, str, tuple[int, ...]]]]] = OrderedDict()

    # ---- subnet execution ----------------------------------------------------------------------------
    def skeleton(self, arch: Arch) -> tuple[nn.Module, list[tuple[str, str, tuple[int, ...]]]]:
        """The subnet's static module on the meta device, and (subnet name, slot tensor name, shape) triples."""
        hit = self._skeletons.get(arch.id)
        if hit is not None:
            self._skeletons.move_to_end(arch.id)
            return hit
        with torch.device("meta"):
            module = self.space.build(arch)
        slot_tensors = dict(self.slots.named_parameters())
        slot_tensors.update(self.slots.named_buffers())
        mapping = []
        for named in (module.named_parameters(), module.named_buffers()):
            for name, tensor in named:
                _, node, rest = name.split(".", 2)
                slot_name = f"{self.space.slot_of(arch, node)}.{rest}"
                if slot_name not in slot_tensors:
                    raise HybridNASError(f"supernet of {self.space.name!r} has no slot tensor {slot_name} for {name}")
                mapping.append((name, slot_name, tuple(tensor.shape)))
        self._skeletons[arch.id] = (module, mapping)
        if len(self._skeletons) > SKELETON_CACHE:
            self._skeletons.popitem(last=False)
        return module, mapping

    def subnet_tensors(self, arch: Arch) -> dict[str, torch.Tensor]:
        """The subnet's parameters and buffers as slices of the supernet's (gradients flow back)."""
        _, mapping = self.skeleton(arch)
        slot = dict(self.slots.named_parameters())
        slot.update(self.slots.named_buffers())
        return {name: slice_to(slot[slot_name], shape, name) for name, slot_name, shape in mapping}

    def forward(self, x: torch.Tensor, arch: Arch) -> torch.Tensor:
        """Logits of subnet `arch` (train/eval mode follows the supernet's)."""
        module, _ = self.skeleton(arch)
        module.train(self.training)
        return functional_call(module, self.subnet_tensors(arch), (x,))

    def materialize(self, arch: Arch, calibration: Iterable[torch.Tensor] | None = None) -> nn.Module:
        """`Space.build(arch)` with the subnet's weights copied in (eval mode), on the supernet's device.

        With `calibration` batches, BatchNorm statistics are re-estimated for this subnet (shared slices
        mix the statistics of every subnet during training); without, they are copied like the weights.
        """
        arch = self.space.validate(arch)
        model = self.space.build(arch).to(next(self.parameters()).device)
        with torch.no_grad():
            tensors = self.subnet_tensors(arch)
            state = {k: v.detach().clone() for k, v in tensors.items()}
            model.load_state_dict(state, strict=True)
        if calibration is not None:
            recalibrate_bn(model, calibration)
        return model.eval()


def recalibrate_bn(model: nn.Module, batches: Iterable[torch.Tensor]) -> nn.Module:
    """Re-estimate BatchNorm running statistics of `model` as the plain average over `batches`."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return model
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average
    model.train()
    device = next(model.parameters()).device
    with torch.no_grad():
        for x in batches:
            model(x.to(device))
    for m, momentum in zip(norms, saved):
        m.momentum = momentum
    return model.eval()


def largest_and_smallest(space: Space) -> tuple[Arch, Arch]:
    """The space's largest and smallest architectures by MACs, built stage by stage (exact for spaces whose
    stages are chosen independently; stage MACs only depend on the stage's own and previous width)."""
    require_protocol(space, WeightSharingSpace, "the largest and smallest subnets")
    return space.extreme_arch(max), space.extreme_arch(min)
