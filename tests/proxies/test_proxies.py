"""Every registered proxy (registry-driven), closed-form checks on linear networks, and engine behaviour."""

import dataclasses
import math

import pytest
import torch
from torch import nn

from hybridnas.proxies import get_proxy, list_proxies, register_proxy, score
from hybridnas.proxies.registry import PROXIES

ALL = list_proxies()


def test_the_issue_s_proxies_are_registered():
    wanted = {"params", "macs", "grad_norm", "snip", "grasp", "fisher", "synflow", "jacob_cov", "naswot", "zico",
              "zen", "ntk_cond", "length_distortion", "meco", "swap", "az_expressivity", "az_progressivity",
              "az_trainability"}
    assert wanted <= set(ALL)


@pytest.mark.parametrize("name", ALL)
def test_proxy_is_finite_and_deterministic(tiny, name):
    arch = tiny.parse("w8|w8:conv-k3-r4|w16:conv-k3-r4+attention-h2-r4")
    first = score(arch, [name], "gaussian", seed=3, space=tiny, batch_size=8)
    again = score(arch, [name], "gaussian", seed=3, space=tiny, batch_size=8)
    assert not first.errors, first.errors
    assert math.isfinite(first.values[name])
    assert first.values == again.values


@pytest.mark.parametrize("name", ALL)
def test_proxy_documents_itself(name):
    proxy = get_proxy(name)
    assert proxy.doc and proxy.paper


def test_shared_passes_give_the_same_values_as_separate_runs(tiny):
    arch = tiny.sample(1)
    together = score(arch, ALL, "gaussian", seed=0, space=tiny, batch_size=8)
    for name in ALL:
        alone = score(arch, [name], "gaussian", seed=0, space=tiny, batch_size=8)
        if name in together.values:
            assert alone.values[name] == pytest.approx(together.values[name], rel=1e-6, abs=1e-9), name
        else:
            assert name in alone.errors


def test_seed_changes_data_dependent_scores(tiny):
    arch = tiny.sample(0)
    a = score(arch, ["naswot"], "gaussian", seed=0, space=tiny, batch_size=8).values["naswot"]
    b = score(arch, ["naswot"], "gaussian", seed=1, space=tiny, batch_size=8).values["naswot"]
    assert a != b


def linear_net(d=12, h=7, c=5, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(d, h, bias=False), nn.Linear(h, c, bias=False))


def test_synflow_of_a_linear_network_is_layers_times_path_norm():
    model = linear_net()
    w1, w2 = (m.weight.detach().double().abs() for m in model if isinstance(m, nn.Linear))
    path_norm = float(torch.ones(5, dtype=torch.float64) @ w2 @ w1 @ torch.ones(12, dtype=torch.float64))
    result = score(model, ["synflow"], input_shape=(3, 2, 2), num_classes=5)
    assert result.values["synflow"] == pytest.approx(2 * path_norm, rel=1e-12)


def test_jacob_cov_of_a_linear_network_has_rank_one_jacobians():
    model = linear_net()
    n, k = 16, 1e-5
    expected = -((math.log(n + k) + 1 / (n + k)) + (n - 1) * (math.log(k) + 1 / k))
    result = score(model, ["jacob_cov"], input_shape=(3, 2, 2), num_classes=5, batch_size=n)
    assert result.values["jacob_cov"] == pytest.approx(expected, rel=1e-6)


def test_ntk_of_a_one_layer_linear_network_is_the_input_gram_matrix():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 5, bias=False))
    from hybridnas.data import get_batch

    x = get_batch("gaussian", 8, (3, 2, 2), 5, seed=0).x.flatten(1).double()  # 8 samples in 12 dims: full rank
    eig = torch.linalg.eigvalsh(x @ x.T)
    result = score(model, ["ntk_cond"], input_shape=(3, 2, 2), num_classes=5, batch_size=8)
    assert result.values["ntk_cond"] == pytest.approx(float(eig[-1] / eig[0]), rel=1e-6)


def test_length_distortion_of_a_scaled_identity_is_the_scale():
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 16, bias=False))
    with torch.no_grad():
        model[1].weight.copy_(3 * torch.eye(16))
    result = score(model, ["length_distortion"], input_shape=(1, 4, 4), num_classes=16)
    assert result.values["length_distortion"] == pytest.approx(3.0, rel=1e-5)  # unit circle, speed 1, times 3


def test_length_distortion_does_not_cancel_in_a_final_batch_norm():
    # BN over the curve's points: the mean is 0 and each feature's variance is |b_j|^2 / 2 for every rotation,
    # so the mean squared speed is exactly 16 features * 2 / 2 = 16 and the mean speed is at most 4
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 16, bias=False), nn.BatchNorm1d(16, affine=False, eps=1e-12))
    with torch.no_grad():
        model[1].weight.copy_(torch.eye(16))
    value = score(model, ["length_distortion"], input_shape=(1, 4, 4), num_classes=16).values["length_distortion"]
    assert 2.0 < value <= 4.0 + 1e-4


