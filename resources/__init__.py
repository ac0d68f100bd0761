"""Files labeler ships: the application icon (SVG and PNG sizes) and the toolbar icons (icons/*.svg).

This folder is installed as the package `labeler.resources` (see pyproject.toml) so that
`importlib.resources.files("labeler.resources")` finds it; labeler.gui.icons reads it.
"""
