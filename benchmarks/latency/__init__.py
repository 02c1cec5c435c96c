"""Latency tables: backends, calibration, validation against measured networks."""
