"""Weight-sharing supernet: elastic weights, subnet samplers, training on Ray, materialized subnets."""

from .config import SupernetConfig, load_supernet_config
from .elastic import Supernet, largest_and_smallest, recalibrate_bn, slice_to
from .evaluate import SubnetScorer, accuracy
from .evaluator import SupernetEvaluator  # registers the `supernet` metric source
from .fidelity import TrainingFidelityEvaluator
from .few_shot import FewShotScorer, load_scorer, train_few_shot
from .samplers import SAMPLERS, Sampler, list_samplers, make_sampler, register_sampler
from .train import TrainResult, load_checkpoint, load_supernet, train_supernet

__all__ = ["SAMPLERS", "FewShotScorer", "Sampler", "SubnetScorer", "Supernet", "SupernetConfig", "SupernetEvaluator",
           "TrainResult", "TrainingFidelityEvaluator", "accuracy", "largest_and_smallest", "list_samplers", "load_checkpoint", "load_scorer",
           "load_supernet", "load_supernet_config", "make_sampler", "recalibrate_bn", "register_sampler", "slice_to",
           "train_few_shot", "train_supernet"]
