"""Each setting is declared once, in core.config (dataclass field metadata), and the command line's
options, the restore check, the Run panel's rows, preset matching and validate()'s bounds are all
made from that declaration: these tests fail when one of them misses a declared field."""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
from dataclasses import fields, replace

import pytest

from core.config import ConfigError, DrawConfig, TrainConfig, settings
from core.presets import MODEL_FIELDS, PRESETS, matching_preset
from draw_gui.cli.main import build_parser
from draw_gui.cli.train import (SHORTHANDS, _changed_model_options, _model_and_train_config, _saved_value,
                                preset_summary)
from tests.conftest import REPO

CONFIGS = (DrawConfig, TrainConfig)
DECLARED = [(cls, s) for cls in CONFIGS for s in settings(cls).values()]
WITH_CLI = [(cls, s) for cls, s in DECLARED if s.cli]


def _id(item) -> str:
    return f"{item[0].__name__}.{item[1].name}"


def _train_help() -> str:
    subcommands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return subcommands.choices["train"].format_help()


def _other_value(s):
    """A valid value of the field that is not its default, and how to type it."""
    if s.kind == "bool":
        return (not s.default), str(not s.default).lower()
    if s.choices:
        value = next(c for c in s.choices if c != s.default)
        return value, value
    if s.kind == "int":
        value = s.default + 1 if s.high is None or s.default + 1 <= s.high else s.default - 1
        if s.name in ("read_size", "write_size"):
            value = 3                          # within the 28x28 image, >= 2 for Gaussian attention
        return value, str(value)
    if s.kind == "float":
        value = s.default / 2 if s.default else 0.5
        return value, repr(value)
    return "cpu", "cpu"                       # a device name


def test_settings_are_declared_for_the_fields_that_need_them():
    assert {"glimpses", "enc_size", "dec_size", "z_size", "attention", "read_size", "write_size",
            "spatial_rotation"} <= set(settings(DrawConfig))
    for cls, s in DECLARED:
        assert s.kind in ("int", "float", "bool", "str"), (cls, s.name)
        if s.kind == "int":
            assert s.low is not None and s.high is not None and s.low <= s.default <= s.high, s.name
        if s.choices:
            assert s.default in s.choices, s.name


@pytest.mark.parametrize("item", WITH_CLI, ids=_id)
def test_every_declared_option_is_in_train_help_with_its_help_text(item):
    _, s = item
    text = _train_help()
    flat = " ".join(text.split())
    for spelling in s.cli:
        for form in {spelling, spelling.replace("_", "-")}:
            assert re.search(rf"{re.escape(form)}\b", text), form
    if s.help:
        assert " ".join(s.help.split()) in flat
    if s.metavar:
        assert f"{s.cli[0]} {s.metavar}" in text


@pytest.mark.parametrize("item", WITH_CLI, ids=_id)
def test_every_declared_option_sets_its_field(item):
    cls, s = item
    value, typed = _other_value(s)
    for spelling in {*s.cli, *(c.replace("_", "-") for c in s.cli)}:
        args = build_parser().parse_args(["train", spelling, typed])
        model, train = _model_and_train_config(args, (1, 28, 28))
        assert getattr(model if cls is DrawConfig else train, s.name) == value, spelling
        assert getattr(args, s.dest) is not None


def test_the_defaults_the_help_texts_state_are_the_declared_ones():
    checked = 0
    for _, s in WITH_CLI:
        stated = re.search(r"\(default ([^)]+)\)$|\((\d[\d.e-]*)\)$|\bdefault (\w+)$", s.help or "")
        if not stated:
            continue
        text = next(g for g in stated.groups() if g)
        assert (str(s.default) == text if isinstance(s.default, str) else
                s.default == (text == "true") if isinstance(s.default, bool) else
                float(text) == s.default), (s.name, text)
        checked += 1
    assert checked >= 10


def test_shorthands_are_options_too_and_a_field_option_overrides_them():
    text = _train_help()
    assert all(f"--{name}" in text for name in SHORTHANDS)
    args = build_parser().parse_args(["train", "--hidden_size", "32", "--dec_size", "16", "--use_attention", "false"])
    model, _ = _model_and_train_config(args, (1, 28, 28))
    assert (model.enc_size, model.dec_size, model.attention) == (32, 16, "none")
    args = build_parser().parse_args(["train", "--use_attention", "false", "--attention", "spatial"])
    assert _model_and_train_config(args, (1, 28, 28))[0].attention == "spatial"


