"""Speed and memory of hybridnas itself, as ratios against a baseline in the same run."""
