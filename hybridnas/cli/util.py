"""Helpers shared by the `hybridnas` command groups: error handling, table output, reading arch lists."""

from __future__ import annotations

import errno
import functools
import sys
from typing import TYPE_CHECKING, Any, Callable, Iterable, TextIO

import click

from ..errors import HybridNASError

if TYPE_CHECKING:  # the command line imports torch, pandas and the spaces only in the commands that use them
    import pandas as pd

    from ..spaces import Space

# Where a command writes when --out is not given: a user's scratch runs, apart from committed evidence (results/)
RUNS_DIR = "runs"

# OS errors a user causes (a path, a permission, a full or read-only disk), not bugs in hybridnas
USER_ERRNOS = {errno.ENOENT, errno.EACCES, errno.EPERM, errno.EISDIR, errno.ENOTDIR, errno.EEXIST, errno.ENOSPC,
               errno.EROFS, errno.EDQUOT, errno.ENAMETOOLONG, errno.ENOTEMPTY, errno.EFBIG}


def user_error_message(exc: BaseException) -> str | None:
    """The one-line message for an error the user caused, or None for an internal error (keep its traceback)."""
    if isinstance(exc, HybridNASError):
        return str(exc) or type(exc).__name__
    if isinstance(exc, UnicodeDecodeError):
        return f"input is not UTF-8 text ({exc.reason} at byte {exc.start}); give architecture strings as text"
    if isinstance(exc, OSError) and exc.errno in USER_ERRNOS:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or exc}{where}"
    return None


def user_errors(fn: Callable) -> Callable:
    """Print a user's mistake (HybridNASError, bad encodings, OS errors on their paths) as one line, exit 2.

    Anything else is a bug in hybridnas and keeps its traceback.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (HybridNASError, UnicodeDecodeError, OSError) as exc:
            message = user_error_message(exc)
            if message is None:
                raise
            click.echo(f"error: {message}", err=True)
            sys.exit(2)

    return wrapper


def command_options(model: type, values: dict[str, Any], command: str, flags: dict[str, str] | None = None) -> Any:
    """A command's options as its config model; what the model refuses is one line naming each flag, its value and
    what is allowed.

    Args:
        values: the model's fields, as the command's flags set them.
        flags: a field's flag where it is not `--field-name`.
    """
    from pydantic import ValidationError

    try:
        return model.model_validate(values)
    except ValidationError as exc:
        parts = []
        for problem in exc.errors():
            field = problem["loc"][0] if problem["loc"] else None
            message = problem["msg"].removeprefix("Value error, ")
            if field is None:
                parts.append(message)
            else:
                flag = (flags or {}).get(str(field), "--" + str(field).replace("_", "-"))
                parts.append(f"{flag} {values.get(field)!r}: {message}")
        raise HybridNASError(f"{command}: {'; '.join(parts)}") from None


def proxy_device_option(default: str | None = "cpu") -> Callable:
    """`--device`: where proxies run (cpu, cuda or cuda:N); a GPU this machine lacks is a one-line error."""
    return click.option("--device", default=default, show_default=default is not None,
                        help="Where proxies run: cpu, cuda or cuda:N.")


def load_space(source: Any) -> "Space":
    """`hybridnas.spaces.load_space`, imported when a command first needs a space (not for --help)."""
    from ..spaces import load_space as load

    return load(source)


def emit(frame: pd.DataFrame, as_csv: bool, as_json: bool) -> None:
    """Print a table as CSV, JSON records or aligned text (the default)."""
    if as_csv:
        click.echo(frame.to_csv(index=False), nl=False)
    elif as_json:
        click.echo(frame.to_json(orient="records", indent=1))
    else:
        click.echo(frame.to_string(index=False))


def parse_arch_column(space: Space, texts: Iterable[str], source: str) -> list:
    """The archs of a CSV's `arch` column; a row that does not parse is a HybridNASError naming `source` and its
    line (the header is line 1)."""
    archs = []
    for line, text in enumerate(texts, 2):
        try:
            archs.append(space.parse(text))
        except HybridNASError as exc:
            raise HybridNASError(f"{source} line {line}: {exc}") from None
    return archs


def read_archs(space: Space, stream: TextIO) -> list:
    """(text, arch) for each arch string of `stream`, one per line ('#' comments and blank lines skipped);
    a line that does not parse is a HybridNASError naming its line number."""
    lines = [(n, line.strip()) for n, line in enumerate(stream, 1)]
    archs = []
    for n, text in lines:
        if not text or text.startswith("#"):
            continue
        try:
            archs.append((text, space.parse(text)))
        except HybridNASError as exc:
            raise HybridNASError(f"line {n}: {exc}") from None
    if not archs:
        raise HybridNASError("no architectures given: pass a file with one arch string per line, or '-' for stdin")
    return archs
