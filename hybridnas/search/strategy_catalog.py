"""The built-in search strategies by name, with what each does: Optuna-free, so `hybridnas search --help`
lists them without importing the samplers (strategies.py and predictor_sampler.py register them under these
names and descriptions; a strategy a user registers is known to the config, not to this list)."""

BUILTIN_STRATEGIES = {
    "nsga2": "NSGA-II (multi-objective, constraint-aware)",
    "tpe": "Tree-structured Parzen estimator (multivariate for several objectives)",
    "random": "uniform random",
    "evolution": "regularized (aging) evolution with the space's mutation and crossover",
    "exhaustive": "every distinct network of a space that can be enumerated",
    "predictor": "predictor-guided (random-forest surrogate, UCB) over the screened or sampled candidates; proxy "
                 "scores warm-start it",
    "screened": "the best `screen.keep` of `screen.candidates` networks by the screen's training-free objective, "
                "best first",
}
DEFAULT_STRATEGY = "nsga2"
