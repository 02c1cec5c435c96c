"""Gradient-based proxies over conv/linear weights (Abdelfattah et al. 2021 definitions, and ZiCo).

All but ZiCo read the shared main pass: one train-mode forward of the batch, cross-entropy loss.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .context import ProxyContext, prunable_layers
from .registry import register_proxy


@register_proxy("grad_norm", shared="main_pass", paper="Abdelfattah et al., ICLR 2021", needs_labels=True, needs_grad=True)
def grad_norm(ctx: ProxyContext) -> float:
    """Sum over conv/linear layers of the L2 norm of the loss gradient of the weight."""
    grads, _ = ctx.main_pass().loss_grads()
    return float(sum(g.norm() for g in grads))


@register_proxy("snip", shared="main_pass", paper="Lee et al., ICLR 2019 (as a proxy: Abdelfattah et al., ICLR 2021)",
                needs_labels=True, needs_grad=True)
def snip(ctx: ProxyContext) -> float:
    """Connection sensitivity: sum of |dL/dw * w| over conv/linear weights."""
    main = ctx.main_pass()
    grads, _ = main.loss_grads()
    return float(sum((g * w.detach()).abs().sum() for g, w in zip(grads, main.weights)))


@register_proxy("grasp", shared="main_pass", late=True, paper="Wang et al., ICLR 2020 (as a proxy: Abdelfattah et al., ICLR 2021)",
                needs_labels=True, needs_grad=True)
def grasp(ctx: ProxyContext) -> float:
    """Gradient signal preservation: sum of -w * (H g) over conv/linear weights (double backprop)."""
    main = ctx.main_pass()
    return float(sum((-w.detach() * hg).sum() for w, hg in zip(main.weights, main.hessian_grad())))


@register_proxy("fisher", shared="main_pass", paper="Turner et al., ICLR 2020 (as a proxy: Abdelfattah et al., ICLR 2021)",
                needs_labels=True, needs_grad=True)
def fisher(ctx: ProxyContext) -> float:
    """Sum over conv/linear outputs of 0.5 * mean over samples of (sum over positions of act * dL/dact)^2."""
    main = ctx.main_pass()
    _, out_grads = main.loss_grads()
    total = 0.0
    for act, grad in zip(main.layer_outputs, out_grads):
        prod = act.detach() * grad
        if prod.dim() == 3:  # tokens (B, N, C): channels are last
            prod = prod.transpose(1, 2)
        per_channel = prod.sum(dim=tuple(range(2, prod.dim()))) if prod.dim() > 2 else prod
        total += float(per_channel.pow(2).mean(0).mul(0.5).sum())
    return total


@register_proxy("zico", paper="Li et al., ICLR 2023", needs_labels=True, needs_grad=True)
def zico(ctx: ProxyContext) -> float:
    """Sum over layers of log(sum of mean|g| / std(g)) per weight, over two batches (the batch's halves)."""
    model = ctx.model_with("initial").train()
    layers = prunable_layers(model)
    halves = torch.chunk(torch.arange(len(ctx.batch.y)), 2)
    if len(halves) < 2:
        raise ValueError("ZiCo needs a batch of at least 2 samples")
    per_layer: list[list[torch.Tensor]] = [[] for _ in layers]
    for idx in halves:
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(ctx.batch.x[idx]), ctx.batch.y[idx]).backward()
        for store, layer in zip(per_layer, layers):
            if layer.weight.grad is not None:
                store.append(layer.weight.grad.detach().flatten().clone())
    model.zero_grad(set_to_none=True)
    score = 0.0
    for store in per_layer:
        if len(store) < 2:
            continue
        grads = torch.stack(store)
        std = grads.std(dim=0, unbiased=False)
        nonzero = std != 0
        total = float((grads.abs().mean(dim=0)[nonzero] / std[nonzero]).sum())
        if total > 0:
            score += math.log(total)
    return score
