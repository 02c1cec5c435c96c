"""ProxyContext: one network, one batch, and the passes that several proxies share, computed once.

The network is built once. Proxies that need another initialisation (AZ-NAS: Kaiming fan-in; Zen:
Gaussian) re-initialise it in place, and the initial weights are restored for the others. Shared
passes are lazy: the main pass (one forward of the batch in train mode) serves NASWOT, SWAP, MeCo,
jacob_cov, grad_norm, snip, fisher and GraSP from a single autograd graph.
"""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel

from ..data import Batch
from ..errors import HybridNASError

# sign-preserving activations: a unit is "on" when its pre-activation is positive, as for ReLU
ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.GELU, nn.SiLU, nn.Hardswish, nn.Mish)
PRUNABLE = (nn.Conv2d, nn.Linear)


class ProxyError(HybridNASError, RuntimeError):
    """A proxy cannot be computed for this network (the message says why)."""


def prunable_layers(model: nn.Module) -> list[nn.Module]:
    """Conv and linear layers, the layers zero-cost proxies score (as in Abdelfattah et al.)."""
    return [m for m in model.modules() if isinstance(m, PRUNABLE)]


def _reinit(model: nn.Module, init_weight: Callable[[torch.Tensor], Any]) -> None:
    """Re-initialise conv/linear weights with `init_weight`, zero their biases, reset affine norms to 1/0."""
    for m in model.modules():
        if isinstance(m, PRUNABLE):
            # drawn into a fresh NCHW tensor: in-place sampling fills memory order, so a channels-last
            # weight would get the same numbers in other places
            fresh = torch.empty(m.weight.shape, dtype=m.weight.dtype)
            init_weight(fresh)
            with torch.no_grad():
                m.weight.copy_(fresh)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm)) and m.weight is not None:
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def kaiming_fanin_init(model: nn.Module) -> None:
    """AZ-NAS initialisation: Kaiming normal weights (fan-in, ReLU gain)."""
    _reinit(model, lambda w: nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="relu"))


def gaussian_init(model: nn.Module) -> None:
    """Zen-NAS initialisation: N(0, 1) weights."""
    _reinit(model, nn.init.normal_)


INITS: dict[str, Callable[[nn.Module], None]] = {"kaiming_fanin": kaiming_fanin_init, "gaussian": gaussian_init}


