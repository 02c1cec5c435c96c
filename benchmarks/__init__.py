"""Benchmark scripts, grouped by what they measure; run each as a module from the repository root
(`python -m benchmarks.search.imagenette_baselines --help`)."""
