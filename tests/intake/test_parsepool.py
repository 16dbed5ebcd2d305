"""Tests of ``helpdesk.intake.parsepool``: worker processes parse exactly as the daemon's process does.

The workers are real processes (spawned, as in the daemon). The test that kills the process
owning a pool checks, through ``/proc``, that its workers leave by themselves.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from helpdesk.errors import MessageRejected
from helpdesk.intake.parsepool import PARALLEL_MINIMUM, ParsePool, parse_or_reject
from tests.corpus import generate_corpus
from tests.malformed import malformed_messages

REPO = Path(__file__).resolve().parents[2]


def _mixed_batch() -> list[bytes]:
    """Ordinary customer mail with every malformed message and two non-messages mixed in."""
    nasty = [raw for name, raw in malformed_messages().items() if "huge" not in name]
    ordinary = [mail.raw for mail in generate_corpus(60, seed=7)]
    batch = ordinary[:30] + nasty + [b"", b"not a mail at all\r\n"] + ordinary[30:]
    assert len(batch) >= PARALLEL_MINIMUM
    return batch


def _same(left: object, right: object) -> bool:
    if isinstance(left, MessageRejected) or isinstance(right, MessageRejected):
        return type(left) is type(right) and str(left) == str(right)
    return left == right


def test_workers_parse_exactly_as_the_daemon_process_does() -> None:
    batch = _mixed_batch()
    expected = [parse_or_reject(raw) for raw in batch]
    assert any(isinstance(result, MessageRejected) for result in expected)
    pool = ParsePool(workers=2)
    try:
        results = pool.parse(batch)
        assert pool._executor is not None, "a batch this large is parsed by the workers"
        # Twice: the workers stay up between batches.
        again = pool.parse(list(reversed(batch)))
    finally:
        pool.close()
    assert len(results) == len(batch)
    assert all(_same(got, want) for got, want in zip(results, expected, strict=True))
    assert all(_same(got, want) for got, want in zip(again, reversed(expected), strict=True))


def test_a_batch_prepared_ahead_is_parsed_while_the_caller_works_and_collected_in_order() -> None:
    first, second = _mixed_batch(), [mail.raw for mail in generate_corpus(40, seed=11)]
    pool = ParsePool(workers=2)
    try:
        pool.prepare(second)
        # The workers have the second batch; the caller goes on with the first meanwhile.
        parsed_first = pool.parse(first)
        assert all(_same(got, parse_or_reject(raw)) for got, raw in zip(parsed_first, first, strict=True))
        # Asked for in any order and without some (duplicates the caller skipped), each is its own.
        wanted = list(reversed(second[5:]))
        collected = pool.parse(wanted)
        assert pool._ahead == {}, "what was prepared and not asked for is dropped"
    finally:
        pool.close()
    assert all(_same(got, parse_or_reject(raw)) for got, raw in zip(collected, wanted, strict=True))


def test_equal_bytes_that_were_not_prepared_are_parsed_now() -> None:
    batch = [mail.raw for mail in generate_corpus(40, seed=12)]
    copies = [bytes(bytearray(raw)) for raw in batch]
    pool = ParsePool(workers=2)
    try:
        pool.prepare(batch)
        results = pool.parse(copies[:3])
        assert len(pool._ahead) == len(batch), "another object is another message: nothing taken"
    finally:
        pool.close()
    assert all(_same(got, parse_or_reject(raw)) for got, raw in zip(results, copies[:3], strict=True))


def test_small_batches_are_not_prepared() -> None:
    pool = ParsePool(workers=2)
    pool.prepare([mail.raw for mail in generate_corpus(PARALLEL_MINIMUM - 1, seed=13)])
    assert pool._executor is None and pool._ahead == {}


def test_small_batches_and_zero_workers_stay_in_process() -> None:
    batch = [mail.raw for mail in generate_corpus(PARALLEL_MINIMUM, seed=3)]
    pool = ParsePool(workers=2)
    assert [r.message_id for r in pool.parse(batch[:-1])] == [  # type: ignore[union-attr]
        r.message_id for r in map(parse_or_reject, batch[:-1])  # type: ignore[union-attr]
    ]
    assert pool._executor is None
    no_workers = ParsePool(workers=0)
    assert len(no_workers.parse(batch)) == len(batch)
    assert no_workers._executor is None


def test_a_broken_pool_falls_back_to_the_daemon_process(caplog: pytest.LogCaptureFixture) -> None:
    batch = [mail.raw for mail in generate_corpus(PARALLEL_MINIMUM * 2, seed=5)]
    expected = [parse_or_reject(raw) for raw in batch]
    pool = ParsePool(workers=2)
    try:
        pool.parse(batch)
        assert pool._executor is not None
        for process in list(pool._executor._processes.values()):
            # A worker the pool has just retired is already gone.
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)
            process.join()
        with caplog.at_level(logging.ERROR, logger="helpdesk.intake.parsepool"):
            results = pool.parse(batch)
        assert results == expected
        assert "parse workers failed" in caplog.text
        assert pool._executor is None
        # From now on everything is parsed in this process.
        assert pool.parse(batch) == expected
        assert pool._executor is None
    finally:
        pool.close()


def _children(pid: int) -> set[int]:
    """The processes whose parent is ``pid`` (Linux /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: the fields follow the last ")".
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_workers_leave_when_the_daemon_is_killed(tmp_path: Path) -> None:
    owner_script = tmp_path / "owner.py"
    owner_script.write_text(
        textwrap.dedent(
            """
            import sys, time
            from helpdesk.intake.parsepool import ParsePool
            from tests.corpus import generate_corpus

            if __name__ == "__main__":
                pool = ParsePool(workers=2)
                pool.parse([mail.raw for mail in generate_corpus(64, seed=1)])
                print("parsed", flush=True)
                time.sleep(600)
            """
        )
    )
    owner = subprocess.Popen(
        [sys.executable, str(owner_script)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert owner.stdout is not None
        assert owner.stdout.readline().strip() == "parsed"
        # The two workers and multiprocessing's resource tracker.
        workers = _children(owner.pid)
        assert len(workers) >= 3
        owner.kill()
        owner.wait()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in workers), "parse workers outlived the daemon"
    finally:
        owner.kill()
        owner.wait()
        if owner.stdout is not None:
            owner.stdout.close()