@dataclass
class MainPass:
    """One train-mode forward of the batch, with what the hooks saw; gradients are derived lazily."""

    x: torch.Tensor
    logits: torch.Tensor
    loss: torch.Tensor
    act_inputs: list[torch.Tensor]  # inputs of activation modules (detached)
    act_outputs: list[torch.Tensor]  # outputs of activation modules (detached)
    maps: list[torch.Tensor]  # first sample's output of every module with an NCHW output (detached)
    layer_outputs: list[torch.Tensor]  # outputs of conv/linear layers (in the graph)
    weights: list[torch.Tensor]  # conv/linear weights, in the order of `layers`
    layers: list[nn.Module]
    cache: dict[str, Any] = field(default_factory=dict)

    def input_grad(self) -> torch.Tensor:
        """d(sum of logits)/d(input), per sample (jacob_cov)."""
        if "input_grad" not in self.cache:
            self.cache["input_grad"] = torch.autograd.grad(self.logits.sum(), self.x, retain_graph=True)[0]
        return self.cache["input_grad"]

    def loss_grads(self) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Gradients of the loss for every conv/linear weight and for every conv/linear output."""
        if "loss_grads" not in self.cache:
            grads = torch.autograd.grad(self.loss, self.weights + self.layer_outputs, retain_graph=True,
                                        allow_unused=True)
            n = len(self.weights)
            fill = lambda gs, ts: [torch.zeros_like(t) if g is None else g for g, t in zip(gs, ts)]  # noqa: E731
            self.cache["loss_grads"] = (fill(grads[:n], self.weights), fill(grads[n:], self.layer_outputs))
        return self.cache["loss_grads"]

    def hessian_grad(self) -> list[torch.Tensor]:
        """H g for every weight, g the loss gradient (GraSP), by double backpropagation."""
        if "hessian_grad" not in self.cache:
            g = [t.detach() for t in self.loss_grads()[0]]
            g_graph = torch.autograd.grad(self.loss, self.weights, create_graph=True, allow_unused=True)
            z = sum((a * b).sum() for a, b in zip(g_graph, g) if a is not None)
            if not isinstance(z, torch.Tensor) or not z.requires_grad:
                raise ProxyError("GraSP needs second derivatives, and this network has none")
            hg = torch.autograd.grad(z, self.weights, allow_unused=True, retain_graph=True)
            self.cache["hessian_grad"] = [torch.zeros_like(w) if h is None else h for h, w in zip(hg, self.weights)]
        return self.cache["hessian_grad"]


class ProxyContext:
    """Everything proxies read: the network (built once), the batch, the seed, block names and cost."""

    def __init__(self, model: nn.Module, batch: Batch, seed: int = 0, *, feature_nodes: tuple[str, ...] = (),
                 cost: Any = None, main_pass_grad: bool = True) -> None:
        self.model = model
        self.batch = batch
        self.seed = seed
        self.feature_nodes = feature_nodes
        self.cost = cost
        self._initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self._state = "initial"
        self._derived: dict[str, Any] = {}  # passes computed with the current weights
        self.main_pass_grad = main_pass_grad  # False: no proxy asked for needs the main pass's autograd graph

    # ---- weights and randomness ----------------------------------------------------------------------
    def model_with(self, init: str = "initial") -> nn.Module:
        """The network with its initial weights, or re-initialised by `init` ('kaiming_fanin', 'gaussian')."""
        if self._state != init:
            self._derived.clear()  # in-place weight changes invalidate graphs built on the old weights
            self.model.load_state_dict(self._initial)
            if init != "initial":
                torch.manual_seed(self.seed_for(init))
                INITS[init](self.model)
            self._state = init
        self.model.zero_grad(set_to_none=True)
        return self.model

    def seed_for(self, salt: str) -> int:
        """A seed derived from the context seed and a name, so each proxy's randomness is reproducible."""
        return int(hashlib.sha1(f"{self.seed}:{salt}".encode()).hexdigest()[:8], 16)

    def generator(self, salt: str) -> torch.Generator:
        """A CPU generator seeded by `seed_for(salt)`: draws are the same whatever the device."""
        return torch.Generator().manual_seed(self.seed_for(salt))

    @property
    def device(self) -> torch.device:
        """Where the network and batch live; proxies draw on the CPU and move their draws here."""
        return self.batch.x.device

    # ---- the shared main pass ------------------------------------------------------------------------
    def cached(self, key: str, init: str, compute: Callable[[], Any]) -> Any:
        """`compute()` once per weight state: `init` names the weights it needs."""
        self.model_with(init)
        if key not in self._derived:
            self._derived[key] = compute()
        return self._derived[key]

    def drop(self, key: str) -> None:
        """Free a shared pass once no remaining proxy needs it (its graph can be large)."""
        self._derived.pop(key, None)

    def main_pass(self) -> MainPass:
        """The train-mode forward of the batch with the initial weights (computed once)."""
        return self.cached("main_pass", "initial", self._forward_with_hooks)

    def _forward_with_hooks(self) -> MainPass:
        model = self.model_with("initial").train()
        act_inputs, act_outputs, maps, layer_outputs = [], [], [], []
        layers = prunable_layers(model)
        layer_ids = {id(m) for m in layers}

        def hook(module, inputs, output):
            if isinstance(module, ACTIVATIONS):
                act_inputs.append(inputs[0].detach())
                act_outputs.append(output.detach())
            if id(module) in layer_ids:
                layer_outputs.append(output)
            if isinstance(output, torch.Tensor) and output.dim() == 4:
                maps.append(output[0].detach())

        handles = [m.register_forward_hook(hook) for m in model.modules() if m is not model]
        try:
            x = self.batch.x.clone().requires_grad_(self.main_pass_grad)
            # the math attention kernel has second derivatives (GraSP); torch's CPU flash kernel has none
            with sdpa_kernel(SDPBackend.MATH), torch.set_grad_enabled(self.main_pass_grad):
                logits = model(x)
        finally:
            for h in handles:
                h.remove()
        loss = F.cross_entropy(logits, self.batch.y)
        weights = [m.weight for m in layers]
        return MainPass(x, logits, loss, act_inputs, act_outputs, maps, layer_outputs, weights, layers)

    @contextmanager
    def fixed_batch_statistics(self, x: torch.Tensor) -> Iterator[nn.Module]:
        """The network with its initial weights in eval mode, each BN normalising by `x`'s batch statistics.

        In train mode BN couples a batch's samples; with a linear head after it, the batch's summed logits
        are constant, so summed-objective gradients vanish. Fixed statistics give each sample its own
        function of its own input. Fresh BN buffers stand in and the originals are put back untouched, so
        a shared pass's graph, which may have saved them for a double backward, stays valid.
        """
        model = self.model_with("initial")
        norms = [m for m in model.modules()
                 if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.running_mean is not None]
        names = ("running_mean", "running_var", "num_batches_tracked")
        saved = [(m.momentum, [getattr(m, n) for n in names]) for m in norms]
        try:
            for m in norms:  # fresh buffers: the originals may be saved for a shared pass's (double) backward
                m.momentum = None  # a cumulative average over one batch: the statistics become the batch's
                for n in names:
                    setattr(m, n, torch.empty_like(getattr(m, n)))
                m.reset_running_stats()
            with torch.no_grad(), sdpa_kernel(SDPBackend.MATH):
                model.train()(x)
            with sdpa_kernel(SDPBackend.MATH):
                yield model.eval()
        finally:
            for m, (momentum, buffers) in zip(norms, saved):
                m.momentum = momentum
                for n, buffer in zip(names, buffers):
                    setattr(m, n, buffer)
            model.train()

    def release(self) -> None:
        """Free the shared passes and give the network back its initial weights and buffers."""
        self._derived.clear()
        self.model.load_state_dict(self._initial)
        self.model.zero_grad(set_to_none=True)
        self._state = "initial"

    # ---- features ------------------------------------------------------------------------------------
    def features(self, model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits and the block outputs (the space's feature nodes) of a GraphNet."""
        if not hasattr(model, "forward_features") or not self.feature_nodes:
            raise ProxyError("this proxy needs block outputs; score an architecture of a space, not a bare module")
        logits, kept = model.forward_features(x, self.feature_nodes)
        return logits, [kept[n] for n in self.feature_nodes if n in kept]

    def pre_pool_features(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """The feature map the classifier head pools (Zen-NAS's pre-GAP features)."""
        layers = getattr(model, "layers", None)
        pool = getattr(layers["head"], "pool", None) if isinstance(layers, nn.ModuleDict) and "head" in layers else None
        if pool is None:
            raise ProxyError("this proxy needs the pre-pooling feature map of a hybridnas classifier head")
        seen: list[torch.Tensor] = []
        handle = pool.register_forward_hook(lambda m, i, o: seen.append(i[0]))
        try:
            model(x)
        finally:
            handle.remove()
        return seen[0]
