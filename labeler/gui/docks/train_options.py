"""The Fine-tune panel's options form: model, length (automatic, epochs or minutes), start weights,
augmentations and device; the TrainSettings they describe, and the project setting that keeps them.

"Start from" is an informed choice: the note under it says whether the COCO weights and a
checkpoint of this project are on this computer (`update_start_state`).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QSpinBox,
                               QStackedWidget, QWidget)

from labeler.core.store import Project
from labeler.gui.docks.augment import AugmentButton
from labeler.gui.widgets import narrow_combo
from labeler.ml.dataset import DEFAULT_AUGMENT
from labeler.ml.device import DEVICE_CHOICES
from labeler.ml.models import trainable_architectures

#: project setting with the panel's last choices
SETTING_OPTIONS = "train.options"
AUTO, EPOCHS, MINUTES = "auto", "epochs", "minutes"
#: (key, the choice's text, its tooltip): short texts, so they read whole in a narrow dock
START_CHOICES = (("auto", "Automatic", "the project's best checkpoint when its classes fit, else COCO weights "
                  "if they are on this computer, else scratch"),
                 ("coco", "COCO weights", "torchvision's weights trained on COCO"),
                 ("last", "Last checkpoint", "The best checkpoint of this project's newest run"),
                 ("scratch", "Scratch", "Random weights"))
START_TEXTS = {key: text for key, text, _tip in START_CHOICES}


def short_model(name: str | None) -> str:
    return (name or "?").removeprefix("fasterrcnn_")


def coco_weights_present(architecture: str) -> bool | None:
    """Whether torchvision's COCO weights for `architecture` are on this computer (None: unknown)."""
    try:
        from labeler.ml.weights import find_coco_weights
    except ImportError:
        return None
    try:
        return find_coco_weights(architecture) is not None
    except Exception:  # an architecture without COCO weights (a custom one)
        return False


