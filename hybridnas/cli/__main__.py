"""`python -m hybridnas.cli`: the same as the `hybridnas` command."""

from .main import main

main()
