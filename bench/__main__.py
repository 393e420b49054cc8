"""`make bench`: each benchmark prints a Markdown table for BENCHMARKS.md."""

from __future__ import annotations

import platform
import sys

from bench import expander, notify_latency, window_listing


def main() -> None:
    print(f"python {platform.python_version()} on {platform.machine()}, {sys.platform}\n")
    for module in (expander, window_listing, notify_latency):
        print(f"## {module.__name__}\n")
        print("\n".join(module.run()))
        print()


if __name__ == "__main__":
    main()
