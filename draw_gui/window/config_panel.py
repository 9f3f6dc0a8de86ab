"""The run configuration form: every setting of the paper's model and of training.

It validates as the user types with core.config's own rules (no torch import, so the window
opens fast), marks the field at fault with the reason, and says whether Start may be pressed.
"""
from __future__ import annotations

import html
import math
import os


from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QSpinBox, QWidget)

from core.config import MAX_SIDE, ConfigError, DrawConfig, Setting, TrainConfig, settings
from core.presets import PAPER, PRESETS, matching_preset

DATASETS = [  # (shown, key, image shape or None when it depends on the folder)
    ("MNIST", "mnist", (1, 28, 28)),
    ("Binarized MNIST (stochastic)", "binarized-mnist", (1, 28, 28)),
    ("Two-digit MNIST (60×60)", "two-digit-mnist", (1, 60, 60)),
    ("Fashion-MNIST", "fashion-mnist", (1, 28, 28)),
    ("CIFAR-10", "cifar10", (3, 32, 32)),
    ("SVHN", "svhn", (3, 32, 32)),
    ("Image folder", "folder", None),
]
DEVICES = ("auto", "cpu", "cuda", "mps")
INVALID_STYLE = "border: 1px solid #e05050; border-radius: 2px;"

SPIN_LIMITS = (-2**31, 2**31 - 1)   # what a QSpinBox holds

# The rows below the data folder, top to bottom. A name is a DrawConfig or TrainConfig field, shown
# with the label, bounds and tooltip declared in core.config, or one of OWN_SPINS. A field declared
# with a label that is not placed here gets its row at the end of its group.
MODEL_ROWS = ("attention", "read_size", "write_size", "glimpses", "z_size", "hidden")
TRAIN_ROWS = ("optimizer", "lr", "batch_size", "epochs", "kl_warmup_steps", "device", "seed")
_LSTM = settings(DrawConfig)["enc_size"]  # --hidden_size's row: both LSTMs
# name: (label, minimum, maximum, tooltip) of the rows that are not one field each
OWN_SPINS = {
    "hidden": ("LSTM units", _LSTM.low, _LSTM.high, "units of the encoder and decoder LSTMs (eq. 5, 7)"),
    "image_size": ("image size", 4, MAX_SIDE, "your images are resized to this many pixels square"),
}


def shown_fields(config_class) -> dict[str, Setting]:
    """The declared settings of config_class's fields that have a row here: those with a label."""
    return {name: s for name, s in settings(config_class).items() if s.label}


def rows(placed: tuple, config_class) -> list[str]:
    """The rows of a group: those placed, then any other field of config_class declared with a label."""
    return list(placed) + [name for name in shown_fields(config_class) if name not in placed]


def spin_range(low, high) -> tuple[int, int]:
    """Declared bounds as a QSpinBox's range (clipped to what one holds)."""
    return (SPIN_LIMITS[0] if low is None else max(int(low), SPIN_LIMITS[0]),
            SPIN_LIMITS[1] if high is None else min(int(high), SPIN_LIMITS[1]))


