"""The ``convnet`` command: train, evaluate, predict, summary, export, explore, filter, match,
show, demo, info, port.

Every mistake a user can make (missing data, unknown dataset or model, malformed
architecture, unreadable image, a file that is not a convnet model) ends in one
line on stderr and exit status 2, never a traceback (``--debug`` shows it).

Example:
    $ convnet train                      # small CNN on the bundled 8x8 digits
    $ convnet train --dataset fashion-mnist --epochs 5
    $ convnet predict runs/digits/model.safetensors digit.png
    $ convnet filter photo.jpg --kernel sobel_x -o edges.png
"""

from __future__ import annotations

import argparse
import sys

from . import (explore_command, export_command, image_commands, info, model_commands,
               port_command, train_command)
from .demo import demo

USER_ERRORS = (ValueError, TypeError, OSError, RuntimeError, ImportError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="convnet", description="Convolutional networks in NumPy: train, inspect, predict.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    train_command.add_parser(commands)
    model_commands.add_parsers(commands)
    export_command.add_parser(commands)
    explore_command.add_parser(commands)
    image_commands.add_parsers(commands)
    commands.add_parser("demo", help="the notes' worked examples, computed by convnet")
    info.add_parser(commands)
    port_command.add_parser(commands)
    return parser


def _version() -> str:
    from .. import __version__
    return f"convnet {__version__} (backends: run 'convnet info')"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from .. import process_settings
    process_settings.apply()  # heap reuse and a short BLAS spin: see convnet/process_settings.py
    try:
        if args.command == "demo":
            return demo()
        return args.run(args)
    except KeyboardInterrupt:
        print("convnet: interrupted" + (" (continue with --resume)" if args.command == "train"
                                        else ""), file=sys.stderr)
        return 130
    except USER_ERRORS as error:
        if args.debug:
            raise
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        print(f"convnet {args.command}: error: {message}", file=sys.stderr)
        return 2
