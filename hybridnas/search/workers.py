"""Evaluation pools: in-process, or Ray actors that each build their evaluators (and data batch) once.

A Ray actor sets torch's threads to its CPU share. If an actor dies, it is replaced and its
architecture retried once; a second death records the architecture as failed and the search goes on.
"""

from __future__ import annotations

import logging
import math
import os
from contextlib import contextmanager
from typing import Callable, Iterator, Sequence

from ..errors import HybridNASError
from ..spaces import Arch, Space
from ..evaluation import Evaluation, Evaluator, discard_all, evaluate_all

EvaluatorFactory = Callable[[], "list[Evaluator]"]


class LocalPool:
    """Evaluates in this process, one architecture at a time."""

    def __init__(self, space: Space, factory: EvaluatorFactory) -> None:
        self.space = space
        self.evaluators = factory()
        for evaluator in self.evaluators:
            evaluator.setup()

    def imap(self, archs: Sequence[Arch], epochs: int | None = None) -> Iterator[tuple[int, Evaluation]]:
        """(index, evaluation) pairs as each architecture finishes; `epochs` is the training fidelity (0: none)."""
        for i, arch in enumerate(archs):
            yield i, evaluate_all(self.evaluators, arch, epochs)

    def discard(self, arch: Arch) -> None:
        """Tell the evaluators that `arch` will not be evaluated again (they may drop its checkpoints)."""
        discard_all(self.evaluators, arch)

    def close(self) -> None:
        pass


class _Worker:
    """The Ray actor body: evaluators built once, threads pinned to the actor's CPU share."""

    def __init__(self, space: Space, factory: EvaluatorFactory, threads: int) -> None:
        import torch

        from ..allocator import keep_freed_memory

        torch.set_num_threads(max(1, threads))
        keep_freed_memory()  # this process is ours: it only evaluates networks (see allocator.py)
        self.space = space
        self.evaluators = factory()
        for evaluator in self.evaluators:
            evaluator.setup()

    def evaluate(self, genes_json: str, epochs: int | None = None) -> Evaluation:
        from ..spaces import Arch

        return evaluate_all(self.evaluators, self.space.validate(Arch.from_json(genes_json)), epochs)

    def discard(self, genes_json: str) -> None:
        from ..spaces import Arch

        discard_all(self.evaluators, self.space.validate(Arch.from_json(genes_json)))

    def pid(self) -> int:
        return os.getpid()


def init_ray(num_cpus: int | None, address: str | None, dashboard: bool) -> bool:
    """Start (or join) Ray quietly; returns True if this call started it (so the caller shuts it down)."""
    import ray

    if ray.is_initialized():
        return False
    kwargs = {"include_dashboard": dashboard, "log_to_driver": False, "configure_logging": False}
    if address:
        check_reachable(address)
        ray.init(address=address, **kwargs)
    else:
        with _quiet(RAY_AUTH_LOGGER):  # its notice that a local cluster uses token authentication, every search
            ray.init(num_cpus=num_cpus, **kwargs)
    return True


RAY_AUTH_LOGGER = "ray._private.authentication.authentication_token_setup"


@contextmanager
def _quiet(name: str) -> Iterator[None]:
    """Only errors from logger `name` while the block runs; its level is put back after."""
    logger = logging.getLogger(name)
    before = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(before)


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """Refuse a Ray address nothing answers at within `timeout` seconds (Ray itself retries for minutes)."""
    import socket

    if address in ("auto", "local") or address.startswith("ray://"):
        return
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout):
            return
    except (ValueError, OSError) as exc:
        raise HybridNASError(f"--ray-address {address}: nothing answers there ({exc}); give HOST:PORT of a running "
                             "Ray head (`ray start --head` prints it), or leave it out to start Ray locally") from None


def check_gpus_fit(workers: int, gpus_per_worker: float, cluster_gpus: float) -> None:
    """Refuse GPU shares the Ray cluster cannot place (the actors would wait for them forever)."""
    if not gpus_per_worker:
        return
    if gpus_per_worker <= 1:
        fit = math.floor(cluster_gpus) * math.floor(1 / gpus_per_worker + 1e-9)
    else:
        fit = math.floor(cluster_gpus / gpus_per_worker)
    if workers > fit:
        raise HybridNASError(f"{workers} workers with {gpus_per_worker:g} GPU each do not fit: the Ray cluster has "
                             f"{cluster_gpus:g} GPU(s), room for {fit} such worker(s); lower --workers or "
                             "--gpus-per-worker")


class RayPool:
    """`workers` Ray actors, each with `gpus_per_worker` GPUs (0: none); results come back as they finish."""

    def __init__(self, space: Space, factory: EvaluatorFactory, workers: int, threads_per_worker: int = 1,
                 gpus_per_worker: float = 0.0) -> None:
        import ray

        self._ray = ray
        check_gpus_fit(workers, gpus_per_worker, ray.cluster_resources().get("GPU", 0.0))
        self.space, self.factory, self.threads = space, factory, threads_per_worker
        self._actor_cls = ray.remote(num_cpus=threads_per_worker, num_gpus=gpus_per_worker)(_Worker)
        self.actors = [self._new_actor() for _ in range(workers)]
        ray.get([a.pid.remote() for a in self.actors])  # fail fast if actors cannot start

    def _new_actor(self):
        return self._actor_cls.remote(self.space, self.factory, self.threads)

    def imap(self, archs: Sequence[Arch], epochs: int | None = None) -> Iterator[tuple[int, Evaluation]]:
        """(index, evaluation) pairs as each architecture finishes; `epochs` is the training fidelity (0: none)."""
        ray = self._ray
        pending: dict = {}
        queue = list(enumerate(archs))
        tries: dict[int, int] = {}
        idle = list(self.actors)

        def submit(actor) -> None:
            i, arch = queue.pop(0)
            pending[actor.evaluate.remote(arch.to_json(), epochs)] = (i, actor)

        while queue or pending:
            while queue and idle:
                submit(idle.pop())
            done, _ = ray.wait(list(pending), num_returns=1)
            ref = done[0]
            i, actor = pending.pop(ref)
            try:
                yield i, ray.get(ref)
                idle.append(actor)
            except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError) as exc:
                replacement = self._new_actor()
                self.actors[self.actors.index(actor)] = replacement
                idle.append(replacement)
                tries[i] = tries.get(i, 0) + 1
                if tries[i] < 2:
                    queue.insert(0, (i, archs[i]))
                else:
                    yield i, Evaluation(errors={"worker": f"worker died twice: {type(exc).__name__}"})

    def discard(self, arch: Arch) -> None:
        """Tell one actor's evaluators that `arch` will not be evaluated again: what they keep to resume it
        (checkpoints) lives in the run's work folder, which every worker shares to resume at all."""
        self._ray.get(self.actors[0].discard.remote(arch.to_json()))

    def close(self) -> None:
        for actor in self.actors:
            self._ray.kill(actor)
        self.actors = []
