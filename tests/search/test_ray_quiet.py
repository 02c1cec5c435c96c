"""A local Ray starts quietly (Ray 2.60 announces token authentication on every local start).

In a module of its own: test_ray.py keeps one Ray for its module, and this test must start its own."""


def test_a_local_ray_starts_without_its_token_notice_and_the_logger_is_put_back():
    import logging

    import ray

    from hybridnas.search.workers import RAY_AUTH_LOGGER, init_ray

    logger = logging.getLogger(RAY_AUTH_LOGGER)
    before = logger.level
    heard: list[logging.LogRecord] = []

    class Listen(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            heard.append(record)

    handler = Listen(level=logging.DEBUG)
    logger.addHandler(handler)  # Ray's loggers need not propagate to the root, where caplog listens
    try:
        assert init_ray(1, None, False)
        assert not [r for r in heard if r.levelno >= logging.WARNING], "Ray's token notice was printed"
        assert logger.level == before
    finally:
        logger.removeHandler(handler)
        ray.shutdown()
