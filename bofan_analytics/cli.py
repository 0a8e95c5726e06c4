"""The ``bofan`` command line: convert, compact, report, listen, summary.

Exit status: 0 on success, 1 when an input could not be read, 2 for bad arguments. A user's
mistake is reported as one line on stderr, never as a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from . import _validate
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


def _argument(check, *args, **kwargs):
    """``check(*args, **kwargs)`` (a :mod:`._validate` check), its mistake as argparse's."""
    try:
        return check(*args, **kwargs)
    except FormatError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    return _argument(_validate.whole, "the value", value, lo=1)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    return _argument(_validate.positive, "the value", value)


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)")
    return value


def _add_capture_port(p) -> None:
    p.add_argument(
        "--port",
        type=_capture_port,
        default=8888,
        metavar="PORT",
        help="packet captures: the port devices send to (default 8888; 'auto' guesses it)",
    )


def _capture_port(text: str) -> int | str:
    """``--port`` of a packet capture: a port number, or ``auto`` to guess it."""
    return text if text == "auto" else _port(text)


def _when(text: str) -> str:
    """Check a --from/--to value parses; it is passed on as written."""
    _argument(_validate.moment, "the value", text)
    return text


def _format_or_date(text: str) -> tuple:
    """``bofan export --to``: an export format, or (given again) the last date."""
    from .exports import EXPORT_FORMATS

    if text in EXPORT_FORMATS:
        return ("format", text)
    try:
        return ("date", _when(text))
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither an export format ({', '.join(EXPORT_FORMATS)}) nor a date"
        ) from None


_LOG_TZ_HELP = (
    "time zone of tracker-server log time stamps, as an IANA name (the server's local "
    "time; default UTC)"
)


