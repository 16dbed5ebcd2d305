"""Start-up benchmark: how long opening a store of 100,000 tickets takes, and the memory it holds.

Run from the repository root::

    python3 bench/startup.py                      # 100,000 tickets (built once, then reused), best of 3
    python3 bench/startup.py --tickets 20000      # a smaller store
    python3 bench/startup.py --store DIR          # build the store in DIR, or reuse the one there
    python3 bench/startup.py --json               # one JSON document instead of the table

The store is built by ``bench/preload.py`` (tickets with their customer message and
acknowledgement, a third as many customers, closed by the store as a stopping daemon closes
it) into ``--store``, by default a directory in the system's temporary directory named after
the ticket count. Building 100,000 tickets takes most of a minute, so a store that a previous
run built completely (its ``preload.json`` says how) is reused; a directory the benchmark did not
make is never emptied. Before the timed runs the store
is opened for writing and closed once, untimed, in its own process, as a daemon that started
and stopped would leave it; then the file system is flushed. The files are then in the page
cache, as they are when a daemon restarts: the figures are for a warm cache.

Every measurement runs in a fresh Python process (``--measure``, internal), which imports the
daemon's modules (``helpdesk run`` has them loaded before it opens the store), then times the
open and reads the process's resident memory (``VmRSS`` and the peak ``VmHWM`` from
``/proc/self/status``; ``ru_maxrss`` where there is no ``/proc``):

* **open for writing**: ``Store(data_dir)``, as ``helpdesk run`` opens it at start-up;
* **open read-only**: ``Store(data_dir, readonly=True)``, as the read-only commands do;
* after the timed open for writing, **one sweep of every ticket document**
  (``Store.ticket_documents()``, what the first rule tick and the digest read), timed, with
  the memory after it: what the daemon holds once it has looked at every ticket.

Each is run ``--repeat`` times; the best and the median open times and the largest memory
figure are compared with the targets (open under 3 s, resident memory after opening under
400 MB). The results are printed as a table (``--json``: one JSON document) and written to
``bench/results/startup-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common
from bench.preload import PRELOAD_SEED, preload_store
from helpdesk.store.store import Store

DEFAULT_TICKETS = 100_000
DEFAULT_REPEAT = 3
TARGET_OPEN_SECONDS = 3.0
TARGET_RSS_MB = 400.0
# Written into the store's directory: what was built there and whether the build finished.
MARKER = "preload.json"
WRITER, READER = "writer", "reader"
SCRIPT = Path(__file__).resolve()


# ---------------------------------------------------------------------------------------------
# Inside a measuring process.
# ---------------------------------------------------------------------------------------------


def memory_mb() -> dict[str, float]:
    """This process's resident memory now (``rss``) and at its peak (``peak``), in MB."""
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return {"rss": round(peak, 1), "peak": round(peak, 1)}
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    kilobytes = {name: int(fields[name].split()[0]) for name in ("VmRSS", "VmHWM")}
    return {"rss": round(kilobytes["VmRSS"] / 1024, 1), "peak": round(kilobytes["VmHWM"] / 1024, 1)}


def measure(mode: str, data_dir: Path) -> dict[str, Any]:
    """Open the store at ``data_dir`` as ``mode`` says, in this process; what it cost.

    Runs in a process of its own (``--measure``), so that nothing of an earlier open is still
    in memory. A writer also sweeps every ticket document once after the open is measured.
    The store is not closed: a close of an unchanged store would write nothing anyway.
    """
    # What the daemon's process holds before it opens the store: all of its modules.
    importlib.import_module("helpdesk.daemon")
    before = memory_mb()
    began = time.perf_counter()
    store = Store(data_dir, readonly=mode == READER)
    figures: dict[str, Any] = {
        "open_seconds": time.perf_counter() - began,
        "imports_rss_mb": before["rss"],
        **{f"open_{name}_mb": value for name, value in memory_mb().items()},
        "counts": store.counts,
    }
    if mode == WRITER:
        began = time.perf_counter()
        swept = sum(1 for _ in store.ticket_documents())
        figures["sweep_seconds"] = time.perf_counter() - began
        figures["sweep_tickets"] = swept
        figures.update({f"sweep_{name}_mb": value for name, value in memory_mb().items()})
    return figures