def test_naswot_matches_its_formula_on_one_relu_layer():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 9), nn.ReLU(), nn.Linear(9, 3))
    from hybridnas.data import get_batch

    x = get_batch("gaussian", 8, (3, 2, 2), 3, seed=0).x
    codes = (model[1](model[0](x)) > 0).double()
    kernel = codes @ codes.T + (1 - codes) @ (1 - codes).T
    expected = float(torch.linalg.slogdet(kernel)[1])
    assert score(model, ["naswot"], input_shape=(3, 2, 2), num_classes=3, batch_size=8).values["naswot"] == \
        pytest.approx(expected)


@pytest.mark.parametrize("act", [nn.SiLU, nn.Hardswish, nn.Mish])
def test_naswot_reads_sign_preserving_activations_as_relu_codes(act):
    # the MnasNet space uses SiLU: its codes are the pre-activation's sign, the same as a ReLU network's
    torch.manual_seed(0)
    relu = nn.Sequential(nn.Flatten(), nn.Linear(12, 9), nn.ReLU(), nn.Linear(9, 3))
    other = nn.Sequential(nn.Flatten(), nn.Linear(12, 9), act(), nn.Linear(9, 3))
    other.load_state_dict(relu.state_dict())
    shape = dict(input_shape=(3, 2, 2), num_classes=3, batch_size=8)
    values = [score(m, ["naswot"], **shape).values["naswot"] for m in (relu, other)]
    assert math.isfinite(values[0]) and values[1] == pytest.approx(values[0])


def test_failures_are_recorded_and_the_batch_goes_on():
    @register_proxy("test_nan", paper="test")
    def test_nan(ctx):
        """Always NaN (test only)."""
        return float("nan")

    try:
        result = score(linear_net(), ["test_nan", "macs", "params"], input_shape=(3, 2, 2), num_classes=5)
        assert "non-finite" in result.errors["test_nan"]
        assert "needs an architecture" in result.errors["macs"]
        assert result.values["params"] == 12 * 7 + 7 * 5
    finally:
        PROXIES._entries.pop("test_nan")


def test_feature_proxies_explain_why_they_need_a_space():
    result = score(linear_net(), ["az_expressivity", "zen"], input_shape=(3, 2, 2), num_classes=5)
    assert "block outputs" in result.errors["az_expressivity"] and "pre-pooling" in result.errors["zen"]


def test_cost_proxies_use_the_analytic_model(tiny):
    arch = tiny.sample(2)
    values = score(arch, ["params", "macs"], space=tiny).values
    assert values == {"params": float(tiny.cost(arch).params), "macs": float(tiny.cost(arch).macs)}


def test_unknown_proxy_lists_the_registered_ones(tiny):
    from hybridnas import RegistryError

    with pytest.raises(RegistryError, match="unknown proxy 'nasbot'; registered: az_expressivity"):
        score(tiny.sample(0), ["nasbot"], space=tiny)


def test_real_images_work_with_the_shared_subset(tiny10, shared):
    source = f"npz:{shared / 'data' / 'cifar10_subset.npz'}"
    result = score(tiny10.sample(0), ["naswot", "grad_norm"], source, space=tiny10, batch_size=8)
    assert set(result.values) == {"naswot", "grad_norm"}


def test_synflow_turns_norm_layers_off_and_keeps_the_model_intact(tiny):
    arch = tiny.parse("w8|w8:conv-k3-r4|w16:conv-k3-r4+attention-h2-r4")
    torch.manual_seed(0)
    model = tiny.build(arch)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    from hybridnas.proxies.spectral import _without_norms

    clone = _without_norms(model)
    assert not any(isinstance(m, (nn.BatchNorm2d,)) for m in clone.modules())
    score(model, ["synflow", "zen"], input_shape=tiny.input_shape, num_classes=4)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_random_labels_are_reported(tiny10, shared):
    from hybridnas.proxies.engine import random_label_note

    arch = tiny10.sample(0)
    assert score(arch, ["grad_norm"], "gaussian", space=tiny10, batch_size=8).random_labels
    assert not score(arch, ["naswot"], "gaussian", space=tiny10, batch_size=8).random_labels
    real = f"npz:{shared / 'data' / 'cifar10_subset.npz'}"
    assert not score(arch, ["grad_norm"], real, space=tiny10, batch_size=8).random_labels
    assert "grad_norm" in random_label_note(["grad_norm", "naswot"], "gaussian")
    assert random_label_note(["grad_norm"], real) is None


