"""``convnet port SCRIPT``: a PyTorch script with its imports pointed at convnet.

Prints the ported script, or writes it with ``-o``; ``--diff`` shows only the changed lines.
Only torch and torchvision import statements change (see :mod:`convnet.porting`).

Example:
    $ convnet port mnist/main.py -o mnist_convnet.py && python mnist_convnet.py --epochs 1
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path


def run(args) -> int:
    from ..porting import port_source
    source = Path(args.script).read_text(encoding="utf-8")
    ported = port_source(source, filename=args.script)
    if args.diff:
        sys.stdout.writelines(difflib.unified_diff(
            source.splitlines(keepends=True), ported.splitlines(keepends=True),
            fromfile=args.script, tofile=args.output or "ported", n=0))
    if args.output:
        Path(args.output).write_text(ported, encoding="utf-8")
        changed = sum(a != b for a, b in zip(source.splitlines(), ported.splitlines()))
        print(f"wrote {args.output} ({changed} import lines changed)", file=sys.stderr)
    elif not args.diff:
        sys.stdout.write(ported)
    return 0


def add_parser(commands) -> None:
    parser = commands.add_parser("port", help="point a PyTorch script's imports at convnet")
    parser.add_argument("script", help="a Python file written for torch / torchvision")
    parser.add_argument("-o", "--output", help="write the ported script here (default: stdout)")
    parser.add_argument("--diff", action="store_true", help="show only the changed lines")
    parser.set_defaults(run=run)
