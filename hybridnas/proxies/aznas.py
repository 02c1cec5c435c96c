"""AZ-NAS components (Lee & Ham, CVPR 2024) over the block outputs, Kaiming fan-in initialisation.

One train-mode forward keeps the block outputs; expressivity and progressivity read their channel
covariance spectra, trainability backpropagates random +/-1 vectors from one block to the previous.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .context import ProxyContext, ProxyError
from .registry import register_proxy


def _block_features(ctx: ProxyContext) -> list[torch.Tensor]:
    def compute() -> list[torch.Tensor]:
        _, feats = ctx.features(ctx.model.train(), ctx.batch.x)
        feats = [f for f in feats if f.dim() == 4]
        if len(feats) < 2:
            raise ProxyError("AZ-NAS needs at least two block outputs")
        return feats

    return ctx.cached("az_features", "kaiming_fanin", compute)


def _isotropy(feat: torch.Tensor) -> float:
    b, c, h, w = feat.shape
    flat = feat.detach().permute(0, 2, 3, 1).reshape(b * h * w, c).double()
    flat = flat - flat.mean(dim=0, keepdim=True)
    eig = torch.linalg.eigvalsh(flat.T @ flat / flat.shape[0])
    p = eig / eig.sum()
    return float((-p * torch.log(p + 1e-8)).sum())


def _expressivities(ctx: ProxyContext) -> np.ndarray:
    return ctx.cached("az_expressivity", "kaiming_fanin",
                      lambda: np.array([_isotropy(f) for f in _block_features(ctx)]))


@register_proxy("az_expressivity", shared="az_features", paper="Lee & Ham, CVPR 2024 (AZ-NAS)", init="kaiming_fanin")
def az_expressivity(ctx: ProxyContext) -> float:
    """Sum over block outputs of the entropy of the normalised channel-covariance eigenvalues."""
    return float(_expressivities(ctx).sum())


@register_proxy("az_progressivity", shared="az_features", paper="Lee & Ham, CVPR 2024 (AZ-NAS)", init="kaiming_fanin")
def az_progressivity(ctx: ProxyContext) -> float:
    """Smallest increase of expressivity from one block output to the next."""
    values = _expressivities(ctx)
    return float(np.min(values[1:] - values[:-1]))


@register_proxy("az_trainability", shared="az_features", paper="Lee & Ham, CVPR 2024 (AZ-NAS)", needs_grad=True,
                init="kaiming_fanin")
def az_trainability(ctx: ProxyContext) -> float:
    """Mean over consecutive blocks of 2 - s - 1/s, s the top singular value of the block Jacobian estimate."""
    feats = _block_features(ctx)
    gen = ctx.generator("az_trainability")
    scores = []
    for i in reversed(range(1, len(feats))):
        f_out, f_in = feats[i], feats[i - 1]
        g_out = torch.randint(0, 2, f_out.shape, generator=gen).to(f_out.device, f_out.dtype) * 2 - 1
        g_in = torch.autograd.grad(f_out, f_in, grad_outputs=g_out, retain_graph=True, allow_unused=True)[0]
        if g_in is None:
            continue
        if g_in.shape == g_out.shape and torch.equal(g_in, g_out):
            scores.append(-np.inf)  # an identity block
            continue
        if g_in.shape[2] != g_out.shape[2]:
            g_in = nn.functional.pixel_unshuffle(g_in, g_in.shape[2] // g_out.shape[2])
        bo, co, ho, wo = g_out.shape
        mat = g_in.permute(0, 2, 3, 1).reshape(-1, g_in.shape[1]).T @ g_out.permute(0, 2, 3, 1).reshape(-1, co)
        s = float(torch.linalg.svdvals((mat / (bo * ho * wo)).double()).max())
        scores.append(-s - 1.0 / (s + 1e-6) + 2.0)
    if not scores:
        raise ProxyError("no block-to-block gradient path for AZ-NAS trainability")
    return float(np.mean(scores))
