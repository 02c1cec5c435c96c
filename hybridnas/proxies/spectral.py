"""Proxies with their own passes: synflow, Zen-score, NTK condition number, length distortion."""

from __future__ import annotations

import copy
import math

import torch
from torch import nn
from timm.layers import Attention, LayerNorm2d

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
    ones = torch.ones(1, *ctx.batch.x.shape[1:], dtype=torch.float64)
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
    mixed = x + 1e-2 * torch.randn(shape, generator=gen)
    with torch.no_grad():
        diff = (ctx.pre_pool_features(model, x) - ctx.pre_pool_features(model, mixed)).abs()
    score = math.log(float(diff.sum(dim=tuple(range(1, diff.dim()))).mean()))
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            score += math.log(math.sqrt(float(m.running_var.mean())))
    return score


@register_proxy("ntk_cond", paper="Chen et al., ICLR 2021 (TE-NAS); used by As-ViT, ICLR 2022",
                needs_grad=True, higher_is_better=False)
def ntk_cond(ctx: ProxyContext, samples: int = 16) -> float:
    """Condition number (largest / smallest eigenvalue) of the empirical NTK on up to 16 samples; lower is better."""
    model = ctx.model_with("initial").train()
    weights = [m.weight for m in prunable_layers(model)]
    x = ctx.batch.x[:samples]
    logits = model(x)
    n = len(x)
    # row i of the Jacobian is d(sum of logits of sample i)/d(weights): n backward passes, batched
    picks = torch.eye(n, dtype=logits.dtype)[:, :, None].expand(n, n, logits.shape[1])
    grads = torch.autograd.grad(logits, weights, grad_outputs=picks, is_grads_batched=True, allow_unused=True)
    jac = torch.cat([g.reshape(n, -1) for g in grads if g is not None], dim=1).double()
    eig = torch.linalg.eigvalsh(jac @ jac.T)
    if eig[0] <= 0:
        raise ProxyError(f"NTK is singular (smallest eigenvalue {float(eig[0]):.3g})")
    return float(eig[-1] / eig[0])


@register_proxy("length_distortion", paper="Chen et al., ICLR 2022 (As-ViT)", needs_data=False, needs_grad=True)
def length_distortion(ctx: ProxyContext, points: int = 16, max_outputs: int = 16) -> float:
    """Mean speed |d f(x(t))/dt| of the logits along a unit circle x(t) in a random 2-D input plane."""
    model = ctx.model_with("initial").train()
    gen = ctx.generator("length_distortion")
    dim = math.prod(ctx.batch.x.shape[1:])
    basis, _ = torch.linalg.qr(torch.randn(dim, 2, generator=gen))
    theta = torch.linspace(0, 2 * math.pi, points).requires_grad_(True)
    curve = (basis @ torch.stack([torch.cos(theta), torch.sin(theta)])).T.reshape(points, *ctx.batch.x.shape[1:])
    out = model(curve).flatten(1)
    if out.shape[1] > max_outputs:  # many classes: a fixed random orthonormal projection keeps lengths comparable
        proj, _ = torch.linalg.qr(torch.randn(out.shape[1], max_outputs, generator=gen))
        out = out @ proj
    k = out.shape[1]
    picks = torch.eye(k, dtype=out.dtype)[:, None, :].expand(k, points, k)  # one backward pass per output, batched
    speed = torch.autograd.grad(out, theta, grad_outputs=picks, is_grads_batched=True)[0].T
    return float(speed.norm(dim=1).mean())
