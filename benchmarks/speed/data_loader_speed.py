"""Images/s of the image-folder training loader (decode + transform) with 0, 1 and 2 worker processes.

Reads `--images` training images of an image folder (default: ../shared/data/imagenette_128) at the given
input size, two epochs each (the second shows persistent workers), and prints images/s and the ratio to
decoding in the main process (0 workers), all measured in this run. `--packed FILE` also times the same
folder packed into an npz source (`hybridnas data pack`, written to FILE first if it is missing, which is timed
too) and read by the in-memory loader, as training reads it.

    python -m benchmarks.speed.data_loader_speed > results/benchmarks/data_loader_speed.txt
    python -m benchmarks.speed.data_loader_speed --folder ../shared/data/cifar10_jpeg --size 32 --images 5000 \
        --packed /tmp/cifar10_jpeg_32.npz > results/benchmarks/data_loader_speed_packed.txt
"""

from __future__ import annotations

import argparse
import datetime
import os
import time

import torch

from hybridnas.data.loader import make_loader
from hybridnas.data.pack import pack_folder
from hybridnas.data.stream import SMALL_IMAGE


def images_per_second(source: str, size: int, batch: int, limit: int, workers: int = 0) -> list[float]:
    loader = make_loader(source, "train", batch, train=True, seed=0, input_shape=(3, size, size), limit=limit,
                         workers=workers)
    rates = []
    for epoch in range(2):
        start, count = time.perf_counter(), 0
        for x, _ in loader.epoch(epoch):
            count += len(x)
        rates.append(count / (time.perf_counter() - start))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", default="../shared/data/imagenette_128")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--images", type=int, default=1280)
    parser.add_argument("--packed", default=None, help="an npz file of the folder packed (made if missing)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    source = f"imagefolder:{args.folder}"
    recipe = "timm transform" if args.size > SMALL_IMAGE else "pad-and-crop transform (as the array sources')"
    print(f"{source}, {args.images} training images at {args.size} px, batch {args.batch}, {recipe}; "
          f"{os.cpu_count()} CPUs")
    base = None
    for workers in (0, 1, 2):
        first, second = images_per_second(source, args.size, args.batch, args.images, workers)
        base = base or second
        print(f"  workers {workers}: epoch 1 {first:7.1f} images/s, epoch 2 {second:7.1f} images/s "
              f"({second / base:.2f}x of 0 workers)")
    if args.packed:
        if not os.path.isfile(args.packed):
            start = time.perf_counter()
            counts = pack_folder(source, args.packed, (3, args.size, args.size))
            print(f"  packed {counts['train']} + {counts['test']} images into {args.packed} in "
                  f"{time.perf_counter() - start:.1f} s")
        first, second = images_per_second(f"npz:{args.packed}", args.size, args.batch, args.images)
        print(f"  packed (npz, in memory, CIFAR crops): epoch 1 {first:7.1f} images/s, epoch 2 {second:7.1f} "
              f"images/s ({second / base:.2f}x of 0 workers)")
    print(f"\ncommand: python -m benchmarks.speed.data_loader_speed --folder {args.folder} --size {args.size} "
          f"--images {args.images}" + (f" --packed {args.packed}" if args.packed else "")
          + f" ({datetime.date.today()}, torch {torch.__version__})")


if __name__ == "__main__":
    main()
