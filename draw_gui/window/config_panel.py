"""The run configuration form: every setting of the paper's model and of training.

It validates as the user types with core.config's own rules (no torch import, so the window
opens fast), marks the field at fault with the reason, and says whether Start may be pressed.
"""
from __future__ import annotations

import math
import os


from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QSpinBox, QWidget)

from core.config import ConfigError, DrawConfig, TrainConfig
from core.presets import PAPER, PRESETS, matching_preset

DATASETS = [  # (shown, key, image shape or None when it depends on the folder)
    ("MNIST", "mnist", (1, 28, 28)),
    ("Binarized MNIST (stochastic)", "binarized-mnist", (1, 28, 28)),
    ("Fashion-MNIST", "fashion-mnist", (1, 28, 28)),
    ("CIFAR-10", "cifar10", (3, 32, 32)),
    ("SVHN", "svhn", (3, 32, 32)),
    ("Image folder", "folder", None),
]
DEVICES = ("auto", "cpu", "cuda", "mps")
INVALID_STYLE = "border: 1px solid #e05050; border-radius: 2px;"

# name: (label, minimum, maximum, tooltip) for the integer settings
INTEGER_FIELDS = {
    "read_size": ("read N", 1, 64, "N: the read glimpse is an N×N grid of Gaussian filters (eq. 27), or of "
                  "bilinear samples for a spatial transformer"),
    "write_size": ("write N", 1, 64, "N̂: the write patch w_t is N̂×N̂ (eq. 28-29)"),
    "glimpses": ("glimpses T", 1, 1024, "T: how many read-write steps draw one image"),
    "z_size": ("latent z", 1, 4096, "size of z_t, the latent drawn at each glimpse (eq. 6)"),
    "hidden": ("LSTM units", 1, 8192, "units of the encoder and decoder LSTMs (eq. 5, 7)"),
    "batch_size": ("batch size", 1, 65536, "images per training step"),
    "epochs": ("epochs", 1, 100000, "passes over the training set"),
    "kl_warmup_steps": ("KL warm-up", 0, 10 ** 7, "steps over which the KL weight rises from 0 to 1 while "
                        "optimising; the loss shown is always the true bound"),
    "seed": ("seed", 0, 2 ** 31 - 1, "random seed: the same seed and settings train the same model"),
    "image_size": ("image size", 4, 512, "your images are resized to this many pixels square"),
}


