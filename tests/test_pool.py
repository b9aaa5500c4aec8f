"""When consolidation starts worker processes: decided by the amount of work (bytes on
disk), not by the number of files. Sizes are those of the bench files (bench/README.md):
a town workbook with 4,000 projects is ~384 KB, one with 200 is ~52 KB, an empty
template ~40 KB."""

from __future__ import annotations

from xlz.ops.pool import POOL_MIN_SHARED_BYTES, pool_size

ROWS_4000 = 384_000
ROWS_200 = 52_000
EMPTY = 40_000


def test_the_citys_thirteen_big_towns_use_both_cores() -> None:
    assert pool_size([ROWS_4000] * 13) == 2


def test_three_small_files_stay_in_this_process() -> None:
    assert pool_size([EMPTY, ROWS_200, EMPTY]) == 1


def test_many_small_files_use_both_cores_few_do_not() -> None:
    assert pool_size([ROWS_200] * 500) == 2
    assert pool_size([ROWS_200] * 20) == 1  # ~0.5 MB a second process could take over


def test_one_big_file_is_the_critical_path() -> None:
    """A second process can only take over what is not the largest file."""
    assert pool_size([50_000_000]) == 1
    assert pool_size([50_000_000, EMPTY, EMPTY]) == 1
    assert pool_size([3 * POOL_MIN_SHARED_BYTES, 3 * POOL_MIN_SHARED_BYTES]) == 2


def test_never_more_processes_than_cores_or_files() -> None:
    assert pool_size([ROWS_4000] * 13, cores=1) == 1
    assert pool_size([ROWS_4000] * 13, cores=8) == 8
    assert pool_size([4 * POOL_MIN_SHARED_BYTES] * 3, cores=8) == 3
    assert pool_size([]) == 1
