"""``python -m charter.builtins IMAGE COMMAND ROOT``: run one command of a built-in image.

What executors start for a job on a built-in image: the same as ``charter container run``
without the CLI's imports, so a job's first line comes sooner.  The exit status is
:func:`charter.builtins.run`'s; a usage error exits 2 with the reason on stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path

from . import UnknownCommand, UnknownImage, run


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: python -m charter.builtins IMAGE train|serve|process ROOT", file=sys.stderr)
        return 2
    image, command, root = argv
    try:
        return run(image, command, Path(root))
    except (UnknownImage, UnknownCommand) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
