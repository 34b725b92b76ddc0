"""Summarise a py-spy collapsed-stacks file: the functions with the most samples, by own
time and by total (inclusive) time.  python -m bench.hot FILE [N]"""

from __future__ import annotations

import sys
from collections import Counter


def summarise(path: str, top: int = 30) -> None:
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in open(path):
        stack, _, count = line.rstrip().rpartition(" ")
        n = int(count)
        samples += n
        frames = stack.split(";")
        own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n
    print(f"{samples} samples\n-- own --")
    for frame, n in own.most_common(top):
        print(f"{n / samples:6.1%}  {frame}")
    print("-- inclusive --")
    for frame, n in total.most_common(top):
        print(f"{n / samples:6.1%}  {frame}")


if __name__ == "__main__":
    summarise(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 30)
