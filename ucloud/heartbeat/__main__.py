"""The heartbeat probe: exit 0 when FILE was beaten within --max-age seconds.

python -m ucloud.heartbeat /tmp/ucloud-heartbeat --max-age 120
"""

from __future__ import annotations

import argparse
import sys

from ucloud.heartbeat import seconds_since_beat


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ucloud.heartbeat", description=__doc__)
    parser.add_argument("file", help="the heartbeat file the process touches")
    parser.add_argument("--max-age", type=float, required=True, help="seconds")
    args = parser.parse_args(argv)
    age = seconds_since_beat(args.file)
    if age is None:
        print(f"{args.file}: no heartbeat yet", file=sys.stderr)
        return 1
    if age > args.max_age:
        print(f"{args.file}: last beat {age:.0f} s ago (max {args.max_age:.0f} s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