class TrainOptionsForm(QWidget):
    def __init__(self, project: Project, parent: QWidget | None = None):
        super().__init__(parent)
        self.project = project
        options = project.get_setting(SETTING_OPTIONS, {}) or {}
        self.model_box = QComboBox()
        self.model_box.addItem("Default for this device", None)
        self.architectures = trainable_architectures()
        for name, arch in self.architectures.items():
            self.model_box.addItem(arch.title, name)
            self.model_box.setItemData(self.model_box.count() - 1, name, Qt.ItemDataRole.ToolTipRole)
        self.model_box.setToolTip("The default is the fast small model on a CPU and a larger one on a GPU")
        self.model_box.setCurrentIndex(max(self.model_box.findData(options.get("architecture")), 0))

        self.length_box = QComboBox()
        for text, key in (("Automatic", AUTO), ("Epochs", EPOCHS), ("Minutes", MINUTES)):
            self.length_box.addItem(text, key)
        self.length_box.setToolTip("Automatic: a length that suits the device and the number of reviewed images")
        self.epochs_box = QSpinBox(minimum=1, maximum=1000)
        self.epochs_box.setValue(int(options.get("epochs") or 10))
        self.minutes_box = QDoubleSpinBox(decimals=1, minimum=0.5, maximum=24 * 60, singleStep=1.0)
        self.minutes_box.setSuffix(" min")
        self.minutes_box.setValue(float(options.get("minutes") or 10.0))
        self.auto_length_label = QLabel("chosen for you")
        self.auto_length_label.setToolTip("A length that suits the device and the number of reviewed images")
        self.auto_length_label.setMinimumWidth(10)  # clipped in a narrow dock rather than widening it
        self.length_box.setCurrentIndex(max(self.length_box.findData(options.get("length", AUTO)), 0))

        self.start_box = QComboBox()
        for key, text, tip in START_CHOICES:
            self.start_box.addItem(text, key)
            self.start_box.setItemData(self.start_box.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.start_box.setCurrentIndex(max(self.start_box.findData(options.get("start", "auto")), 0))
        self.weights_label = QLabel()
        self.weights_label.setWordWrap(True)
        self.device_box = QComboBox()
        self.device_box.addItems(DEVICE_CHOICES)
        self.device_box.setCurrentText(options.get("device", "auto"))
        self.device_box.setToolTip("auto: CUDA, then Apple MPS, then the CPU")
        for box in (self.model_box, self.start_box):  # long item texts must not widen the dock
            narrow_combo(box)
        self.augment_button = AugmentButton(options.get("augment", DEFAULT_AUGMENT))

        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Model", self.model_box)
        length_row = QHBoxLayout()
        length_row.addWidget(self.length_box)
        self.length_stack = QStackedWidget()  # one field at a time, sized by the largest
        for w in (self.auto_length_label, self.epochs_box, self.minutes_box):
            self.length_stack.addWidget(w)
        length_row.addWidget(self.length_stack, 1)
        form.addRow("Length", length_row)
        form.addRow("Start from", self.start_box)
        form.addRow("", self.weights_label)
        form.addRow("Augment", self.augment_button)
        form.addRow("Device", self.device_box)

        self.length_box.currentIndexChanged.connect(self._update_length_widgets)
        self._update_length_widgets()

    def _update_length_widgets(self, *_):
        key = self.length_box.currentData()
        self.length_stack.setCurrentWidget({EPOCHS: self.epochs_box, MINUTES: self.minutes_box}.get(
            key, self.auto_length_label))

    def update_start_state(self, checkpoint_runs: list[int]) -> None:
        """Say whether the COCO weights and a last checkpoint (the ids of runs that kept one) exist."""
        name = self.model_box.currentData()
        names = [name] if name else [n for n, a in self.architectures.items() if a.weights_enum]
        present = {n: coco_weights_present(n) for n in names}
        if name and not self.architectures[name].weights_enum:
            coco = "This model has no COCO weights: it trains from scratch."
        elif name:
            title = self.architectures[name].title.split(" (")[0]
            state = present[name]
            coco = (f"COCO weights for {title}: present." if state
                    else f"COCO weights for {title}: not on this computer (download them in the Pre-label panel)."
                    if state is False else "")
        else:
            have = [short_model(n) for n, ok in present.items() if ok]
            coco = (f"COCO weights present for: {', '.join(have)}." if have
                    else "No COCO weights on this computer: Automatic starts from scratch.")
        ckpt = (f"Last checkpoint: run {max(checkpoint_runs)}." if checkpoint_runs
                else "No checkpoint yet in this project.")
        self.weights_label.setText(f"{coco} {ckpt}".strip())
        self._set_start_item("coco", START_TEXTS["coco"] + ("" if any(present.values()) or None in present.values()
                                                            else " (none here)"))
        self._set_start_item("last", START_TEXTS["last"] + ("" if checkpoint_runs else " (none yet)"))

    def _set_start_item(self, key: str, text: str) -> None:
        self.start_box.setItemText(self.start_box.findData(key), text)

    def augmentations(self) -> tuple[str, ...]:
        return self.augment_button.chosen()

    def settings(self):
        """The TrainSettings the choices describe."""
        from labeler.ml.train import TrainSettings

        length = self.length_box.currentData()
        return TrainSettings(architecture=self.model_box.currentData(),
                             epochs=self.epochs_box.value() if length == EPOCHS else None,
                             minutes=self.minutes_box.value() if length == MINUTES else None,
                             start=self.start_box.currentData(), device=self.device_box.currentText(),
                             augment=self.augmentations())

    def save(self) -> None:
        """Keep the choices in the project (written only when they changed)."""
        options = {"architecture": self.model_box.currentData(), "length": self.length_box.currentData(),
                   "epochs": self.epochs_box.value(), "minutes": self.minutes_box.value(),
                   "start": self.start_box.currentData(), "device": self.device_box.currentText(),
                   "augment": list(self.augmentations())}
        if self.project.get_setting(SETTING_OPTIONS) != options:
            self.project.set_setting(SETTING_OPTIONS, options)

    def set_running(self, running: bool) -> None:
        """The choices are locked while a run goes on."""
        for w in (self.model_box, self.length_box, self.epochs_box, self.minutes_box, self.start_box,
                  self.augment_button, self.device_box):
            w.setEnabled(not running)
