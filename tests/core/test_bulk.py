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


def test_a_bulk_writer_tells_the_listeners_after_its_batch_commits(new_project):
    from labeler.core.store import StoreError

    project = new_project(records=[("a.jpg", 40, 30), ("b.jpg", 40, 30)])
    heard = []
    project.add_listener(lambda kind, ids: heard.append((kind, set(ids))))
    iid = project.images()[0].id
    with pytest.raises(StoreError, match="inside batch"):
        project.changed("boxes", [iid])
    with project.batch():
        project.changed("boxes", [iid])
        assert heard == []  # not before the commit
    assert heard == [("boxes", {iid})]
