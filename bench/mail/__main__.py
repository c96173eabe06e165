"""`python -m bench.mail [--mode fast|slow] [--smoke] ...`: see `bench.mail`."""

from __future__ import annotations

import argparse

from bench.mail import fast, slow


def main() -> int:
    parser = argparse.ArgumentParser(description="Email throughput of the outbox beside bare SMTP.")
    parser.add_argument("--mode", choices=("fast", "slow"), default="fast")
    parser.add_argument("--smoke", action="store_true", help="a quick run for CI")
    parser.add_argument("--messages", type=int, default=None)
    parser.add_argument("--connections", type=int, default=8, help="fast: connections")
    parser.add_argument("--pool", type=int, default=4, help="slow: connections per sender")
    parser.add_argument("--delay", type=float, default=1.0, help="slow: seconds per message")
    args = parser.parse_args()
    return fast.run(args) if args.mode == "fast" else slow.run(args)


if __name__ == "__main__":
    raise SystemExit(main())
