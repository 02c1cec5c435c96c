"""The growth rule a scaling uses unless told otherwise; torch-free, so `hybridnas scale --help` shows it
without importing the scaler."""

DEFAULT_RULE = "jacob_cov:max,meco:max"  # objectives whose rank sum picks each growth step
