"""Every shipped space: sampling, string and JSON round trips, ids, operators, encoding, Optuna suggest."""

import json

import numpy as np
import optuna
import pytest

from hybridnas import Arch, ArchError

N = 60


def archs(space, n=N, seed=0):
    rng = np.random.default_rng(seed)
    return [space.sample(rng) for _ in range(n)]


def test_sampling_is_deterministic_for_a_seed(space):
    assert archs(space, 20, seed=7) == archs(space, 20, seed=7)
    assert space.sample(3) == space.sample(np.random.default_rng(3))


def test_string_round_trip(space):
    for arch in archs(space):
        text = space.format(arch)
        assert space.parse(text) == arch
        assert space.format(space.parse(text)) == text


def test_json_round_trip_and_stable_id(space):
    for arch in archs(space, 20):
        again = Arch.from_json(arch.to_json())
        assert again == arch and hash(again) == hash(arch) and again.id == arch.id
        assert space.validate(again) == arch
        assert space.parse(arch.to_json()) == arch
        json.loads(arch.to_json())
    assert len({a.id for a in set(archs(space))}) == len(set(archs(space)))


def test_arch_is_immutable(space):
    arch = space.sample(0)
    with pytest.raises(Exception):
        arch.space = "other"
    with pytest.raises(TypeError):
        arch.genes["x"] = 1


def test_mutation_gives_a_valid_different_neighbour(space):
    rng = np.random.default_rng(1)
    for arch in archs(space, 30):
        child = space.mutate(arch, rng)
        assert child != arch
        assert space.parse(space.format(child)) == child


def test_crossover_gives_valid_children_from_parents(space):
    rng = np.random.default_rng(2)
    parents = archs(space, 20)
    for a, b in zip(parents[::2], parents[1::2]):
        child = space.crossover(a, b, rng)
        assert space.validate(child) == child
        assert (space.encode(child) == space.encode(a)).any() or (space.encode(child) == space.encode(b)).any()


def test_encoding_has_fixed_length_and_separates_archs(space):
    vectors = [space.encode(a) for a in archs(space)]
    assert len({v.shape for v in vectors}) == 1 and all(np.isfinite(v).all() for v in vectors)
    distinct = {a: tuple(space.encode(a)) for a in archs(space)}
    assert len(set(distinct.values())) == len(distinct)


@pytest.mark.parametrize("sampler", [optuna.samplers.RandomSampler, optuna.samplers.TPESampler])
def test_suggest_turns_optuna_trials_into_valid_archs(space, sampler):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=sampler(seed=0))
    seen = []
    for _ in range(25):
        trial = study.ask()
        arch = space.suggest(trial)
        if space.within_constraints(arch):
            assert space.validate(arch) == arch
            seen.append(arch)
        else:  # outside the space's window (cost, or transnas_macro's stage counts): the search marks it infeasible
            with pytest.raises(ArchError):
                space.validate(arch)
        study.tell(trial, float(space.cost(arch).macs))
    assert len(set(seen)) > 5


def test_parse_rejects_strings_of_other_spaces(space):
    with pytest.raises(ArchError, match=space.name):
        space.parse("not an architecture")
    with pytest.raises(ArchError, match="not 'other'|is of space"):
        space.parse(json.dumps({"space": "other", "genes": {}}))


def test_to_params_inverts_suggest(space):
    for arch in archs(space, 40, seed=5):
        params = space.to_params(arch)
        assert space.suggest(optuna.trial.FixedTrial(params)) == arch
