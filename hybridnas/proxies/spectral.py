"""Proxies with their own passes: synflow, Zen-score, NTK condition number, length distortion."""

from __future__ import annotations

import copy
import math

import torch
from torch import nn
from timm.layers import Attention, LayerNorm2d
from torch.nn.attention import SDPBackend, sdpa_kernel

from .context import ProxyContext, ProxyError, prunable_layers
from .registry import register_proxy

NORMS = (nn.BatchNorm2d, nn.LayerNorm, LayerNorm2d, nn.GroupNorm)


class _UniformAttention(nn.Module):
    """timm Attention with a uniform attention map, reusing its qkv and proj weights (synflow only)."""

    def __init__(self, attn: Attention) -> None:
        super().__init__()
        self.qkv, self.proj, self.dim = attn.qkv, attn.proj, attn.qkv.in_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = self.qkv(x)[..., 2 * self.dim:]
        return self.proj(v.mean(dim=1, keepdim=True).expand_as(v))


def _without_norms(model: nn.Module) -> nn.Module:
    """A copy for synflow: norm layers are identities, and softmax attention is uniform.

    With |weights| and an all-ones input, attention scores QK^T grow quadratically per layer and
    overflow even float64; an all-ones input has no token variation to attend to, so a uniform map
    keeps the flow finite (the q and k projections then carry no flow).
    """
    clone = copy.deepcopy(model)
    for parent in clone.modules():
        for name, child in parent.named_children():
            if isinstance(child, NORMS):
                setattr(parent, name, nn.Identity())
            elif isinstance(child, Attention):
                setattr(parent, name, _UniformAttention(child))
    return clone


@register_proxy("synflow", paper="Tanaka et al., NeurIPS 2020 (as a proxy: Abdelfattah et al., ICLR 2021)",
                needs_data=False, needs_grad=True)
def synflow(ctx: ProxyContext) -> float:
    """sum |w * dR/dw| over conv/linear weights, R = sum of outputs for an all-ones input; |params|, float64,
    norms off, attention maps uniform."""
    model = _without_norms(ctx.model_with("initial")).double().train()
    with torch.no_grad():
        for tensor in model.state_dict().values():
            tensor.abs_()
    model.zero_grad(set_to_none=True)
    ones = torch.ones(1, *ctx.batch.x.shape[1:], dtype=torch.float64, device=ctx.device)
    model(ones).sum().backward()
    return float(sum((m.weight.detach() * m.weight.grad).abs().sum() for m in prunable_layers(model)
                     if m.weight.grad is not None))


@register_proxy("zen", paper="Lin et al., ICCV 2021", needs_data=False, init="gaussian")
def zen(ctx: ProxyContext) -> float:
    """log E|f(x) - f(x + 0.01 e)| of pre-pooling features plus sum of log sqrt(mean BN running var); N(0,1) init."""
    model = ctx.model_with("gaussian").train()
    gen = ctx.generator("zen")
    shape = tuple(ctx.batch.x.shape)
    x = torch.randn(shape, generator=gen)
    mixed = (x + 1e-2 * torch.randn(shape, generator=gen)).to(ctx.device)
    x = x.to(ctx.device)
    with torch.no_grad():
        diff = (ctx.pre_pool_features(model, x) - ctx.pre_pool_features(model, mixed)).abs()
    score = math.log(float(diff.sum(dim=tuple(range(1, diff.dim()))).mean()))
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            score += math.log(math.sqrt(float(m.running_var.mean())))
    return score


def _weight_jacobian(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Row i: d(sum of the logits of sample i)/d(conv/linear weights), one backward pass per sample."""
    weights = [m.weight for m in prunable_layers(model)]
    logits = model(x)
    rows = []
    for i in range(len(x)):  # a loop of backward passes is as fast as is_grads_batched here, in less memory
        grads = torch.autograd.grad(logits[i].sum(), weights, retain_graph=i < len(x) - 1, allow_unused=True)
        rows.append(torch.cat([g.reshape(-1) for g in grads if g is not None]))
    return torch.stack(rows).double()


@register_proxy("ntk_cond", paper="Chen et al., ICLR 2021 (TE-NAS); used by As-ViT, ICLR 2022",
                needs_grad=True, higher_is_better=False)
def ntk_cond(ctx: ProxyContext, samples: int = 16) -> float:
    """Condition number (largest / smallest eigenvalue) of the empirical NTK on up to 16 samples; lower is better."""
    x = ctx.batch.x[:samples]
    jac = _weight_jacobian(ctx.model_with("initial").train(), x)
    if float(jac.sum(0).norm()) <= 1e-5 * float(jac.norm(dim=1).max()):
        # the rows sum to zero: a train-mode BN feeds a linear head, so the batch's summed logits are
        # constant and the NTK is singular by construction; each sample's own gradients need fixed statistics
        with ctx.fixed_batch_statistics(x) as model:
            jac = _weight_jacobian(model, x)
    eig = torch.linalg.eigvalsh(jac @ jac.T)
    if eig[0] <= 0:
        raise ProxyError(f"NTK is singular (smallest eigenvalue {float(eig[0]):.3g})")
    return float(eig[-1] / eig[0])


@register_proxy("length_distortion", paper="Chen et al., ICLR 2022 (As-ViT)", needs_data=False)
def length_distortion(ctx: ProxyContext, points: int = 16, max_outputs: int = 16) -> float:
    """Mean speed |d f(x(t))/dt| of the logits along a unit circle x(t) in a random 2-D input plane."""
    model = ctx.model_with("initial").train()
    gen = ctx.generator("length_distortion")
    dim = math.prod(ctx.batch.x.shape[1:])
    basis, _ = torch.linalg.qr(torch.randn(dim, 2, generator=gen))
    theta = torch.arange(points) * (2 * math.pi / points)  # evenly spaced, no repeated end point
    shape = (points, *ctx.batch.x.shape[1:])
    curve = (basis @ torch.stack([torch.cos(theta), torch.sin(theta)])).T.reshape(shape).to(ctx.device)
    velocity = (basis @ torch.stack([-torch.sin(theta), torch.cos(theta)])).T.reshape(shape).to(ctx.device)
    # forward mode, all points moving along the circle at once (no backward graph, hence no_grad). In
    # train mode the points share BN statistics; a rotation maps the evenly spaced set almost onto itself,
    # so the statistics barely move. Reverse mode through the sum of all points' logits would mix the
    # points, and cancels exactly in a final BN, whose outputs sum to beta over the batch.
    with torch.no_grad(), torch.autograd.forward_ad.dual_level(), sdpa_kernel(SDPBackend.MATH):
        out = model(torch.autograd.forward_ad.make_dual(curve, velocity))
        speed = torch.autograd.forward_ad.unpack_dual(out).tangent.flatten(1)
    if speed.shape[1] > max_outputs:  # many classes: a fixed random orthonormal projection keeps lengths comparable
        proj, _ = torch.linalg.qr(torch.randn(speed.shape[1], max_outputs, generator=gen))
        speed = speed @ proj.to(speed.device)
    return float(speed.norm(dim=1).mean())
