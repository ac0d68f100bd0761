"""PySide6 widgets and workers that adapt labeler.core and labeler.ml."""
