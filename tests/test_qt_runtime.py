"""Guards against a Qt binding that corrupts the interpreter (seen with PySide6 6.12.0 on CPython 3.11)."""

import subprocess
import sys


def test_void_qt_calls_keep_none_alive():
    # 20,000 void calls: a binding that returns None without a reference aborts the interpreter.
    code = (
        "import sys\n"
        "from PySide6.QtCore import QTimer, QObject, Signal\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "class O(QObject):\n    s = Signal(int)\n"
        "t, o = QTimer(), O()\n"
        "before = sys.getrefcount(None)\n"
        "for i in range(20000):\n    t.setInterval(5); o.s.emit(i)\n"
        "print(sys.getrefcount(None) - before >= -100)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, f"the Qt binding crashed the interpreter: {r.stderr[-500:]}"
    assert r.stdout.strip() == "True"
