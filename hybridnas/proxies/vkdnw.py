"""VKDNW (Týbl & Neumann, CVPR 2025): the spectrum of the Fisher information in one weight per tensor.

The network is Kaiming fan-in initialised and run in eval mode, so each sample is its own function of
its input. From every parameter tensor the first entry is taken, giving P weights; the Fisher information
of the categorical model in them is F = mean_b J_b^T (diag(p_b) - p_b p_b^T) J_b, where J_b is the
Jacobian of sample b's logits in those weights and p_b its softmax, smoothed as p (1 - 0.05) + 0.05 / C.
VKDNW is the entropy of the normalised deciles (10th..90th percentile) of F's eigenvalues; the
published single ranking orders networks by P first and breaks ties by that entropy.

The reference code multiplies J by the transposed Cholesky factor on the wrong side; this module uses
the Fisher information as the paper defines it.

J is computed without per-sample weight gradients: a forward hook on each module adds
delta_p[b] * (d output / d first entry of p) to the module's output, that derivative in closed form for conv,
BatchNorm, linear and layer norms (one output channel) and by forward-mode autodiff of the module alone for
anything else; one backward pass per class then gives d logit_c / d delta_p[b], which is J_b[c, p] because
eval-mode samples do not interact.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Iterator

import numpy as np
import torch
from timm.layers import LayerNorm2d
from torch import nn
from torch.func import functional_call, jvp
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.hooks import RemovableHandle

from .context import ProxyContext, ProxyError
from .registry import register_proxy

SMOOTHING = 0.05  # the reference's label smoothing of the softmax
MAX_CLASSES = 128  # one backward pass per class: beyond this the exact Fisher costs too much
DECILES = np.arange(1, 10) / 10.0


def _runs_forward_of(module: nn.Module, base: type) -> bool:
    """True when `module` is a `base` whose computation is the base class's own (a subclass may change it)."""
    return isinstance(module, base) and type(module).forward is base.forward and \
        getattr(type(module), "_conv_forward", None) is getattr(base, "_conv_forward", None)


def _closed_form(module: nn.Module, name: str, x: torch.Tensor,
                 output: torch.Tensor) -> tuple[int, torch.Tensor] | None:
    """d output / d (first entry of `name`) for the common layers, which touches one output channel only.

    Returns (dim, slice): the derivative is `slice` at index 0 of output dim `dim` and zero elsewhere; None
    for a layer without a closed form here (the caller falls back to forward-mode autodiff).
    """
    if _runs_forward_of(module, nn.Conv2d) and module.padding_mode == "zeros" and not isinstance(module.padding, str):
        if name == "bias":
            return 1, torch.ones_like(output[:, 0])
        (ph, pw), (sh, sw) = module.padding, module.stride
        padded = nn.functional.pad(x[:, 0], (pw, pw, ph, ph))  # weight[0, 0, 0, 0] reads input channel 0
        return 1, padded[:, ::sh, ::sw][:, :output.shape[2], :output.shape[3]]
    if _runs_forward_of(module, nn.BatchNorm2d) and not module.training and module.track_running_stats:
        if name == "bias":
            return 1, torch.ones_like(output[:, 0])
        return 1, (x[:, 0] - module.running_mean[0]) / torch.sqrt(module.running_var[0] + module.eps)
    if _runs_forward_of(module, nn.Linear):
        return -1, torch.ones_like(output[..., 0]) if name == "bias" else x[..., 0]
    for base, dim in ((nn.LayerNorm, -1), (LayerNorm2d, 1)):  # LayerNorm2d normalises channels of NCHW maps
        if _runs_forward_of(module, base) and len(module.normalized_shape) == 1:
            if name == "bias":
                return dim, torch.ones_like(output.select(dim, 0))
            var, mean = torch.var_mean(x, dim=dim, unbiased=False)
            return dim, (x.select(dim, 0) - mean) / torch.sqrt(var + module.eps)
    return None


def _perturbed(output: torch.Tensor, dim: int, terms: list[torch.Tensor]) -> torch.Tensor:
    """`output` with the sum of `terms` added at index 0 of `dim`."""
    dim = dim % output.dim()
    first, rest = output.narrow(dim, 0, 1), output.narrow(dim, 1, output.shape[dim] - 1)
    return torch.cat([first + sum(terms).unsqueeze(dim), rest], dim=dim)


def _first_entry_probes(model: nn.Module, batch_size: int) -> tuple[list[torch.Tensor], list[RemovableHandle]]:
    """Hook every module that owns parameters; return one zero `delta` of shape (batch,) per parameter tensor."""
    deltas: list[torch.Tensor] = []
    handles = []
    busy = [False]  # the modules' own re-evaluations must not fire the hooks again

    def make_hook(owned: list[tuple[str, nn.Parameter, torch.Tensor]]):
        def hook(module: nn.Module, inputs: tuple, output):
            if busy[0]:
                return None
            if not isinstance(output, torch.Tensor) or output.shape[:1] != (batch_size,):
                raise ProxyError(f"vkdnw needs a tensor output with the batch first from {type(module).__name__}")
            fixed = tuple(i.detach() if isinstance(i, torch.Tensor) else i for i in inputs)
            by_dim: dict[int, list[torch.Tensor]] = {}
            full = []
            for name, param, delta in owned:
                scale = delta.view(-1, *([1] * (output.dim() - 2)))
                known = _closed_form(module, name, fixed[0], output) if fixed else None
                if known is not None:
                    by_dim.setdefault(known[0], []).append(scale * known[1].detach())
                    continue
                tangent = torch.zeros_like(param)
                tangent[(0,) * tangent.dim()] = 1.0  # the first entry in index order, whatever the layout
                busy[0] = True
                try:
                    _, d_out = jvp(lambda w: functional_call(module, {name: w}, fixed), (param.detach(),), (tangent,))
                finally:
                    busy[0] = False
                full.append(delta.view(-1, *([1] * (output.dim() - 1))) * d_out.detach())
            for dim, terms in by_dim.items():
                output = _perturbed(output, dim, terms)
            return output + sum(full) if full else output

        return hook

    for module in model.modules():
        owned = []
        for name, param in module.named_parameters(recurse=False):
            if param.numel() > 0:
                delta = torch.zeros(batch_size, device=param.device, dtype=param.dtype, requires_grad=True)
                owned.append((name, param, delta))
                deltas.append(delta)
        if owned:
            handles.append(module.register_forward_hook(make_hook(owned)))
    return deltas, handles