@pytest.mark.parametrize("batch_size", [8, 64, 70])  # one word, a full word, and a second word
def test_swap_counts_the_distinct_activation_patterns(batch_size):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 40), nn.ReLU(), nn.Linear(40, 30), nn.ReLU(), nn.Linear(30, 3))
    from hybridnas.data import get_batch

    x = get_batch("gaussian", batch_size, (3, 2, 2), 3, seed=0).x
    h1 = model[2](model[1](model[0](x)))
    h2 = model[4](model[3](h1))
    patterns = {tuple(col) for col in torch.cat([h1 > 0, h2 > 0], dim=1).T.tolist()}  # one per unit
    result = score(model, ["swap"], input_shape=(3, 2, 2), num_classes=3, batch_size=batch_size)
    assert result.values["swap"] == len(patterns)


def test_channels_last_changes_speed_not_scores(tiny):
    arch = tiny.parse("w8|w8:conv-k3-r4|w16:conv-k3-r4+attention-h2-r4")
    nchw = score(arch, ALL, "gaussian", seed=0, space=tiny, batch_size=8, channels_last=False)
    fast = score(arch, ALL, "gaussian", seed=0, space=tiny, batch_size=8)
    assert fast.errors == nchw.errors
    for name, value in nchw.values.items():  # re-initialisations draw the same numbers in either layout
        assert fast.values[name] == pytest.approx(value, rel=1e-3), name


def test_a_bare_module_keeps_its_memory_format():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
    score(model, ["naswot", "grad_norm"], input_shape=(3, 8, 8), num_classes=2, batch_size=4)
    assert model[0].weight.is_contiguous()


def test_jacob_cov_fixes_the_statistics_of_a_batch_norm_head_whose_logit_sum_is_constant():
    # BN over the batch, then a linear layer: the batch's summed logits do not depend on the input. With the
    # statistics fixed the network is affine per sample, so every Jacobian row is the same vector: rank one
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 6), nn.BatchNorm1d(6), nn.Linear(6, 3))
    n, k = 8, 1e-5
    expected = -((math.log(n + k) + 1 / (n + k)) + (n - 1) * (math.log(k) + 1 / k))
    result = score(model, ["jacob_cov", "naswot"], input_shape=(3, 2, 2), num_classes=3, batch_size=n)
    assert result.values["jacob_cov"] == pytest.approx(expected, rel=1e-6)
    assert torch.equal(model[2].running_var, torch.ones(6)) and model[2].momentum == 0.1  # left as found


def test_ntk_of_a_batch_norm_head_is_not_singular_by_construction():
    # train-mode BN before a linear head: the samples' NTK rows sum to zero (condition number ~1e7 or more,
    # set by rounding); with the batch's statistics fixed the NTK of 8 samples in 12 dims is well posed
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 6), nn.BatchNorm1d(6), nn.Linear(6, 3))
    value = score(model, ["ntk_cond"], input_shape=(3, 2, 2), num_classes=3, batch_size=8).values["ntk_cond"]
    assert 1 < value < 1e4


@pytest.mark.parametrize("channels_last", [False, True])
def test_grasp_equals_double_backpropagation_through_a_train_mode_batch_norm(channels_last):
    # GraSP's H g against the reference's own recipe, written out here: differentiate g . grad(L) a second
    # time, in train mode, with g the loss gradient of the conv/linear weights, in either memory format
    from hybridnas.data import get_batch
    from hybridnas.proxies.context import ProxyContext

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 6, 3), nn.BatchNorm2d(6), nn.ReLU(), nn.Conv2d(6, 4, 3), nn.BatchNorm2d(4),
                          nn.GELU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))
    batch = get_batch("gaussian", 8, (3, 6, 6), 3, seed=0)
    weights = [m.weight for m in model if isinstance(m, (nn.Conv2d, nn.Linear))]
    loss = nn.functional.cross_entropy(model.train()(batch.x), batch.y)
    g = [t.detach() for t in torch.autograd.grad(loss, weights, retain_graph=True)]
    g_graph = torch.autograd.grad(loss, weights, create_graph=True)
    expected = torch.autograd.grad(sum((a * b).sum() for a, b in zip(g_graph, g)), weights)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        batch = dataclasses.replace(batch, x=batch.x.contiguous(memory_format=torch.channels_last))
    state = {k: v.clone() for k, v in model.state_dict().items()}
    ctx = ProxyContext(model, batch)
    for got, want in zip(ctx.main_pass().hessian_grad(), expected):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)
    ctx.release()
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())
    assert all(m.track_running_stats for m in model if isinstance(m, nn.BatchNorm2d))
