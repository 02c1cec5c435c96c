"""Running a command as a user would, and checking that a refusal is one line with exit code 2."""

from click.testing import CliRunner

from hybridnas.cli import main


def run(*args, input=None):
    """The result of `hybridnas ARGS...` (stdin from `input`)."""
    return CliRunner().invoke(main, list(args), input=input)


def refused(result, *fragments):
    """Exit code 2, no traceback, and every fragment in the output."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.output, result.output
