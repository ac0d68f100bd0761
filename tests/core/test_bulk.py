import gc

import pytest

from labeler.core.bulk import paused_cycle_collector


def test_the_cycle_collector_is_paused_for_the_bulk_step_and_restored_even_on_error():
    assert gc.isenabled()
    with paused_cycle_collector():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), paused_cycle_collector():
        raise ValueError("a reader failed")
    assert gc.isenabled()
    gc.disable()  # a caller that had it off keeps it off
    try:
        with paused_cycle_collector():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