def first_entry_jacobian(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample Jacobian of the logits in the first entry of each of the model's P parameter tensors.

    Returns:
        (batch, classes, P) float64 Jacobian, and the (batch, classes) logits, detached.
    """
    deltas, handles = _first_entry_probes(model, x.shape[0])
    if not deltas:
        raise ProxyError("vkdnw needs a network with parameters")
    trainable = [p for p in model.parameters() if p.requires_grad]
    try:
        for p in trainable:  # only the probes need gradients: backward passes skip every weight gradient
            p.requires_grad_(False)
        logits = model(x)
    finally:
        for p in trainable:
            p.requires_grad_(True)
        for handle in handles:
            handle.remove()
    if logits.dim() != 2 or logits.shape[0] != x.shape[0]:
        raise ProxyError(f"vkdnw needs (batch, classes) logits, got shape {tuple(logits.shape)}")
    classes = logits.shape[1]
    if classes > MAX_CLASSES:
        raise ProxyError(f"vkdnw takes one backward pass per class and allows at most {MAX_CLASSES} classes; "
                         f"this network has {classes}")
    rows = []
    for c in range(classes):
        grads = torch.autograd.grad(logits[:, c].sum(), deltas, retain_graph=c + 1 < classes, allow_unused=True)
        rows.append(torch.stack([torch.zeros_like(d) if g is None else g for g, d in zip(grads, deltas)], dim=1))
    return torch.stack(rows, dim=1).double(), logits.detach()


def smoothed_covariance(logits: torch.Tensor) -> torch.Tensor:
    """Per sample, diag(p) - p p^T of the softmax smoothed as p (1 - 0.05) + 0.05 / classes, in float64."""
    prob = torch.softmax(logits.double(), dim=1) * (1 - SMOOTHING) + SMOOTHING / logits.shape[1]
    return torch.diag_embed(prob) - prob.unsqueeze(2) * prob.unsqueeze(1)


def fisher_information(jac: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """mean_b J_b^T C_b J_b for a (batch, classes, P) Jacobian, C_b the smoothed softmax covariance."""
    return torch.einsum("bcp,bcd,bdq->pq", jac, smoothed_covariance(logits), jac) / jac.shape[0]


def fisher_first_entries(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The (P, P) Fisher information, in float64, of the first entry of each of the model's P parameter tensors."""
    return fisher_information(*first_entry_jacobian(model, x))


def decile_entropy(eigenvalues: np.ndarray) -> float:
    """Entropy of the deciles of a spectrum, normalised to sum to one (VKDNW's score)."""
    deciles = np.quantile(np.clip(eigenvalues, 0.0, None), DECILES)
    share = deciles / (deciles.sum() + 1e-10)
    return float(-(share * np.log(share + 1e-10)).sum())


@contextmanager
def _fresh_norm_statistics(model: nn.Module) -> Iterator[None]:
    """BatchNorm running statistics as a new network has them (another proxy's train-mode pass may have moved
    them), put back afterwards, and the model back in train mode."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    saved = [(m.running_mean.clone(), m.running_var.clone(), m.num_batches_tracked.clone()) for m in norms]
    try:
        for m in norms:
            m.reset_running_stats()
        yield
    finally:
        for m, (mean, var, count) in zip(norms, saved):
            m.running_mean.copy_(mean)
            m.running_var.copy_(var)
            m.num_batches_tracked.copy_(count)
        model.train()


def _spectrum(ctx: ProxyContext) -> tuple[int, float]:
    def compute() -> tuple[int, float]:
        model = ctx.model_with("kaiming_fanin")
        with _fresh_norm_statistics(model), sdpa_kernel(SDPBackend.MATH):
            fisher = fisher_first_entries(model.eval(), ctx.batch.x)
        eigenvalues = torch.linalg.eigvalsh(fisher).cpu().numpy()
        if not np.all(np.isfinite(eigenvalues)):
            raise ProxyError("vkdnw: the Fisher information is not finite for this network")
        return fisher.shape[0], decile_entropy(eigenvalues)

    return ctx.cached("vkdnw_fisher", "kaiming_fanin", compute)


@register_proxy("vkdnw_entropy", shared="vkdnw_fisher", needs_grad=True, init="kaiming_fanin",
                paper="Týbl & Neumann, CVPR 2025 (VKDNW)")
def vkdnw_entropy(ctx: ProxyContext) -> float:
    """Entropy of the Fisher-information spectrum's deciles, in the first weight of every parameter tensor."""
    return _spectrum(ctx)[1]


@register_proxy("vkdnw", shared="vkdnw_fisher", needs_grad=True, init="kaiming_fanin",
                paper="Týbl & Neumann, CVPR 2025 (VKDNW, the single ranking)")
def vkdnw(ctx: ProxyContext) -> float:
    """Number of parameter tensors, ties broken by vkdnw_entropy (the published single ranking, as one number)."""
    count, entropy = _spectrum(ctx)
    return count + entropy / (math.log(len(DECILES)) + 1e-9)
