"""VKDNW: the Fisher information in the first entry of each parameter tensor, against per-sample autograd."""

import math

import numpy as np
import pytest
import torch
from timm.layers import LayerNorm2d
from torch import nn

from hybridnas.models.modules import DepthwiseConv

from hybridnas.proxies import ProxyError, score
from hybridnas.proxies.vkdnw import SMOOTHING, decile_entropy, fisher_first_entries


class TokenMixer(nn.Module):
    """Attention over positions with a parameter of its own (the forward-mode fallback) and LayerNorm/Linear."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.norm, self.proj = nn.LayerNorm(width), nn.Linear(width, width)
        self.scale = nn.Parameter(torch.rand(width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        tokens = x.flatten(2).transpose(1, 2)
        normed = self.norm(tokens)
        mixed = torch.softmax(normed @ normed.transpose(1, 2), dim=-1) @ tokens
        return (tokens + self.scale * self.proj(mixed)).transpose(1, 2).reshape(b, c, h, w)


def mixed_network(classes: int = 5) -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, stride=2), nn.BatchNorm2d(8), nn.ReLU(), TokenMixer(8),
                          nn.Conv2d(8, 8, 3, padding=2, dilation=1, groups=2), LayerNorm2d(8), DepthwiseConv(8, 3),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, classes))
    model[5].weight.data.normal_()  # LayerNorm2d: channels, not the last dim, are normalised
    model[5].bias.data.normal_()
    norm = model[1]
    norm.running_mean.normal_()
    norm.running_var.uniform_(0.5, 2.0)
    norm.weight.data.normal_()
    norm.bias.data.normal_()
    return model.eval()


def per_sample_fisher(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The definition, computed the slow way: one backward pass per sample and class."""
    params = list(model.parameters())
    logits = model(x).detach().double()
    batch, classes = logits.shape
    jac = torch.zeros(batch, classes, len(params), dtype=torch.float64)
    for b in range(batch):
        out = model(x[b:b + 1])[0]
        for c in range(classes):
            grads = torch.autograd.grad(out[c], params, retain_graph=True)
            jac[b, c] = torch.stack([g[(0,) * g.dim()] for g in grads]).double()
    prob = torch.softmax(logits, dim=1) * (1 - SMOOTHING) + SMOOTHING / classes
    cov = torch.diag_embed(prob) - prob.unsqueeze(2) * prob.unsqueeze(1)
    return torch.einsum("bcp,bcd,bdq->pq", jac, cov, jac) / batch


def test_fisher_equals_the_per_sample_definition_for_conv_norm_attention_and_linear_layers():
    """Closed forms (conv, depthwise, BN, LayerNorm, LayerNorm2d, Linear) and the forward-mode fallback."""
    model = mixed_network()
    x = torch.randn(6, 3, 8, 8)
    fast = fisher_first_entries(model, x)
    slow = per_sample_fisher(model, x)
    assert fast.shape == (len(list(model.parameters())),) * 2
    assert torch.allclose(fast, slow, rtol=1e-5, atol=1e-7 * float(slow.abs().max()))
    assert all(p.requires_grad for p in model.parameters())  # switched off only during the pass


def test_decile_entropy_is_largest_for_a_flat_spectrum():
    assert decile_entropy(np.ones(50)) == pytest.approx(math.log(9))
    assert decile_entropy(np.logspace(-8, 0, 50)) < 1.0


def test_more_classes_than_the_exact_fisher_allows_is_a_proxy_error():
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 200))
    with pytest.raises(ProxyError, match="at most 128 classes"):
        fisher_first_entries(model, torch.randn(4, 3, 2, 2))


def test_vkdnw_counts_parameter_tensors_first(tiny):
    arch = tiny.parse("w8|w8:conv-k3-r4|w16:conv-k3-r4+attention-h2-r4")
    result = score(arch, ["vkdnw", "vkdnw_entropy"], "gaussian", seed=0, space=tiny, batch_size=16)
    assert not result.errors, result.errors
    tensors = sum(1 for p in tiny.build(arch).parameters() if p.numel())
    assert math.floor(result.values["vkdnw"]) == tensors
    assert 0 < result.values["vkdnw_entropy"] <= math.log(9)


def test_another_proxy_s_train_mode_pass_does_not_move_vkdnw(tiny):
    arch = tiny.sample(3)
    alone = score(arch, ["vkdnw_entropy"], "gaussian", seed=1, space=tiny, batch_size=8).values
    after_az = score(arch, ["az_expressivity", "vkdnw_entropy"], "gaussian", seed=1, space=tiny, batch_size=8).values
    assert after_az["vkdnw_entropy"] == alone["vkdnw_entropy"]
