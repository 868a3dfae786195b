"""The soak benchmark at a tiny size: it still runs, and 20 rounds leak no descriptor.

The real measurement (10,000 rounds) is `python -m benchmarks.soak`; nothing here is timed.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks import soak
from tests.conftest import open_fds


def test_twenty_rounds_keep_descriptors_connections_and_threads_flat(tmp_path: Path) -> None:
    before = open_fds()

    result = soak.run(rounds=20, every=5, workdir=tmp_path)

    assert [s.round for s in result.samples] == [1, 5, 10, 15, 20]
    first = result.samples[0]
    # Sockets (client and fake ends) and the fakes' connections: flat from the first round.
    assert {(s.sockets, s.fake_connections) for s in result.samples} == {
        (first.sockets, first.fake_connections)
    }
    # Other descriptors are the SQLite pool's (the file and its WAL per pooled connection,
    # at most 5 pooled): bounded, whatever the rounds' timing.
    assert all(s.fds - s.sockets <= first.fds - first.sockets + 2 * 5 for s in result.samples)
    assert max(s.threads for s in result.samples) <= first.threads + 6  # the to_thread pool
    assert result.samples[-1].spool_files == 0
    assert result.errors_logged == 0
    # 27 values in the first round, then the three follower counts of each later minute.
    assert result.samples[-1].stored == 27 + 3 * 19
    assert set(result.outcomes) <= {"ok", "partial"}
    assert result.outcomes["ok"] >= 4 * 20 - 3
    assert open_fds() <= before  # the fakes, the client and the store are all closed