def run_measurement(mode: str, data_dir: Path) -> dict[str, Any]:
    """:func:`measure` in a fresh Python process; its figures."""
    command = [sys.executable, str(SCRIPT), "--measure", mode, str(data_dir)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"measuring {mode} open failed ({done.returncode}): {done.stderr.strip()}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


# ---------------------------------------------------------------------------------------------
# The store.
# ---------------------------------------------------------------------------------------------


def default_store(tickets: int) -> Path:
    """Where the store of ``tickets`` tickets is kept between runs unless ``--store`` says."""
    return Path(tempfile.gettempdir()) / f"helpdesk-bench-startup-{tickets}"


def store_description(directory: Path) -> dict[str, Any]:
    """The segment files on disk: how many, and their size."""
    files = [path for path in (directory / "db").iterdir() if path.is_file()]
    segments = [path for path in files if path.suffix == ".json"]
    return {
        "segment_files": len(segments),
        "segment_mb": round(sum(path.stat().st_size for path in segments) / 2**20, 1),
        "files": len(files),
        "total_mb": round(sum(path.stat().st_size for path in files) / 2**20, 1),
    }


def prepare_store(directory: Path, tickets: int, progress: common.Progress = common.quiet) -> dict[str, Any]:
    """Reuse the store in ``directory`` if it was built for ``tickets``, else build it there.

    The marker is written before the build (``complete`` false) and again after it, so an
    interrupted build is never reused, and only a directory this benchmark made (it holds
    the marker) is ever emptied: anything else that is not empty is refused.
    """
    wanted = {"tickets": tickets, "seed": PRELOAD_SEED, "complete": True}
    marker = directory / MARKER
    try:
        built = json.loads(marker.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if directory.exists() and any(directory.iterdir()):
            raise RuntimeError(
                f"{directory}: not a store this benchmark built; choose another --store"
            ) from None
        built = None
    if built is not None and {key: built.get(key) for key in wanted} == wanted:
        progress(f"reusing the store of {tickets:,} tickets in {directory}")
        return {**built, "reused": True}
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    marker.write_text(json.dumps({**wanted, "complete": False}) + "\n", encoding="utf-8")
    progress(f"building a store of {tickets:,} tickets in {directory}")
    began = time.perf_counter()
    counts = preload_store(directory, tickets)
    built = {**wanted, "counts": counts, "build_seconds": round(time.perf_counter() - began, 1)}
    marker.write_text(json.dumps(built) + "\n", encoding="utf-8")
    return {**built, "reused": False}


def settle(directory: Path) -> float:
    """Open the store for writing and close it, untimed, in a process of its own; the seconds it took.

    This leaves the store as a daemon that started and stopped leaves it (and its files in
    the page cache), whatever wrote it last.
    """
    code = "import sys; from pathlib import Path; from helpdesk.store.store import Store; "
    code += "Store(Path(sys.argv[1])).close()"
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(directory)], check=True, cwd=common.REPO_ROOT)
    return time.perf_counter() - began


# ---------------------------------------------------------------------------------------------
# The benchmark.
# ---------------------------------------------------------------------------------------------


def summarise(runs: list[dict[str, Any]], with_sweep: bool) -> dict[str, Any]:
    """Best and median open time, largest memory figures, and every run."""
    opens = [run["open_seconds"] for run in runs]
    summary: dict[str, Any] = {
        "runs_seconds": [round(value, 3) for value in opens],
        "best_seconds": round(min(opens), 3),
        "median_seconds": round(statistics.median(opens), 3),
        "imports_rss_mb": max(run["imports_rss_mb"] for run in runs),
        "rss_mb": max(run["open_rss_mb"] for run in runs),
        "peak_rss_mb": max(run["open_peak_mb"] for run in runs),
        "counts": runs[0]["counts"],
    }
    if with_sweep:
        sweeps = [run["sweep_seconds"] for run in runs]
        summary["sweep"] = {
            "tickets": runs[0]["sweep_tickets"],
            "runs_seconds": [round(value, 3) for value in sweeps],
            "best_seconds": round(min(sweeps), 3),
            "rss_mb": max(run["sweep_rss_mb"] for run in runs),
            "peak_rss_mb": max(run["sweep_peak_mb"] for run in runs),
        }
    return summary


def run_benchmark(
    tickets: int, repeat: int, directory: Path, progress: common.Progress = common.quiet
) -> dict[str, Any]:
    """Prepare the store, then time ``repeat`` opens of each kind in fresh processes; the results."""
    results: dict[str, Any] = {
        "benchmark": "startup",
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": common.machine(),
        "targets": {"open_seconds": TARGET_OPEN_SECONDS, "rss_mb": TARGET_RSS_MB},
    }
    results["store"] = {"directory": str(directory), **prepare_store(directory, tickets, progress)}
    results["store"]["settle_seconds"] = round(settle(directory), 2)
    results["store"].update(store_description(directory))
    common.flush_file_system()
    runs: dict[str, list[dict[str, Any]]] = {WRITER: [], READER: []}
    for run in range(repeat):
        for mode in (WRITER, READER):
            runs[mode].append(run_measurement(mode, directory))
            progress(f"{mode} open {run + 1}/{repeat}: {runs[mode][-1]['open_seconds']:.2f} s")
    results[WRITER] = summarise(runs[WRITER], with_sweep=True)
    results[READER] = summarise(runs[READER], with_sweep=False)
    expected = results["store"]["counts"]
    for mode in (WRITER, READER):
        if results[mode]["counts"] != expected:
            raise RuntimeError(f"the {mode} open saw {results[mode]['counts']}, expected {expected}")
    results["targets_met"] = {
        "open": all(results[mode]["best_seconds"] < TARGET_OPEN_SECONDS for mode in (WRITER, READER)),
        "rss": all(results[mode]["rss_mb"] < TARGET_RSS_MB for mode in (WRITER, READER)),
    }
    return results