def _text(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _model_values(model: DrawConfig, dataset: str) -> dict:
    """The dataset and model rows' values for `model` trained on `dataset`."""
    v = {name: getattr(model, name) for name in shown_fields(DrawConfig)}
    v.update(dataset=dataset, spatial_rotation=model.spatial_rotation, hidden=model.enc_size)
    if dataset == "folder":
        v["image_size"] = model.image_shape[1]
    return v


class ConfigPanel(QWidget):
    changed = Signal()
    validity_changed = Signal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.fields: dict[str, QWidget] = {}
        self.setAccessibleName("run settings")
        self.labels: dict[str, QLabel] = {}
        self._errors: dict[str, str] = {}
        self._valid = None
        # The image size an image folder is resized to. For the other data sets the (disabled) field
        # shows their own size instead, and this keeps the user's choice for when they pick a folder.
        self._folder_image_size = 32
        self._settings = {**shown_fields(DrawConfig), **shown_fields(TrainConfig)}
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
            "them afterwards shows \"custom\". Training settings stay as they are (Table 3 has none), but for a "
            "learning rate that a preset sets: two-digit MNIST diverged at draw-gui's default")
        self.dataset = QComboBox()
        for shown, key, _ in DATASETS:
            self.dataset.addItem(shown, key)
        self.dataset.setItemData(self.dataset.findData("two-digit-mnist"),
                                 "two MNIST digits at random places on a 60×60 canvas, made from the MNIST files "
                                 "(the paper's \"MNIST Generation with Two Digits\")", Qt.ItemDataRole.ToolTipRole)
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
        for name in rows(MODEL_ROWS, DrawConfig) + rows(TRAIN_ROWS, TrainConfig) + ["image_size"]:
            if name in OWN_SPINS:
                label, lo, hi, tip = OWN_SPINS[name]
                add(name, label, self._spin(lo, hi), tip)
            else:
                add(name, self._settings[name].label, self._widget(self._settings[name]), self._settings[name].tip)
        self.attention, self.optimizer, self.lr, self.device = (self.fields[n] for n in ("attention", "optimizer",
                                                                                       "lr", "device"))
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #e05050;")
        form.addRow(self.error_label)
        # A model shown read-only (a shipped model, a finished run): what these settings do to it,
        # whether its model is the one they describe, and a button that makes it so.
        self._shown: tuple[str, DrawConfig, str] | None = None   # (name, model, dataset)
        self._locked = False
        self.shown_note = QLabel()
        self.shown_note.setWordWrap(True)
        self.shown_note.setTextFormat(Qt.TextFormat.RichText)
        self.shown_note.setAccessibleName("the model shown and these settings")
        self.use_shown_button = QPushButton("Use its model's settings")
        self.use_shown_button.setToolTip("fill in the dataset and the model's rows (attention, read and write N, "
                                         "glimpses T, latent z, LSTM units) with those of the model shown, so "
                                         "that Start trains a new model like it; the training rows stay as they are")
        self.use_shown_button.clicked.connect(self.use_shown_model)
        form.addRow(self.shown_note)
        form.addRow(self.use_shown_button)
        self.set_values({})
        self.preset.currentIndexChanged.connect(self._on_preset)
        self.dataset.currentIndexChanged.connect(self._on_change)
        self.data_dir.textChanged.connect(self._on_change)
        self._validate()

    def _spin(self, low, high) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(*spin_range(low, high))
        spin.valueChanged.connect(self._on_change)
        return spin

    def _widget(self, s: Setting) -> QWidget:
        """The editor of a field's row, by its type: a number box, a menu of its choices, a text field."""
        if s.name == "attention":   # one menu for attention and spatial_rotation
            w = QComboBox()
            w.addItem("Gaussian (paper)", "gaussian")
            w.addItem("spatial transformer", "spatial")
            w.addItem("spatial transformer + rotation", "spatial+rotation")
            w.addItem("none (whole image)", "none")
            w.currentIndexChanged.connect(self._on_change)
        elif s.name == "device":    # suggestions, or any torch device name typed in
            w = QComboBox()
            w.setEditable(True)
            w.addItems(DEVICES)
            w.currentTextChanged.connect(self._on_change)
        elif s.kind == "int":
            w = self._spin(s.low, s.high)
        elif s.kind == "bool":
            w = QCheckBox()
            w.toggled.connect(self._on_change)
        elif s.choices:
            w = QComboBox()
            w.addItems(s.choices)
            w.currentIndexChanged.connect(self._on_change)
        else:
            w = QLineEdit()
            w.textChanged.connect(self._on_change)
        return w

    def _browse(self):
        folder = QFileDialog.getExistingDirectory(self, "Choose a data folder", self.data_dir.text() or os.getcwd())
        if folder:
            self.data_dir.setText(folder)

    # ---- values ------------------------------------------------------------------------------
    def values(self) -> dict:
        """Plain, JSON-able values (what the settings file keeps)."""
        v = {}
        for name, w in self.fields.items():
            if isinstance(w, QSpinBox):
                v[name] = w.value()
            elif isinstance(w, QCheckBox):
                v[name] = w.isChecked()
            elif name in self._settings and name != "attention":
                v[name] = (w.currentText() if isinstance(w, QComboBox) else w.text()).strip()
        if self.dataset.currentData() != "folder":
            v["image_size"] = self._folder_image_size
        v.update(dataset=self.dataset.currentData(), data_dir=self.data_dir.text().strip(),
                 attention=self.attention.currentData().split("+")[0],
                 spatial_rotation=self.attention.currentData() == "spatial+rotation")
        return v

    def set_values(self, values: dict) -> None:
        defaults = dict({name: s.default for name, s in self._settings.items()}, dataset="mnist", data_dir="",
                        spatial_rotation=DrawConfig.spatial_rotation, hidden=_LSTM.default, image_size=32)
        v = {**defaults, **{k: val for k, val in values.items() if k in defaults}}
        self.blockSignals(True)
        self.dataset.setCurrentIndex(max(0, self.dataset.findData(v["dataset"])))
        try:   # after the data set changed (leaving a folder keeps the field's size): the size asked for
            self._folder_image_size = min(max(int(v["image_size"]), 4), MAX_SIDE)
        except (TypeError, ValueError):
            pass
        self.data_dir.setText(str(v["data_dir"]))
        attention = f"{v['attention']}+rotation" if v["attention"] == "spatial" and v["spatial_rotation"] else v["attention"]
        self.attention.setCurrentIndex(max(0, self.attention.findData(attention)))
        for name, w in self.fields.items():
            if isinstance(w, QSpinBox):
                try:
                    w.setValue(int(v[name]))
                except (TypeError, ValueError):
                    pass
            elif isinstance(w, QCheckBox):
                w.setChecked(v[name] is True)
            elif name in self._settings and name != "attention":
                (w.setCurrentText if isinstance(w, QComboBox) else w.setText)(_text(v[name]))
        self.blockSignals(False)
        self._valid = None   # validity found while signals were blocked: say it again now
        self._on_change()

    def show_configs(self, model, train, dataset: str, data_dir: str | None = None,
                     image_size: int | None = None) -> None:
        """Show the settings of a run (an opened checkpoint, the command line's --display)."""
        v = {**{name: getattr(train, name) for name in shown_fields(type(train))}, **_model_values(model, dataset)}
        if data_dir is not None:
            v["data_dir"] = data_dir
        if image_size:
            v["image_size"] = image_size
        self.set_values({**self.values(), **v})

    # ---- the model shown read-only ------------------------------------------------------------
    def show_model(self, name: str | None, model: DrawConfig | None = None, dataset: str = "") -> None:
        """Say what Start and Continue training do beside a model shown read-only (`name`, its
        `model` and `dataset`), and where these settings differ from it; None: no such model."""
        self._shown = (name, model, dataset) if name is not None and model is not None else None
        self._show_note()

    def shown_differences(self) -> list[str]:
        """The labels of the rows whose values are not the shown model's (dataset and model rows)."""
        if self._shown is None:
            return []
        _, model, dataset = self._shown
        mine, its = self.values(), _model_values(model, dataset)
        if model.attention == "none":   # it reads and writes whole images: read and write N do not matter
            del its["read_size"], its["write_size"]
        differ = {"attention" if name == "spatial_rotation" else name    # one menu for both
                  for name, value in its.items() if mine.get(name) != value}
        if model.enc_size != model.dec_size:   # one row sets both LSTMs: it can never match
            differ.add("hidden")
        return [label.text() for name, label in self.labels.items() if name in differ]

    def use_shown_model(self) -> None:
        """The dataset and model rows take the shown model's values; the training rows stay."""
        if self._shown is not None:
            _, model, dataset = self._shown
            self.set_values({**self.values(), **_model_values(model, dataset)})

    def _show_note(self) -> None:
        differences = self.shown_differences()
        visible = self._shown is not None and not self._locked
        self.shown_note.setVisible(visible)
        self.use_shown_button.setVisible(visible and bool(differences))
        if self._shown is None:
            self.shown_note.setText("")
            return
        text = (f"<b>{html.escape(self._shown[0])}</b> is shown read-only. <b>Start</b> trains a new model with "
                "these settings; <b>Continue training</b> trains it further and takes only the batch size, "
                "epochs, device and data folder from here.<br>")
        if differences:
            text += f"Its model differs from these settings in: {html.escape(', '.join(differences))}."
            model = self._shown[1]
            if model.enc_size != model.dec_size:
                text += (f" Its encoder has {model.enc_size} LSTM units and its decoder {model.dec_size}; "
                         f"{html.escape(self.labels['hidden'].text())} sets both to one size (the command line's "
                         f"<code>draw-gui train --enc_size {model.enc_size} --dec_size {model.dec_size}</code> "
                         "trains one like it).")
        else:
            text += "Its dataset and model are the ones these settings describe."
        self.shown_note.setText(text)

    def image_shape(self) -> tuple[int, int, int]:
        for _, key, shape in DATASETS:
            if key == self.dataset.currentData() and shape is not None:
                return shape
        size = self.fields["image_size"].value()
        return (3, size, size)

    def _field_values(self, v: dict, config_class) -> dict:
        """config_class's fields as the rows show them, numbers read from their text (ConfigError if
        one is not a number); not validated."""
        out = {}
        for name, s in shown_fields(config_class).items():
            out[name] = v[name]
            if s.kind == "float":
                try:
                    out[name] = float(v[name])
                except ValueError:
                    raise ConfigError(f"{s.label} '{v[name]}' is not a number; write e.g. {s.default:g}", name) from None
                if not math.isfinite(out[name]):
                    raise ConfigError(f"{s.label} must be a finite number", name)
            elif s.kind == "str" and not out[name]:
                out[name] = s.default   # an emptied text field: the default (device: auto)
        if config_class is DrawConfig:
            out.update(enc_size=v["hidden"], dec_size=v["hidden"],
                       spatial_rotation=v["attention"] == "spatial" and v["spatial_rotation"])
        return out

    def configs(self) -> tuple[DrawConfig, TrainConfig]:
        """The validated configurations; raises ConfigError naming the field at fault."""
        v = self.values()
        train = TrainConfig(**self._field_values(v, TrainConfig))
        model = DrawConfig(image_shape=self.image_shape(), **self._field_values(v, DrawConfig)).validate()
        train.validate()
        if v["dataset"] == "folder" and not os.path.isdir(v["data_dir"]):
            raise ConfigError("choose the folder of your images (data folder)", "data_dir")
        where = os.path.expanduser(v["data_dir"])
        if v["data_dir"] and v["dataset"] != "folder" and not os.path.exists(where):
            # Never made for the user: a mistyped folder would be created and silently stay empty
            raise ConfigError(f"data folder {v['data_dir']} does not exist; choose the folder that holds the "
                              "data set, or leave it empty for the default cache folder", "data_dir")
        if v["data_dir"] and v["dataset"] != "folder" and not os.path.isdir(where):
            raise ConfigError(f"data folder {v['data_dir']} is a file; choose a folder", "data_dir")
        return model, train

    # ---- validation --------------------------------------------------------------------------
    def is_valid(self) -> bool:
        return not self._errors

    def error_for(self, name: str) -> str | None:
        return self._errors.get(name)

    def set_locked(self, locked: bool) -> None:
        """While a run is live its settings cannot change under it (and Start and Continue are off,
        so the note on the model shown is hidden)."""
        self._locked = locked
        for w in self.fields.values():
            w.setEnabled(not locked)
        if locked:
            self._show_note()
        else:
            self._on_change()  # the image size is only editable for a folder of images (and the note)

    def apply_preset(self, name: str) -> None:
        """Fill in the dataset and model fields with a preset's (core.presets) values; a dataset the
        preset is as much for (binarized MNIST for the MNIST preset) stays."""
        p = PRESETS[name]
        shown = {k: value for k, value in {**p.model, **p.train}.items() if k in self._settings}
        dataset = self.dataset.currentData() if p.fits(self.dataset.currentData()) else p.dataset
        self.set_values({**self.values(), **shown, "dataset": dataset, "hidden": p.model["enc_size"]})

    def _on_preset(self, index: int) -> None:
        name = self.preset.itemData(index)
        if name is not None:
            self.apply_preset(name)

    def _show_preset(self) -> None:
        """The chooser follows the fields: the preset they match, else "custom"."""
        v = self.values()
        preset = matching_preset(v["dataset"], vars(DrawConfig(**self._field_values(v, DrawConfig))))
        with QSignalBlocker(self.preset):
            self.preset.setCurrentIndex(max(0, self.preset.findData(preset.name if preset else None)))

    def _on_change(self, *_):
        self._show_preset()
        self._show_image_size()
        self._show_note()
        self._validate()
        self.changed.emit()

    def _show_image_size(self):
        """An image folder: the size its images are resized to (editable). Another data set: its
        own size (MNIST 28, CIFAR-10 32), shown disabled, since that is the size DRAW trains on."""
        field, folder = self.fields["image_size"], self.dataset.currentData() == "folder"
        if folder and not field.isEnabled():            # back to a folder: the user's size again
            with QSignalBlocker(field):
                field.setValue(self._folder_image_size)
        elif not folder:
            if field.isEnabled():                       # leaving a folder: keep what the user chose
                self._folder_image_size = field.value()
            with QSignalBlocker(field):
                field.setValue(self.image_shape()[1])
        field.setEnabled(folder)
        self.labels["image_size"].setEnabled(folder)

    def _validate(self):
        self._errors = {}
        try:
            self.configs()
        except ConfigError as e:
            name = {"enc_size": "hidden", "dec_size": "hidden", "image_shape": "image_size",
                    "spatial_rotation": "attention"}.get(e.field, e.field)
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