@pytest.mark.parametrize("item", [i for i in WITH_CLI if i[0] is DrawConfig], ids=_id)
def test_restoring_refuses_a_changed_model_option_and_accepts_the_same_value(item):
    _, s = item
    value, typed = _other_value(s)
    args = build_parser().parse_args(["train", s.cli[0], typed])
    saved = DrawConfig().to_dict()
    assert _changed_model_options(args, saved) == [s.dest]
    assert _saved_value(s.dest, saved) == f"{s.name} {saved[s.name]}"
    assert _changed_model_options(args, {**saved, s.name: value}) == []
    if s.name == "spatial_rotation":   # a checkpoint from before the field: its default
        del saved[s.name]
        assert _changed_model_options(args, saved) == [s.dest]


def test_restoring_checks_the_shorthands_against_every_field_they_set():
    saved = DrawConfig(enc_size=32, dec_size=32, attention="none").to_dict()
    parse = build_parser().parse_args
    assert _changed_model_options(parse(["train", "--hidden_size", "32", "--use_attention", "false"]), saved) == []
    assert _changed_model_options(parse(["train", "--hidden_size", "32"]), {**saved, "dec_size": 16}) == ["hidden_size"]
    assert _changed_model_options(parse(["train", "--use_attention"]), saved) == ["use_attention"]
    assert _saved_value("hidden_size", saved) == "enc_size 32"
    assert _saved_value("use_attention", saved) == "attention none"


# ---- presets -----------------------------------------------------------------------------------
def test_preset_fields_are_the_flagged_ones_and_every_preset_sets_them():
    assert MODEL_FIELDS == tuple(s.name for s in settings(DrawConfig).values() if s.preset)
    assert set(MODEL_FIELDS) >= {"glimpses", "enc_size", "dec_size", "z_size", "attention", "read_size",
                                 "write_size"}
    for preset in PRESETS.values():
        assert set(preset.model) == set(MODEL_FIELDS)
        DrawConfig(image_shape=(1, preset.size, preset.size), **preset.model).validate()


@pytest.mark.parametrize("name", MODEL_FIELDS)
def test_preset_matching_uses_the_flagged_fields(name):
    preset = PRESETS["cifar10"]
    model = vars(DrawConfig(**preset.model))
    assert matching_preset("cifar10", model) is preset
    other = "none" if name == "attention" else model[name] + 1
    assert matching_preset("cifar10", {**model, name: other}) is None
    assert matching_preset("cifar10", {**model, "learn_init_canvas": False}) is preset   # not a preset field


def test_the_mnist_preset_is_the_papers_model_on_binarized_mnist_too(panel):
    """The paper's MNIST figures are on binarized MNIST: the MNIST model there is the MNIST preset,
    in the panel's chooser and on the command line, and choosing the preset keeps that dataset."""
    mnist, model = PRESETS["mnist"], vars(DrawConfig(**PRESETS["mnist"].model))
    assert matching_preset("binarized-mnist", model) is mnist and matching_preset("mnist", model) is mnist
    assert matching_preset("fashion-mnist", model) is None
    assert matching_preset("binarized-mnist", vars(DrawConfig(**PRESETS["cifar10"].model))) is None
    assert preset_summary(mnist, DrawConfig(**mnist.model), "binarized-mnist") == "preset mnist (DRAW Table 3); "
    assert "changed: dataset mnist -> fashion-mnist" in preset_summary(mnist, DrawConfig(**mnist.model),
                                                                        "fashion-mnist")
    panel.set_values({**panel.values(), "dataset": "binarized-mnist", "glimpses": 8})
    assert panel.preset.currentText() == "custom"
    panel.preset.setCurrentIndex(panel.preset.findData("mnist"))
    assert panel.values()["dataset"] == "binarized-mnist" and panel.values()["glimpses"] == 64
    assert panel.preset.currentText() == "MNIST (paper)"
    panel.set_values({**panel.values(), "dataset": "fashion-mnist"})
    assert panel.preset.currentText() == "custom"
    panel.preset.setCurrentIndex(panel.preset.findData("mnist"))
    assert panel.values()["dataset"] == "mnist"


def test_preset_summary_names_every_preset_field_it_changed():
    preset = PRESETS["mnist"]
    cfg = DrawConfig(**preset.model)
    assert preset_summary(preset, cfg, "mnist") == "preset mnist (DRAW Table 3); "
    for name in MODEL_FIELDS:
        s = settings(DrawConfig)[name]
        assert s.short, name
        other = "none" if name == "attention" else getattr(cfg, name) + 1
        summary = preset_summary(preset, replace(cfg, **{name: other}), "mnist")
        assert f"{s.short} {preset.model[name]} -> {other}" in summary, summary
    both = preset_summary(preset, replace(cfg, enc_size=16, dec_size=16), "mnist")
    assert "changed: LSTM 256 -> 16)" in both


