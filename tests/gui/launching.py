"""Opening a project through the Launcher: the store opens on a worker, the outcome comes in `opened`."""


def opened(qtbot, start, *args, **kwargs) -> bool:
    """Call a Launcher method that opens a project (open_folder, open_store, new_project) and wait
    for its outcome: True when the window is up."""
    launcher = start.__self__
    with qtbot.waitSignal(launcher.opened, timeout=10000) as blocker:
        start(*args, **kwargs)
    return blocker.args[0]
