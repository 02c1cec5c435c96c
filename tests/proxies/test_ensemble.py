import numpy as np
import pandas as pd
import pytest

from hybridnas import HybridNASError
from hybridnas.proxies import parse_ensemble, score_many


def test_parse_weights_and_errors():
    ens = parse_ensemble("ensemble:naswot+synflow*2+zico")
    assert ens.weights == {"naswot": 1.0, "synflow": 2.0, "zico": 1.0}
    with pytest.raises(HybridNASError, match="at least two"):
        parse_ensemble("ensemble:naswot")
    with pytest.raises(HybridNASError, match="cannot read member 'syn-flow'"):
        parse_ensemble("ensemble:naswot+syn-flow")
    with pytest.raises(Exception, match="unknown proxy 'zicoo'"):
        parse_ensemble("ensemble:naswot+zicoo")


def test_sum_of_log_ranks_respects_orientation_and_failures():
    frame = pd.DataFrame({"naswot": [1.0, 3.0, 2.0, np.nan], "ntk_cond": [10.0, 1.0, 5.0, 2.0]})
    ens = parse_ensemble("ensemble:naswot+ntk_cond")
    got = ens.score(frame).to_numpy()
    # naswot ranks (failure last): 2,4,3,1 ; ntk_cond lower is better: ranks 1,4,2,3
    expected = np.log(np.array([2, 4, 3, 1]) / 4) + np.log(np.array([1, 4, 2, 3]) / 4)
    np.testing.assert_allclose(got, expected)


def test_reference_normalisation_makes_batches_comparable():
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"naswot": rng.normal(size=200), "synflow": rng.normal(size=200)})
    ens = parse_ensemble("ensemble:naswot+synflow").fit_reference(reference)
    row = pd.DataFrame({"naswot": [0.3], "synflow": [-0.2]})
    batch_a = pd.concat([row, pd.DataFrame({"naswot": [5.0, 6.0], "synflow": [5.0, 6.0]})], ignore_index=True)
    batch_b = pd.concat([row, pd.DataFrame({"naswot": [-5.0], "synflow": [-5.0]})], ignore_index=True)
    assert ens.score(batch_a)[0] == pytest.approx(ens.score(batch_b)[0])
    assert parse_ensemble("ensemble:naswot+synflow").score(batch_a)[0] != \
        pytest.approx(parse_ensemble("ensemble:naswot+synflow").score(batch_b)[0])


def test_score_many_adds_ensemble_columns(tiny):
    archs = [tiny.sample(i) for i in range(4)]
    frame = score_many(tiny, archs, ["params", "ensemble:naswot+synflow"], batch_size=8)
    assert {"params", "naswot", "synflow", "ensemble:naswot+synflow", "errors", "seconds"} <= set(frame.columns)
    assert frame["ensemble:naswot+synflow"].notna().all()


def test_reference_percentiles_are_continuous_and_never_tie_past_the_reference():
    import numpy as np

    from hybridnas.proxies.ensemble import reference_percentile

    ref = np.sort(np.random.default_rng(0).normal(size=16))
    values = np.linspace(-10, 10, 2001)
    frac = reference_percentile(ref, values)
    assert np.all(np.diff(frac) > 0) and frac.min() > 0 and frac.max() < 1
    assert reference_percentile(ref, ref) == pytest.approx((np.arange(16) + 0.5) / 17)
    assert reference_percentile(ref, np.array([-np.inf]))[0] == 0.0