# ---- validate() ----------------------------------------------------------------------------------
@pytest.mark.parametrize("item", [i for i in DECLARED if i[1].kind == "int"], ids=_id)
def test_validate_holds_whole_numbers_to_the_declared_bounds(item):
    cls, s = item
    base = dict(attention="none") if cls is DrawConfig else {}
    word = s.name.replace("_", " ") if cls is TrainConfig else s.name
    with pytest.raises(ConfigError, match=f"{word} must be at most") as e:
        cls(**base, **{s.name: s.high + 1}).validate()
    assert e.value.field == s.name
    with pytest.raises(ConfigError, match=f"{word} must be at least {s.low}"):
        cls(**base, **{s.name: s.low - 1}).validate()
    if cls is TrainConfig:    # DrawConfig's may be out of memory at the upper bound: checked elsewhere
        cls(**{s.name: s.high}).validate()
        cls(**{s.name: s.low}).validate()


def test_the_special_checks_keep_their_messages():
    with pytest.raises(ConfigError, match=r"read_size 1: Gaussian attention needs N >= 2"):
        DrawConfig(read_size=1).validate()
    with pytest.raises(ConfigError, match=r"write_size 0: spatial attention needs 1 <= N <= 28"):
        DrawConfig(attention="spatial", write_size=0).validate()
    with pytest.raises(ConfigError, match="learning rate must be a positive number"):
        TrainConfig(lr=0.0).validate()
    with pytest.raises(ConfigError, match=r"lr decay must be in \(0, 1\]"):
        TrainConfig(lr_decay=1.5).validate()
    with pytest.raises(ConfigError, match="grad_clamp must not be negative"):
        TrainConfig(grad_clamp=-1.0).validate()
    with pytest.raises(ConfigError, match="unknown optimizer 'adamw'; choose one of adam, sgd, rmsprop"):
        TrainConfig(optimizer="adamw").validate()
    with pytest.raises(ConfigError, match="spatial_rotation must be true or false"):
        DrawConfig(spatial_rotation="yes").validate()


# ---- the Run panel -------------------------------------------------------------------------------
@pytest.fixture
def panel(qtbot):
    from draw_gui.window.config_panel import ConfigPanel
    p = ConfigPanel()
    qtbot.addWidget(p)
    return p


def test_every_field_declared_with_a_label_has_its_panel_row(panel):
    from PySide6.QtWidgets import QSpinBox
    from draw_gui.window.config_panel import spin_range
    shown = [(cls, s) for cls, s in DECLARED if s.label]
    assert {s.name for _, s in shown} >= {"attention", "read_size", "write_size", "glimpses", "z_size",
                                          "optimizer", "lr", "batch_size", "epochs", "kl_warmup_steps",
                                          "device", "seed"}
    for _, s in shown:
        assert panel.labels[s.name].text() == s.label
        assert panel.labels[s.name].toolTip() == s.tip and panel.fields[s.name].toolTip() == s.tip
        if s.kind == "int":
            spin = panel.fields[s.name]
            assert isinstance(spin, QSpinBox)
            assert (spin.minimum(), spin.maximum()) == spin_range(s.low, s.high)
            if -2**31 <= s.low and s.high < 2**31:     # all but the seed's: a QSpinBox holds 32 bits
                assert (spin.minimum(), spin.maximum()) == (s.low, s.high), s.name
    lstm = panel.fields["hidden"]
    for name in ("enc_size", "dec_size"):
        assert (lstm.minimum(), lstm.maximum()) == (settings(DrawConfig)[name].low, settings(DrawConfig)[name].high)
    assert panel.fields["optimizer"].count() == len(settings(TrainConfig)["optimizer"].choices)


TODAYS_ROWS = ["preset", "dataset", "data folder", "attention", "read N", "write N", "glimpses T", "latent z",
               "LSTM units", "optimizer", "learning rate", "batch size", "epochs", "KL warm-up", "device", "seed",
               "image size"]


