"""The metric sources a search can name: importing this module imports the packages that register them
(`proxy` and `predictor` from proxies, `supernet` and the training `fidelity` from supernet)."""

from .. import proxies as _proxies  # noqa: F401
from .. import supernet as _supernet  # noqa: F401