def _zone(text: str) -> str:
    """Check a --tz value: an IANA zone or 'auto'."""
    from .analytics._tz import AUTO

    if text == AUTO:
        return text
    return _argument(_validate.zone, text, also=", or auto")


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
    p.add_argument("--log-tz", metavar="ZONE", help=_LOG_TZ_HELP)
    p.add_argument(
        "--workers", type=_positive_int, metavar="N", help="convert on N local processes"
    )
    p.add_argument(
        "--scheduler", metavar="ADDRESS", help="convert on a running Dask cluster (tcp://host:8786)"
    )
    p.add_argument(
        "--full",
        action="store_true",
        help="decode every input whole, ignoring what the dataset's manifest says it holds",
    )
    _add_capture_port(p)
    p.set_defaults(run=_run_convert)

    p = commands.add_parser(
        "compact",
        help="merge a dataset's small part files",
        description="Merge each day's part files into a few large files sorted by device, "
        "atomically: readers never see a row missing or twice.",
    )
    p.add_argument("dataset", metavar="DATASET")
    p.add_argument(
        "--target-mb",
        type=_positive_float,
        default=128.0,
        metavar="MB",
        help="size of a merged file (default 128)",
    )
    p.set_defaults(run=_run_compact)

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
    p.add_argument("--log-tz", metavar="ZONE",
                   help=_LOG_TZ_HELP + "; used when INPUT is a capture, not a dataset")
    p.add_argument(
        "--tz",
        type=_zone,
        metavar="ZONE|auto",
        help="show times in this IANA zone, or 'auto': each device's own (default UTC); "
        "--from/--to are read in ZONE",
    )
    p.add_argument(
        "--ignition-input",
        type=_positive_int,
        metavar="N",
        help="the device input wired to the ignition (IN1 = last character of the inputs "
        "field): engine hours and engine-on idling",
    )
    p.add_argument(
        "--export",
        action="append",
        choices=("csv", "xlsx"),
        help="also write the tables beside the report (repeatable)",
    )
    p.add_argument(
        "--scheduler", metavar="ADDRESS", help="run the analyses on a Dask cluster (tcp://host:8786)"
    )
    p.set_defaults(run=_run_report)

    p = commands.add_parser(
        "listen",
        help="be the endpoint trackers send to (TCP + UDP on one port) and record each frame",
        description="Listen on one port for TCP and UDP, answer PT-60 frames, fetch the photos "
        "PT-502 units announce, and record every frame once, with its receive time, into "
        "CAPTURE_DIR/bofan-<time>.log (a new file each hour). 'bofan convert CAPTURE_DIR' "
        "reads them. Stops on Ctrl-C, SIGTERM or after --duration.",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=_port, default=8888)
    p.add_argument("-o", "--output", required=True, metavar="CAPTURE_DIR")
    p.add_argument(
        "--max-connections",
        type=_positive_int,
        metavar="N",
        help="TCP connections at once (default: below the open-file limit)",
    )
    p.add_argument("--no-photos", action="store_true", help="do not fetch announced photos")
    p.add_argument(
        "--rotate-mb",
        type=_positive_float,
        metavar="MB",
        help="also start a new capture file at about MB megabytes",
    )
    p.add_argument("--duration", type=_positive_float, metavar="S", help="stop after S seconds")
    p.add_argument(
        "--idle-timeout",
        type=_positive_float,
        default=300.0,
        metavar="S",
        help="close a connection silent for S seconds (default 300)",
    )
    p.add_argument("--no-reply", action="store_true", help="do not answer PT-60 frames")
    p.add_argument(
        "--json-log", action="store_true", help="events and status lines as JSON on stderr"
    )
    p.set_defaults(run=_run_listen)

    p = commands.add_parser(
        "summary",
        help="decode captures and print what they hold",
        description="Print devices, frames per protocol and type, positions and rejects by reason.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="capture file or directory")
    p.add_argument("--format", default="auto", choices=_FORMATS)
    p.add_argument("--log-tz", metavar="ZONE", help=_LOG_TZ_HELP)
    _add_capture_port(p)
    p.set_defaults(run=_run_summary)

    p = commands.add_parser(
        "export",
        help="write trips, stops and alarms as GPX, KML or GeoParquet",
        description="Export a dataset for GIS tools and route-replay apps: GPX 1.1 (a track "
        "per trip, stops and alarms as waypoints), KML/KMZ (a placemark per trip, stop and "
        "alarm) or GeoParquet (a directory: positions, trips, stops). --to takes the format "
        "and, given again, the last date; the format can also come from OUT's suffix.",
    )
    p.add_argument("dataset", metavar="DATASET")
    p.add_argument("-o", "--output", required=True, metavar="OUT")
    p.add_argument(
        "--to",
        dest="to",
        action="append",
        type=_format_or_date,
        metavar="gpx|kml|kmz|geoparquet|DATE",
        help="the export format, and/or the last date (inclusive)",
    )
    p.add_argument("--device", action="append", metavar="ID", help="only this device (repeatable)")
    p.add_argument("--from", dest="start", type=_when, metavar="DATE")
    p.add_argument("--tz", metavar="ZONE", help="time zone of names, KML and GeoParquet times")
    p.add_argument("--geofences", metavar="FILE", help="also export these geofences' events")
    p.set_defaults(run=_run_export)
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
        return _fail("error: choose a command: convert, compact, report, export, listen, summary", EXIT_USAGE)
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

    if args.workers is not None and args.scheduler is not None:
        return _fail("error: give --workers or --scheduler, not both", EXIT_USAGE)
    result = convert(
        args.inputs,
        args.output,
        format=args.format,
        workers=args.workers,
        scheduler=args.scheduler,
        log_tz=args.log_tz,
        port=args.port,
        full=args.full,
    )
    for path, reason in result.errors:
        print(f"bofan: {path}: {reason}", file=sys.stderr)
    for path, first in result.duplicates:
        print(f"{path}: same content as {first}, kept once")
    converted = sum(result.count(s) for s in ("new", "appended", "replaced"))
    unchanged = result.count("unchanged")
    print(
        f"{converted} file(s) converted: {result.messages} messages, {result.rejects} rejects"
        + (f"; {unchanged} unchanged" if unchanged else "")
        + f" -> {args.output}"
    )
    return EXIT_OK if result.ok else EXIT_INPUT


def _run_compact(args) -> int:
    from .dataset import compact

    result = compact(args.dataset, target_mb=args.target_mb)
    print(
        f"{len(result.days)} day(s) compacted: {result.files_before} -> "
        f"{result.files_after} files in {args.dataset}"
    )
    return EXIT_OK


def _run_report(args) -> int:
    source = args.dataset
    if args.log_tz is not None or os.path.isfile(args.dataset):
        _validate.zone(args.log_tz or "UTC")  # an unknown zone is a bad argument
    if os.path.isfile(args.dataset):  # a capture: decoded here, with its log's zone
        from .decode import read_log

        source = read_log(args.dataset, log_tz=args.log_tz)
    elif not os.path.isdir(os.path.join(args.dataset, "messages")):
        what = "no such dataset" if not os.path.exists(args.dataset) else "not a dataset"
        return _fail(f"{args.dataset}: {what} (write one with 'bofan convert')", EXIT_INPUT)
    if args.geofences is not None and not os.path.isfile(args.geofences):
        return _fail(f"{args.geofences}: no such geofence file", EXIT_INPUT)
    from .report import write_report

    write_report(
        source,
        args.output,
        devices=args.device,
        start=args.start,
        end=args.end,
        geofences=args.geofences,
        speed_limit_kmh=args.speed_limit,
        export=args.export,
        # only what was asked for: the defaults are write_report's own
        **{k: v for k, v in (("tz", args.tz), ("ignition_input", args.ignition_input),
                             ("scheduler", args.scheduler))
           if v is not None},
    )
    print(f"report written to {args.output}")
    return EXIT_OK


def _run_export(args) -> int:
    to = [v for k, v in args.to or () if k == "format"]
    until = [v for k, v in args.to or () if k == "date"]
    if len(to) > 1 or len(until) > 1:
        return _fail("error: --to takes one format and one date at most", EXIT_USAGE)
    if not os.path.isdir(os.path.join(args.dataset, "messages")):
        what = "no such dataset" if not os.path.exists(args.dataset) else "not a dataset"
        return _fail(f"{args.dataset}: {what} (write one with 'bofan convert')", EXIT_INPUT)
    if args.geofences is not None and not os.path.isfile(args.geofences):
        return _fail(f"{args.geofences}: no such geofence file", EXIT_INPUT)
    from .exports import export

    paths = export(
        args.dataset,
        args.output,
        to=to[0] if to else None,
        tz=args.tz,
        devices=args.device,
        start=args.start,
        end=until[0] if until else None,
        geofences=args.geofences,
    )
    for path in paths:
        print(f"written {path}")
    return EXIT_OK


def _run_listen(args) -> int:
    from .io.listen import EventLog, listen

    events = EventLog(sys.stderr, json_lines=args.json_log)

    def announce(host: str, port: int) -> None:
        events.emit(
            "listening",
            f"listening on {host}:{port} (tcp, udp), captures in {args.output}",
            host=host,
            port=port,
            output=args.output,
        )

    stats = listen(
        args.output,
        host=args.host,
        port=args.port,
        duration_s=args.duration,
        on_ready=announce,
        max_connections=args.max_connections,
        idle_timeout_s=args.idle_timeout,
        reply=not args.no_reply,
        photos=not args.no_photos,
        rotate_mb=args.rotate_mb,
        events=events,
    )
    print(stats.describe())
    if stats.stopped_by == "signal":
        # everything is written and fsynced: leave now instead of after the interpreter has
        # unloaded the compiled kernels (up to a second), so a service manager's stop is prompt
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_OK)
    return EXIT_OK


def _run_summary(args) -> int:
    from .dataset._summary import summarize

    summary = summarize(args.inputs, format=args.format, log_tz=args.log_tz, port=args.port)
    for line in summary.lines():
        print(line)
    for path, reason in summary.errors:
        print(f"bofan: {path}: {reason}", file=sys.stderr)
    return EXIT_INPUT if summary.errors else EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
