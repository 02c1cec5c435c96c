"""Activation-pattern and Jacobian proxies, all from the shared main pass.

Activation modules are ReLU, ReLU6, GELU, SiLU, Hardswish and Mish; a unit counts as "on" when its
pre-activation is positive (for ReLU that is NASWOT's binary code; for the others the same sign pattern,
which each of them preserves).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from .context import ProxyContext, ProxyError
from .registry import register_proxy


def _binary_codes(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    """Each activation's on/off code per sample, as a boolean (N, units) matrix."""
    if not tensors:
        raise ProxyError("no ReLU/ReLU6/GELU/SiLU/Hardswish/Mish activation modules in this network")
    return [t.flatten(1) > 0 for t in tensors]


EXACT_FLOAT32 = 2**24  # integers up to this are exact in float32, so code overlaps can be counted in it


@register_proxy("naswot", shared="main_pass", paper="Mellor et al., ICML 2021")
def naswot(ctx: ProxyContext) -> float:
    """log|K| of the Hamming-similarity kernel of the batch's binary activation codes (slogdet)."""
    codes = _binary_codes(ctx.main_pass().act_inputs)
    n = codes[0].shape[0]
    kernel = torch.zeros(n, n, dtype=torch.float64, device=codes[0].device)
    for code in codes:
        units = code.shape[1]
        # c c^T + (1-c)(1-c)^T = 2 c c^T - r_i - r_j + units (r: each code's ones): one matmul, no (1 - c)
        # copy; the counts are integers below 2^24, which float32 holds exactly
        c = code.to(torch.float32 if units < EXACT_FLOAT32 else torch.float64)
        ones = code.sum(1, dtype=torch.float64)
        kernel += 2 * (c @ c.T).double() - ones[:, None] - ones[None, :] + units
    sign, logdet = torch.linalg.slogdet(kernel)
    return float(logdet) if sign > 0 else float("-inf")


def _packed_patterns(code: torch.Tensor) -> np.ndarray:
    """Each unit's on/off vector over the batch as a row of uint64 words (64 samples per word).

    A 32-sample slice of a pattern is a dot product with powers of two, exact in float64.
    """
    bits = 2.0 ** torch.arange(32, dtype=torch.float64, device=code.device)
    halves = [(bits[: min(32, len(code) - i)] @ code[i:i + 32].double()).cpu().numpy().astype(np.uint64)
              for i in range(0, len(code), 32)]
    halves += [np.zeros_like(halves[0])] * (len(halves) % 2)
    return np.stack([lo | (hi << np.uint64(32)) for lo, hi in zip(halves[::2], halves[1::2])], axis=1)


def _count_distinct_rows(rows: np.ndarray) -> int:
    """Distinct rows of a uint64 matrix, by hashing (pandas): sorting them took most of SWAP's time."""
    return len(pd.unique(rows[:, 0])) if rows.shape[1] == 1 else len(pd.DataFrame(rows).drop_duplicates())


@register_proxy("swap", shared="main_pass", paper="Peng et al., ICLR 2024")
def swap(ctx: ProxyContext) -> float:
    """Number of distinct sample-wise activation patterns (each unit's on/off vector over the batch)."""
    return float(_count_distinct_rows(np.concatenate([_packed_patterns(code)
                                                      for code in _binary_codes(ctx.main_pass().act_outputs)])))


@register_proxy("meco", shared="main_pass", paper="Jiang et al., NeurIPS 2023")
def meco(ctx: ProxyContext) -> float:
    """Sum over modules with an NCHW output of the least eigenvalue of the first sample's channel correlation."""
    total = 0.0
    seen: dict[tuple, float] = {}  # a container returns its last child's tensor: one eigendecomposition each
    for fmap in ctx.main_pass().maps:
        channels = fmap.shape[0]
        if channels < 2 or fmap[0].numel() < 2:  # one position: the correlation is undefined and counts 0
            continue
        if channels >= fmap[0].numel():
            # C channels correlated over N <= C positions: the matrix has rank <= N - 1 < C, so its least
            # eigenvalue is exactly 0 (an eigendecomposition returns rounding noise of order 1e-15, at a cost
            # cubic in C: the wide, small maps of late stages were most of MeCo's time)
            continue
        key = (fmap.data_ptr(), tuple(fmap.shape), tuple(fmap.stride()))
        if key not in seen:
            corr = torch.corrcoef(fmap.reshape(channels, -1).double())
            corr = torch.nan_to_num(corr, nan=0.0, posinf=0.0, neginf=0.0)
            seen[key] = float(torch.linalg.eigvalsh(corr).min())
        if np.isfinite(seen[key]):
            total += seen[key]
    return total


@register_proxy("jacob_cov", shared="main_pass", needs_grad=True, paper="Mellor et al., 2020 (NASWOT v1; as a proxy: Abdelfattah et al., ICLR 2021)")
def jacob_cov(ctx: ProxyContext) -> float:
    """-sum(log(v + k) + 1/(v + k)) over eigenvalues v of the correlation of per-sample input Jacobians."""
    main = ctx.main_pass()
    jac = main.input_grad()
    # As in the reference, a row is d(sum of the batch's logits)/d(sample). When a train-mode BN feeds a
    # linear head, its outputs sum to a constant over the batch and these rows are rounding noise (a
    # sample-weighted sum shows it); then each sample's own Jacobian is taken with the BN statistics fixed.
    signs = torch.randint(0, 2, (len(main.logits), 1), generator=ctx.generator("jacob_cov")).to(ctx.device) * 2.0 - 1.0
    weighted = torch.autograd.grad((main.logits * signs).sum(), main.x, retain_graph=True)[0]
    if float(jac.norm()) <= 1e-5 * float(weighted.norm()):
        with ctx.fixed_batch_statistics(ctx.batch.x) as model:
            x = ctx.batch.x.clone().requires_grad_(True)
            jac = torch.autograd.grad(model(x).sum(), x)[0]
    corr = torch.nan_to_num(torch.corrcoef(jac.flatten(1).double()), nan=0.0)
    v = torch.linalg.eigvalsh(corr)
    k = 1e-5
    return float(-(torch.log(v + k) + 1.0 / (v + k)).sum())