class ConfigPanel(QWidget):
    changed = Signal()
    validity_changed = Signal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.fields: dict[str, QWidget] = {}
        self.labels: dict[str, QLabel] = {}
        self._errors: dict[str, str] = {}
        self._valid = None
        form = QFormLayout(self)
        form.setContentsMargins(4, 4, 4, 4)

        def add(name, label, widget, tip):
            widget.setToolTip(tip)
            self.fields[name] = widget
            self.labels[name] = QLabel(label)
            self.labels[name].setToolTip(tip)
            form.addRow(self.labels[name], widget)

        self.preset = QComboBox()
        self.preset.addItem("custom", None)
        self.preset.model().item(0).setEnabled(False)   # "custom" is what editing a field leads to
        for p in PRESETS.values():
            self.preset.addItem(f"{p.title} (paper)", p.name)
            self.preset.setItemData(self.preset.count() - 1, p.description(), Qt.ItemDataRole.ToolTipRole)
        add("preset", "preset", self.preset, f"the paper's settings for a dataset ({PAPER}): fills in the "
            "dataset, attention, glimpses T, LSTM units, latent z and read and write N; changing any of "
            "them afterwards shows \"custom\". Training settings stay as they are (Table 3 has none)")
        self.dataset = QComboBox()
        for shown, key, _ in DATASETS:
            self.dataset.addItem(shown, key)
        add("dataset", "dataset", self.dataset, "the images DRAW learns to draw")
        self.data_dir = QLineEdit()
        self.data_dir.setPlaceholderText("default cache folder")
        browse = QPushButton("…")
        browse.setFixedWidth(28)
        browse.setToolTip("choose a folder")
        browse.clicked.connect(self._browse)
        row = QWidget()
        box = QHBoxLayout(row)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.data_dir)
        box.addWidget(browse)
        add("data_dir", "data folder", row, "where the dataset's files are (or are downloaded to); "
            "for an image folder, the folder of your images")
        self.fields["data_dir"] = self.data_dir
        self.attention = QComboBox()
        self.attention.addItem("Gaussian (paper)", "gaussian")
        self.attention.addItem("spatial transformer", "spatial")
        self.attention.addItem("spatial transformer + rotation", "spatial+rotation")
        self.attention.addItem("none (whole image)", "none")
        add("attention", "attention", self.attention, "Gaussian: read and write through N×N filter grids "
            "(eq. 19-29); spatial transformer (Jaderberg et al. 2015): the glimpse is an affine crop, "
            "N×N points of a grid scaled, shifted (and optionally rotated) by A_θ from the decoder state "
            "and sampled bilinearly; the write warps its N×N patch back with the inverse transform; "
            "none: read and write the whole image (eq. 17-18)")
        for name in ("read_size", "write_size", "glimpses", "z_size", "hidden"):
            self._add_int(add, name)
        self.optimizer = QComboBox()
        self.optimizer.addItems(["adam", "sgd", "rmsprop"])
        add("optimizer", "optimizer", self.optimizer, "Adam, SGD with momentum 0.9, or RMSprop")
        self.lr = QLineEdit()
        add("lr", "learning rate", self.lr, "step size of the optimizer, e.g. 1e-3")
        for name in ("batch_size", "epochs", "kl_warmup_steps"):
            self._add_int(add, name)
        self.device = QComboBox()
        self.device.setEditable(True)
        self.device.addItems(DEVICES)
        add("device", "device", self.device, "auto picks cuda, then mps, then the CPU; or type e.g. cuda:1")
        for name in ("seed", "image_size"):
            self._add_int(add, name)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #e05050;")
        form.addRow(self.error_label)
        self.set_values({})
        self.preset.currentIndexChanged.connect(self._on_preset)
        for w in (self.dataset, self.attention, self.optimizer):
            w.currentIndexChanged.connect(self._on_change)
        self.device.currentTextChanged.connect(self._on_change)
        for w in (self.data_dir, self.lr):
            w.textChanged.connect(self._on_change)
        self._validate()

    def _add_int(self, add, name):
        label, lo, hi, tip = INTEGER_FIELDS[name]
        spin = QSpinBox()
        spin.setRange(lo, hi)
        spin.valueChanged.connect(self._on_change)
        add(name, label, spin, tip)

    def _browse(self):
        folder = QFileDialog.getExistingDirectory(self, "Choose a data folder", self.data_dir.text() or os.getcwd())
        if folder:
            self.data_dir.setText(folder)

    # ---- values ------------------------------------------------------------------------------
    def values(self) -> dict:
        """Plain, JSON-able values (what the settings file keeps)."""
        v = {name: self.fields[name].value() for name in INTEGER_FIELDS}
        v.update(dataset=self.dataset.currentData(), data_dir=self.data_dir.text().strip(),
                 attention=self.attention.currentData().split("+")[0],
                 spatial_rotation=self.attention.currentData() == "spatial+rotation",
                 optimizer=self.optimizer.currentText(),
                 lr=self.lr.text().strip(), device=self.device.currentText().strip())
        return v

    def set_values(self, values: dict) -> None:
        d, t = DrawConfig(), TrainConfig()
        defaults = dict(dataset="mnist", data_dir="", attention=d.attention,
                        spatial_rotation=d.spatial_rotation, read_size=d.read_size,
                        write_size=d.write_size, glimpses=d.glimpses, z_size=d.z_size, hidden=d.enc_size,
                        optimizer=t.optimizer, lr=f"{t.lr:g}", batch_size=t.batch_size, epochs=t.epochs,
                        kl_warmup_steps=t.kl_warmup_steps, device=t.device, seed=t.seed, image_size=32)
        v = {**defaults, **{k: val for k, val in values.items() if k in defaults}}
        self.blockSignals(True)
        self.dataset.setCurrentIndex(max(0, self.dataset.findData(v["dataset"])))
        self.data_dir.setText(str(v["data_dir"]))
        attention = f"{v['attention']}+rotation" if v["attention"] == "spatial" and v["spatial_rotation"] else v["attention"]
        self.attention.setCurrentIndex(max(0, self.attention.findData(attention)))
        self.optimizer.setCurrentText(str(v["optimizer"]))
        self.lr.setText(str(v["lr"]))
        self.device.setCurrentText(str(v["device"]))
        for name in INTEGER_FIELDS:
            try:
                self.fields[name].setValue(int(v[name]))
            except (TypeError, ValueError):
                pass
        self.blockSignals(False)
        self._on_change()

    def show_configs(self, model, train, dataset: str, data_dir: str | None = None,
                     image_size: int | None = None) -> None:
        """Show the settings of a run (an opened checkpoint, the command line's --display)."""
        v = dict(dataset=dataset, attention=model.attention, spatial_rotation=model.spatial_rotation,
                 read_size=model.read_size,
                 write_size=model.write_size, glimpses=model.glimpses, z_size=model.z_size, hidden=model.enc_size,
                 optimizer=train.optimizer, lr=f"{train.lr:g}", batch_size=train.batch_size, epochs=train.epochs,
                 kl_warmup_steps=train.kl_warmup_steps, device=train.device, seed=train.seed)
        if data_dir is not None:
            v["data_dir"] = data_dir
        if image_size:
            v["image_size"] = image_size
        self.set_values({**self.values(), **v})

    def image_shape(self) -> tuple[int, int, int]:
        for _, key, shape in DATASETS:
            if key == self.dataset.currentData() and shape is not None:
                return shape
        size = self.fields["image_size"].value()
        return (3, size, size)

    def configs(self) -> tuple[DrawConfig, TrainConfig]:
        """The validated configurations; raises ConfigError naming the field at fault."""
        v = self.values()
        try:
            lr = float(v["lr"])
        except ValueError:
            raise ConfigError(f"learning rate '{v['lr']}' is not a number; write e.g. 1e-3", "lr") from None
        if not math.isfinite(lr):
            raise ConfigError("learning rate must be a finite number", "lr")
        model = DrawConfig(image_shape=self.image_shape(), glimpses=v["glimpses"], enc_size=v["hidden"],
                           dec_size=v["hidden"], z_size=v["z_size"], attention=v["attention"],
                           spatial_rotation=v["attention"] == "spatial" and v["spatial_rotation"],
                           read_size=v["read_size"], write_size=v["write_size"]).validate()
        train = TrainConfig(optimizer=v["optimizer"], lr=lr, batch_size=v["batch_size"], epochs=v["epochs"],
                            kl_warmup_steps=v["kl_warmup_steps"], seed=v["seed"], device=v["device"] or "auto")
        train.validate()
        if v["dataset"] == "folder" and not os.path.isdir(v["data_dir"]):
            raise ConfigError("choose the folder of your images (data folder)", "data_dir")
        if v["data_dir"] and v["dataset"] != "folder" and os.path.exists(v["data_dir"]) \
                and not os.path.isdir(v["data_dir"]):
            raise ConfigError(f"data folder {v['data_dir']} is a file; choose a folder", "data_dir")
        return model, train

    # ---- validation --------------------------------------------------------------------------
    def is_valid(self) -> bool:
        return not self._errors

    def error_for(self, name: str) -> str | None:
        return self._errors.get(name)

    def set_locked(self, locked: bool) -> None:
        """While a run is live its settings cannot change under it."""
        for w in self.fields.values():
            w.setEnabled(not locked)
        if not locked:
            self._on_change()  # the image size is only editable for a folder of images

    def apply_preset(self, name: str) -> None:
        """Fill in the dataset and model fields with a preset's (core.presets) values."""
        p = PRESETS[name]
        m = p.model
        self.set_values({**self.values(), "dataset": p.dataset, "attention": m["attention"],
                         "read_size": m["read_size"], "write_size": m["write_size"], "glimpses": m["glimpses"],
                         "z_size": m["z_size"], "hidden": m["enc_size"]})

    def _on_preset(self, index: int) -> None:
        name = self.preset.itemData(index)
        if name is not None:
            self.apply_preset(name)

    def _show_preset(self) -> None:
        """The chooser follows the fields: the preset they match, else "custom"."""
        v = self.values()
        model = {k: v[k] for k in ("glimpses", "z_size", "attention", "read_size", "write_size")}
        preset = matching_preset(v["dataset"], {**model, "enc_size": v["hidden"], "dec_size": v["hidden"]})
        with QSignalBlocker(self.preset):
            self.preset.setCurrentIndex(max(0, self.preset.findData(preset.name if preset else None)))

    def _on_change(self, *_):
        self._show_preset()
        self.fields["image_size"].setEnabled(self.dataset.currentData() == "folder")
        self.labels["image_size"].setEnabled(self.dataset.currentData() == "folder")
        self._validate()
        self.changed.emit()

    def _validate(self):
        self._errors = {}
        try:
            self.configs()
        except ConfigError as e:
            name = {"enc_size": "hidden", "dec_size": "hidden", "image_shape": "image_size"}.get(e.field, e.field)
            self._errors[name or "dataset"] = str(e)
        for name, w in self.fields.items():
            error = self._errors.get(name)
            w.setStyleSheet(INVALID_STYLE if error else "")
            w.setToolTip(error or self.labels[name].toolTip())
        self.error_label.setText(next(iter(self._errors.values()), ""))
        self.error_label.setVisible(bool(self._errors))
        valid = not self._errors
        if valid != self._valid:
            self._valid = valid
            self.validity_changed.emit(valid)


