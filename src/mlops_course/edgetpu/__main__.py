"""``python -m mlops_course.edgetpu``: preflight a model, or compile it where a compiler exists.

    python -m mlops_course.edgetpu preflight MODEL.tflite   # exit 0 compatible, 1 not, 2 unreadable
    python -m mlops_course.edgetpu compile MODEL.tflite     # exit 0 compiled, 1 failed,
                                                            # 3 no compiler here (commands printed)
    python -m mlops_course.edgetpu build [--out build/edgetpu]  # make edgetpu: convert the digits
                                      # model, compile it where a compiler exists (see build.py)

Introduced in notebooks/12_edge_tpu.ipynb.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mlops_course.edgetpu.build import BUILD_DIR, DIGITS, build
from mlops_course.edgetpu.compiler import IMAGE, compile_model
from mlops_course.edgetpu.preflight import PreflightError, preflight

EXIT_COMPATIBLE, EXIT_NOT_COMPATIBLE, EXIT_UNREADABLE, EXIT_NO_COMPILER = 0, 1, 2, 3


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m mlops_course.edgetpu",
        description="Check a TFLite model against the Edge TPU's documented requirements, "
        "or compile it with edgetpu_compiler where one exists.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("preflight", help="print the per-operator table and a verdict")
    check.add_argument("model", help="a .tflite file")
    build = commands.add_parser("compile", help="run edgetpu_compiler (PATH or Docker image)")
    build.add_argument("model", help="a .tflite file")
    build.add_argument("--image", default=IMAGE, help=f"compiler image (default {IMAGE})")
    make = commands.add_parser(
        "build", help="convert the digits model and compile it (make edgetpu)"
    )
    make.add_argument("--out", type=Path, default=BUILD_DIR, help=f"default {BUILD_DIR}")
    make.add_argument("--models", type=Path, default=DIGITS, help=f"default {DIGITS}")
    make.add_argument("--image", default=IMAGE, help=f"compiler image (default {IMAGE})")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (see the module docstring)."""
    args = parse_args(argv)
    if args.command == "build":
        if not (args.models / "card.json").is_file():
            print(
                f"error: {args.models / 'card.json'} does not exist (run make model)",
                file=sys.stderr,
            )
            return EXIT_UNREADABLE
        return build(args.out, args.models, args.image)
    try:
        report = preflight(args.model)
    except PreflightError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    if args.command == "preflight":
        print(report.table())
        return EXIT_COMPATIBLE if report.compatible else EXIT_NOT_COMPATIBLE
    result = compile_model(args.model, image=args.image)
    print(result.summary())
    if not result.ran:
        return EXIT_NO_COMPILER
    return EXIT_COMPATIBLE if result.output is not None else EXIT_NOT_COMPATIBLE


if __name__ == "__main__":
    sys.exit(main())
