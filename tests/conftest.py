"""Shared fixtures (shipped spaces, the read-only ground-truth folder ../shared) and the test tiers.

Tiers are markers: `slow` (over about 3 s on the 2-core CI machine), `ray` (starts a Ray cluster),
`subprocess` (starts a Python process) and `needs_shared_data` (reads ../shared; added to every test
that takes the `shared` fixture). The quick tier is `pytest -m "not slow and not ray and not subprocess"`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridnas import load_space, shipped_spaces

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SPACES = shipped_spaces()


@pytest.fixture(scope="session", params=SPACES)
def space(request):
    """Each shipped space in turn."""
    return load_space(request.param)


@pytest.fixture(autouse=True, scope="module")
def _ray_is_shut_down(request):
    """Every test module that starts Ray shuts it down (a module may share one Ray between its tests): one left
    running would be joined by the next module's search."""
    yield
    import sys

    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        ray.shutdown()
        pytest.fail(f"{request.node.nodeid} left Ray running; shut it down in its tests or fixtures")


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"ground-truth folder {SHARED} is missing")
    return SHARED


# Measured with `pytest -n 2 --durations=60` on the 2-core CI machine (2026-11-29); re-measure when they change.
SLOW = {
    "tests/spaces/test_literature_spaces.py::test_the_commands_a_user_runs_work_on_the_literature_spaces",
    "tests/latency/test_latency_cli.py::test_max_latency_flag_makes_latency_the_fronts_cost_axis",
    "tests/spaces/test_cost.py::test_cost_equals_flop_counter_and_parameter_count",
    "tests/supernet/test_supernet.py::test_complexity_aware_walks_banks_and_stays_in_them",
    "tests/supernet/test_supernet.py::test_resume_continues_exactly",
    "tests/supernet/test_choice_supernet.py::test_nasbench201_supernet_resumes_exactly",
    "tests/proxies/test_predictor.py::test_cli_fit_then_search_by_prediction",
    "tests/proxies/test_predictor.py::test_with_a_scores_table_the_predictor_reads_its_proxies_there",
    "tests/supernet/test_choice_supernet.py::test_bf16_autocast_trains_with_fp32_weights",
    "tests/data/test_folders.py::test_streamed_batches_depend_on_seed_and_epoch_only_not_on_workers",
    "tests/data/test_folders.py::test_a_supernet_trains_and_scores_subnets_on_the_folder",
    "tests/data/test_folders.py::test_your_own_images_end_to_end_space_at_their_size_train_export",
    "tests/data/test_folders.py::test_readme_commands_on_your_folder_proxies_supernet_search_and_run",
    "tests/supernet/test_choice_supernet.py::test_a_nasbench201_search_ranks_by_supernet_accuracy",
    "tests/supernet/test_supernet.py::test_cli_train_eval_and_export_with_supernet_weights",
    "tests/supernet/test_supernet.py::test_supernet_accuracy_objective_and_export",
    "tests/supernet/test_supernet.py::test_materialized_subnets_equal_the_supernet",
    "tests/scaling/test_scaling.py::test_dimensions_grow_past_declared_values_only_when_scalable",
    "tests/scaling/test_scaling.py::test_growth_is_monotonic_and_lands_each_member_within_ten_percent_of_its_target",
    "tests/scaling/test_scaling.py::test_cli_scale",
    "tests/scaling/test_scaling.py::test_latency_targets_land_each_member_within_ten_percent_of_its_predicted_latency",
    "tests/search/test_journal_record.py::test_front_is_what_query_the_cli_and_export_read",
    "tests/test_pipeline.py::test_pipeline_runs_every_stage_and_resumes_only_what_is_left",
    "tests/test_pipeline.py::test_supernet_stage_reranks_the_front_and_exports_inherited_weights",
    "tests/search/test_search.py::test_canonical_duplicates_are_evaluated_once",
    "tests/search/test_search.py::test_exhaustive_covers_a_small_space",
    "tests/search/test_search.py::test_every_strategy_respects_the_budget_and_never_builds_over_budget",
    "tests/search/test_search.py::test_pareto_query_where_and_plot",
    "tests/export/test_export.py::test_without_weights_the_timm_model_builds_fresh",
    "tests/export/test_export.py::test_export_from_a_run_uses_its_front_scores_and_latency_table",
    "tests/latency/test_latency.py::test_extending_measures_only_missing_layers",
    "tests/latency/test_latency.py::test_signature_records_round_trip_through_json",
    "tests/latency/test_latency.py::test_search_never_keeps_an_arch_over_the_latency_budget",
    "tests/supernet/test_few_shot.py::test_split_trains_every_value_and_eval_and_search_score_through_it",
    "tests/supernet/test_few_shot.py::test_few_shot_scoring_routes_each_network_to_its_sub_supernet",
    "tests/supernet/test_few_shot.py::test_init_from_starts_from_the_parents_weights",
    "tests/search/test_fidelity.py::test_successive_halving_on_the_cifar_subset_reports_every_epoch_and_prunes",
    "tests/search/test_fidelity.py::test_a_resumed_search_keeps_its_pruned_trials_and_trains_nothing_twice",
    "tests/search/test_fidelity.py::test_a_killed_training_resumes_from_its_checkpoint_exactly",
    "tests/search/test_fidelity.py::test_screened_and_predictor_train_only_screened_networks_best_proxy_first",
    "tests/search/test_fidelity.py::test_a_resumed_search_may_spend_more_training_epochs_never_fewer",
    "tests/search/test_search.py::test_no_strategy_scores_a_network_outside_the_spaces_own_cost_window",
    "tests/adversarial/test_storage.py",
    "tests/adversarial/test_writers.py",
    "tests/supernet/test_train_defaults.py",
    "tests/search/test_search.py::test_a_tight_budget_starts_the_strategy_within_it",
    "tests/search/test_search.py::test_the_reference_sample_is_drawn_within_the_budget",
    "tests/search/test_search.py::test_the_front_shows_each_ensemble_score_as_a_percentile_of_the_reference_sample",
    "tests/export/test_onnx.py::test_onnx_export_equals_space_build_on_real_images",
    "tests/latency/test_latency_onnxruntime.py::test_every_shipped_space_times_in_onnxruntime",
}
RAY = {
    "tests/search/test_ray.py",
    "tests/search/test_ray_quiet.py",
    "tests/search/test_gpu_workers.py",
    "tests/supernet/test_supernet.py::test_ray_train_with_two_workers",
    "tests/test_new_user_walk.py::test_a_new_user_goes_from_an_image_folder_to_a_grown_exported_member",
}
SUBPROCESS = {
    "tests/test_new_user_walk.py::test_a_new_user_goes_from_an_image_folder_to_a_grown_exported_member",
    "tests/adversarial/test_storage.py::test_a_disk_that_fills_mid_search_loses_no_finished_evaluation",
    "tests/export/test_export.py::test_exported_model_equals_space_build_outside_hybridnas",
    "tests/search/test_search.py::test_resume_after_sigkill_loses_no_completed_evaluation",
    "tests/spaces/test_loader.py::test_cli_validate_reports_without_traceback",
    "tests/test_allocator.py::test_freed_blocks_are_reused_without_page_faults",
    "tests/test_no_global_state.py::test_a_library_search_changes_neither_the_allocator_nor_optunas_logging",
}


def _listed(nodeid: str, names: set[str]) -> bool:
    function = nodeid.split("[", 1)[0]
    return function in names or function.split("::", 1)[0] in names


def pytest_collection_modifyitems(config, items):
    for item in items:
        for marker, names in (("slow", SLOW), ("ray", RAY), ("subprocess", SUBPROCESS)):
            if _listed(item.nodeid, names):
                item.add_marker(marker)
        if "shared" in getattr(item, "fixturenames", ()):
            item.add_marker("needs_shared_data")
