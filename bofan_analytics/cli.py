"""The ``bofan`` command line: convert, report, listen, summary.

Exit status: 0 on success, 1 when an input could not be read, 2 for bad arguments. A user's
mistake is reported as one line on stderr, never as a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from ._version import __version__
from .errors import BofanError, FormatError
from .io import CAPTURE_FORMATS

__all__ = ["main"]

EXIT_OK = 0
EXIT_INPUT = 1
EXIT_USAGE = 2

_FORMATS = ("auto", *CAPTURE_FORMATS)


class _UsageError(Exception):
    """A bad command line; argparse would print usage and exit, we return 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line instead of usage + message
        raise _UsageError(f"{self.prog}: error: {message}")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be 1 or more")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)")
    return value


def _capture_port(text: str) -> int | str:
    """``--port`` of a packet capture: a port number, or ``auto`` to guess it."""
    return text if text == "auto" else _port(text)


def _when(text: str) -> str:
    """Check a --from/--to value parses; it is passed on as written."""
    import pandas as pd

    try:
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError):
        stamp = None
    if stamp is None or pd.isna(stamp):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date or time (use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS)"
        )
    return text


def _build_parser() -> _Parser:
    parser = _Parser(
        prog="bofan",
        description="Decode Bofan PT-502 / PT-60 tracker captures and report on fleets.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = commands.add_parser(
        "convert",
        help="decode captures into a Parquet dataset",
        description="Decode capture files (or directories of them) into DATASET/messages "
        "and DATASET/rejects, partitioned by day. Converting a file again replaces its rows.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="capture file or directory")
    p.add_argument("-o", "--output", required=True, metavar="DATASET")
    p.add_argument("--format", default="auto", choices=_FORMATS)
    p.add_argument(
        "--workers", type=_positive_int, metavar="N", help="convert on N local processes"
    )
    p.add_argument(
        "--scheduler", metavar="ADDRESS", help="convert on a running Dask cluster (tcp://host:8786)"
    )
    p.set_defaults(run=_run_convert)

    p = commands.add_parser(
        "report",
        help="write an HTML fleet report from a dataset",
        description="Write an HTML report (trips, stops, overspeed, geofences, alarms, "
        "battery) from a dataset written by 'bofan convert'.",
    )
    p.add_argument("dataset", metavar="DATASET")
    p.add_argument("-o", "--output", required=True, metavar="REPORT.html")
    p.add_argument("--device", action="append", metavar="ID", help="only this device (repeatable)")
    p.add_argument("--from", dest="start", type=_when, metavar="DATE")
    p.add_argument("--to", dest="end", type=_when, metavar="DATE", help="inclusive")
    p.add_argument("--geofences", metavar="FILE", help="GeoJSON with a name per feature")
    p.add_argument("--speed-limit", type=_positive_float, metavar="KMH")
    p.add_argument(
        "--export",
        action="append",
        choices=("csv", "xlsx"),
        help="also write the tables beside the report (repeatable)",
    )
    p.set_defaults(run=_run_report)

    p = commands.add_parser(
        "listen",
        help="record what trackers send on a TCP + UDP port",
        description="Listen on one port for TCP and UDP and write captures: one raw stream "
        "file per TCP connection and one time-stamped lines log per run. "
        "Stops on Ctrl-C, SIGTERM or after --duration.",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=_port, default=8888)
    p.add_argument("-o", "--output", required=True, metavar="CAPTURE_DIR")
    p.add_argument("--duration", type=_positive_float, metavar="S", help="stop after S seconds")
    p.add_argument(
        "--max-bytes", type=_positive_int, metavar="N", help="close a connection after N bytes"
    )
    p.add_argument(
        "--idle-timeout",
        type=_positive_float,
        default=300.0,
        metavar="S",
        help="close a connection silent for S seconds (default 300)",
    )
    p.add_argument("--no-reply", action="store_true", help="do not answer PT-60 frames")
    p.set_defaults(run=_run_listen)

    p = commands.add_parser(
        "summary",
        help="decode captures and print what they hold",
        description="Print devices, frames per protocol and type, positions and rejects by reason.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="capture file or directory")
    p.add_argument("--format", default="auto", choices=_FORMATS)
    p.add_argument(
        "--port",
        type=_capture_port,
        default=8888,
        metavar="PORT",
        help="packet captures: the port devices send to (default 8888; 'auto' guesses it)",
    )
    p.set_defaults(run=_run_summary)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Examples
    --------
    >>> main(["convert", "data/samples", "-o", "build/dataset"])   # doctest: +SKIP
    0
    """
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    if args.command is None:
        return _fail("error: choose a command: convert, report, listen, summary", EXIT_USAGE)
    try:
        return args.run(args)
    except FormatError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except BofanError as exc:
        return _fail(str(exc), EXIT_INPUT)
    except BrokenPipeError:  # `bofan summary ... | head`: the reader left, stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        return _fail(f"{where}{exc.strerror or exc}", EXIT_INPUT)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)


def _fail(message: str, code: int) -> int:
    print(f"bofan: {message}", file=sys.stderr)
    return code


def _run_convert(args) -> int:
    from .dataset import convert

    result = convert(
        args.inputs,
        args.output,
        format=args.format,
        workers=args.workers,
        scheduler=args.scheduler,
    )
    for path, reason in result.errors:
        print(f"bofan: {path}: {reason}", file=sys.stderr)
    for path, first in result.duplicates:
        print(f"{path}: same content as {first}, kept once")
    converted = len(result.files) - len(result.errors) - len(result.duplicates)
    print(
        f"{converted} file(s) converted: {result.messages} messages, {result.rejects} rejects "
        f"-> {args.output}"
    )
    return EXIT_OK if result.ok else EXIT_INPUT


def _run_report(args) -> int:
    if not os.path.isdir(os.path.join(args.dataset, "messages")):
        what = "no such dataset" if not os.path.exists(args.dataset) else "not a dataset"
        return _fail(f"{args.dataset}: {what} (write one with 'bofan convert')", EXIT_INPUT)
    if args.geofences is not None and not os.path.isfile(args.geofences):
        return _fail(f"{args.geofences}: no such geofence file", EXIT_INPUT)
    from .report import write_report

    write_report(
        args.dataset,
        args.output,
        devices=args.device,
        start=args.start,
        end=args.end,
        geofences=args.geofences,
        speed_limit_kmh=args.speed_limit,
        export=args.export,
    )
    print(f"report written to {args.output}")
    return EXIT_OK


def _run_listen(args) -> int:
    from .io.listen import listen

    def announce(host: str, port: int) -> None:
        print(
            f"bofan: listening on {host}:{port} (tcp, udp), captures in {args.output}",
            file=sys.stderr,
            flush=True,
        )

    stats = listen(
        args.output,
        host=args.host,
        port=args.port,
        duration_s=args.duration,
        max_bytes=args.max_bytes,
        idle_timeout_s=args.idle_timeout,
        reply=not args.no_reply,
        on_ready=announce,
    )
    print(stats.describe())
    return EXIT_OK


def _run_summary(args) -> int:
    from .dataset._summary import summarize

    summary = summarize(args.inputs, format=args.format, port=args.port)
    for line in summary.lines():
        print(line)
    for path, reason in summary.errors:
        print(f"bofan: {path}: {reason}", file=sys.stderr)
    return EXIT_INPUT if summary.errors else EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
