"""Contract checks for your own spaces, proxies and mixers: the same ones the shipped ones pass.

Like `optuna.testing`: plain functions that raise AssertionError naming what broke, so they run under
pytest or anywhere else.

    from hybridnas.testing import check_space, check_proxy, check_mixer
    check_space(load_space("my_space.yaml"))
    check_proxy("my_proxy")
    check_mixer("my_mixer")
"""

from .contracts import check_mixer, check_proxy, check_space, counted

__all__ = ["check_mixer", "check_proxy", "check_space", "counted"]
