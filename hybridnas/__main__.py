"""`python -m hybridnas ...`: the same CLI as the `hybridnas` command."""

from hybridnas.cli import main

if __name__ == "__main__":
    main(prog_name="hybridnas")
