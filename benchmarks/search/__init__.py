"""Search quality: what a search returns against ground truth and against hand-picked networks."""
