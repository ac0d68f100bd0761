"""The Fine-tune panel's Augment button: a menu of checkable augmentations, as `labeler train
--augment` takes them, so a project whose classes depend on orientation or colour can turn those off."""

from __future__ import annotations

from typing import Sequence

from PySide6.QtWidgets import QMenu, QSizePolicy, QToolButton

from labeler.ml.dataset import AUGMENTATIONS, DEFAULT_AUGMENT

#: what each augmentation does, in the menu (keys: labeler.ml.dataset.AUGMENTATIONS, the CLI's names)
AUGMENT_TEXTS = {"hflip": "Horizontal flips", "vflip": "Vertical flips", "rot90": "Quarter turns",
                 "zoom": "Zoom: random crops", "scale": "Scale jitter: varied input sizes",
                 "color": "Brightness, contrast and saturation",
                 "mosaic": "Mosaic: four images in one"}


class AugmentButton(QToolButton):
    """Shows the chosen augmentations ("default: ...", "all", "none" or their names); its menu has
    one checkable action per augmentation (`actions_by_name`) and "Defaults"."""

    def __init__(self, chosen: Sequence[str] = DEFAULT_AUGMENT, parent=None):
        super().__init__(parent)
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("Random changes to the training images, moving the boxes with the pixels. "
                        "Turn off flips and turns when a class depends on orientation "
                        "(\"arrow left\"), colour when it depends on colour")
        menu = QMenu(self)
        self.actions_by_name = {}
        for name in AUGMENTATIONS:
            action = menu.addAction(f"{AUGMENT_TEXTS.get(name, name)} ({name})")
            action.setCheckable(True)
            action.setChecked(name in chosen)
            action.toggled.connect(self._update_text)
            self.actions_by_name[name] = action
        menu.addSeparator()
        menu.addAction("Defaults", lambda: self.set_chosen(DEFAULT_AUGMENT))
        self.setMenu(menu)
        self._update_text()

    def chosen(self) -> tuple[str, ...]:
        """The checked augmentations, in labeler.ml.dataset.AUGMENTATIONS order."""
        return tuple(name for name, action in self.actions_by_name.items() if action.isChecked())

    def set_chosen(self, names: Sequence[str]) -> None:
        for name, action in self.actions_by_name.items():
            action.setChecked(name in names)

    def _update_text(self, *_) -> None:
        names = self.chosen()
        if set(names) == set(DEFAULT_AUGMENT):
            text = "default: " + ", ".join(names)
        elif len(names) == len(AUGMENTATIONS):
            text = "all"
        else:
            text = ", ".join(names) or "none"
        self.setText(text)