def test_the_panel_rows_keep_their_order(panel):
    from PySide6.QtWidgets import QFormLayout
    form = panel.layout()
    # rows with a label; below them span the error line and the note on a model shown read-only
    labels = [item.widget().text() for i in range(form.rowCount())
              if (item := form.itemAt(i, QFormLayout.ItemRole.LabelRole)) is not None]
    # a field declared later with a label may add a row at the end of its group
    assert [label for label in labels if label in TODAYS_ROWS] == TODAYS_ROWS
    assert labels[:9] == TODAYS_ROWS[:9] and labels[-1] == "image size"


def test_the_panel_shows_and_returns_every_row_field(panel):
    model = DrawConfig(glimpses=12, enc_size=48, dec_size=48, z_size=7, attention="spatial", read_size=3,
                       write_size=4, spatial_rotation=True)
    train = TrainConfig(optimizer="rmsprop", lr=2e-4, batch_size=16, epochs=3, kl_warmup_steps=9, device="cpu",
                        seed=5)
    panel.show_configs(model, train, "mnist")
    got_model, got_train = panel.configs()
    assert got_model == model
    for s in settings(TrainConfig).values():
        if s.label:
            assert getattr(got_train, s.name) == getattr(train, s.name), s.name
    assert panel.values()["lr"] == "0.0002"


def test_the_cli_module_does_not_import_qt():
    code = ("import sys, draw_gui.cli.main, core.config, core.presets; "
            "bad = [m for m in sys.modules if m.startswith('PySide6')]; print(bad); sys.exit(1 if bad else 0)")
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_fields_without_a_declaration_are_only_the_known_ones():
    """A new field gets a Setting (its option, bounds, row): only these are left without one."""
    bare = {(cls.__name__, f.name) for cls in CONFIGS for f in fields(cls) if "setting" not in f.metadata}
    assert bare == {("DrawConfig", "image_shape"), ("DrawConfig", "learn_init_canvas"),
                    ("DrawConfig", "learn_init_state"), ("TrainConfig", "momentum")}


def test_the_panel_names_where_it_differs_from_a_model_shown_and_takes_its_model(panel):
    """A model shown read-only, trained on an image folder at 48 pixels with a rotating spatial
    transformer: every row that is not its value is named; the button fills in the model's rows."""
    panel.show_configs(DrawConfig(), TrainConfig(lr=3e-4, batch_size=16), "mnist")
    model = DrawConfig(image_shape=(3, 48, 48), glimpses=12, enc_size=48, dec_size=48, z_size=7,
                       attention="spatial", read_size=3, write_size=4, spatial_rotation=True)
    panel.show_model("run faces", model, "folder")
    assert not panel.shown_note.isHidden() and "run faces" in panel.shown_note.text()
    assert panel.shown_differences() == ["dataset", "attention", "read N", "write N", "glimpses T", "latent z",
                                         "LSTM units", "image size"]
    panel.use_shown_button.click()
    assert panel.shown_differences() == [] and panel.use_shown_button.isHidden()
    v = panel.values()
    assert (v["dataset"], v["image_size"], v["lr"], v["batch_size"]) == ("folder", 48, "0.0003", 16)
    assert panel.image_shape() == (3, 48, 48)
    # without attention, read and write N do not matter: they are not named
    panel.show_model("plain", DrawConfig(attention="none", read_size=9, write_size=9), "mnist")
    panel.set_values({**panel.values(), "dataset": "mnist", "attention": "none", "spatial_rotation": False,
                      "glimpses": 64, "z_size": 100, "hidden": 256})
    assert panel.shown_differences() == []
    # encoder and decoder LSTMs of different sizes (the command line's --enc_size/--dec_size): the
    # one row sets both, so it always differs, and the note says how to train one like it
    panel.show_model("uneven", DrawConfig(attention="none", enc_size=256, dec_size=128), "mnist")
    assert panel.shown_differences() == ["LSTM units"] and not panel.use_shown_button.isHidden()
    assert "encoder has 256 LSTM units and its decoder 128" in panel.shown_note.text()
    assert "--enc_size 256 --dec_size 128" in panel.shown_note.text()
    panel.use_shown_button.click()
    assert panel.values()["hidden"] == 256 and panel.shown_differences() == ["LSTM units"]
    panel.show_model("even", DrawConfig(attention="none"), "mnist")
    assert panel.shown_differences() == [] and "encoder has" not in panel.shown_note.text()
    # locked while a run loads or trains: Start and Continue are off, so the note is hidden
    panel.set_locked(True)
    assert panel.shown_note.isHidden()
    panel.set_locked(False)
    assert not panel.shown_note.isHidden()
    panel.show_model(None)
    assert panel.shown_note.isHidden() and panel.shown_note.text() == ""