def format_report(results: dict[str, Any]) -> str:
    """The results as a table."""
    store, machine, targets = results["store"], results["machine"], results["targets"]
    counts = store["counts"]
    built = "reused" if store["reused"] else f"built in {store['build_seconds']:.1f} s"
    lines = [
        f"helpdesk start-up benchmark, {results['started']}, {machine['cpus']} CPUs, "
        f"Python {machine['python']}",
        f"store: {counts['tickets']:,} tickets, {counts['messages']:,} messages, "
        f"{counts['customers']:,} customers; {store['segment_files']} segment files "
        f"({store['segment_mb']:.0f} MB), {store['files']} files in all ({store['total_mb']:.0f} MB); "
        f"{built} ({store['directory']}), settled in {store['settle_seconds']:.1f} s",
        f"each open in a fresh process, warm page cache; {len(results[WRITER]['runs_seconds'])} runs each",
        "",
        f"  {'':<28}{'best':>9}{'median':>9}  {'runs (s)':<22}target",
    ]
    for mode, label in ((WRITER, "open for writing (daemon)"), (READER, "open read-only (commands)")):
        entry = results[mode]
        met = entry["best_seconds"] < targets["open_seconds"]
        lines.append(
            f"  {label:<28}{entry['best_seconds']:>7.2f} s{entry['median_seconds']:>7.2f} s  "
            f"{common.format_runs(entry['runs_seconds'], 2):<22}< {targets['open_seconds']:.0f} s: "
            f"{common.verdict(met)}"
        )
    lines.append("")
    for mode, label in (
        (WRITER, "memory after opening (daemon)"),
        (READER, "memory after opening (commands)"),
    ):
        entry = results[mode]
        met = entry["rss_mb"] < targets["rss_mb"]
        lines.append(
            f"  {label:<34}{entry['rss_mb']:>6.0f} MB (peak {entry['peak_rss_mb']:.0f} MB, "
            f"imports {entry['imports_rss_mb']:.0f} MB)   < {targets['rss_mb']:.0f} MB: {common.verdict(met)}"
        )
    sweep = results[WRITER]["sweep"]
    lines += [
        "",
        f"  after opening for writing, one sweep of every ticket document ({sweep['tickets']:,}; "
        "what the first rule tick reads):",
        f"  {'sweep':<28}{sweep['best_seconds']:>7.2f} s{'':>9}  "
        f"{common.format_runs(sweep['runs_seconds'], 2)}",
        f"  {'memory after the sweep':<34}{sweep['rss_mb']:>6.0f} MB (peak {sweep['peak_rss_mb']:.0f} MB)",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Command line.
# ---------------------------------------------------------------------------------------------


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line; see ``--help``."""
    parser = argparse.ArgumentParser(
        prog="python3 bench/startup.py",
        description="Benchmark opening a large store: time and resident memory.",
    )
    parser.add_argument(
        "--tickets",
        type=int,
        default=DEFAULT_TICKETS,
        help=f"tickets in the store (default {DEFAULT_TICKETS:,})",
    )
    parser.add_argument(
        "--repeat", type=int, default=DEFAULT_REPEAT, help=f"opens of each kind (default {DEFAULT_REPEAT})"
    )
    parser.add_argument(
        "--store", type=Path, help="the store's data directory, built there unless it holds this size already"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    parser.add_argument(
        "--results-dir", type=Path, default=common.RESULTS_DIR, help="where to write startup-<timestamp>.json"
    )
    parser.add_argument("--measure", nargs=2, metavar=("MODE", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.tickets < 1 or args.repeat < 1:
        parser.error("--tickets and --repeat must be at least 1")
    if args.measure is not None and args.measure[0] not in (WRITER, READER):
        parser.error(f"--measure: the mode is {WRITER} or {READER}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark from the command line; 0 when it ran (the targets are reported, not enforced)."""
    args = parse_arguments(argv)
    if args.measure is not None:
        mode, directory = args.measure
        print(json.dumps(measure(mode, Path(directory))))
        return 0
    began = time.monotonic()
    progress = common.stderr_progress(began)
    directory = args.store or default_store(args.tickets)
    results = run_benchmark(args.tickets, args.repeat, directory, progress)
    results["command"] = common.command_line("bench/startup.py", argv)
    results["wall_seconds"] = round(time.monotonic() - began, 1)
    path = common.publish(results, args.json, format_report, args.results_dir)
    progress(f"results written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
