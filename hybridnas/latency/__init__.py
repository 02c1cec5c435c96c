"""Placeholder: latency is built by a later issue (see the issue tracker)."""
