"""Tools for testing mediamatch and its plugins; `conformance` is the kit every signal passes.

A plugin author runs it on their signal:

    from mediamatch.testing import check_signal
    check_signal(MySignal)  # raises AssertionError naming every check that failed

or parametrises a test over `CHECKS` to see each check as its own test.
"""

from mediamatch.testing.conformance import CHECKS, check_signal, sample_bytes, sample_luma

__all__ = ["CHECKS", "check_signal", "sample_bytes", "sample_luma"]
