"""Training-free proxies and objectives: rankings against ground truth."""
