"""The command line: `draw-gui train | sample | eval`, headless, over `core`; `draw-gui` alone,
or with a checkpoint or a run folder (what a file manager passes), opens the window.

`train` accepts the Torch seed script's option spellings (--read_size, --maxEpochs,
--use_attention false, --backend cpu, ...) and kebab-case ones. Errors in what the user
typed end in one message on stderr and exit code 2, before anything is written.
"""
from __future__ import annotations

import argparse
import errno
import sys
from pathlib import Path

from draw_gui import __version__
from draw_gui.cli.common import (  # noqa: F401  (tests and callers use them from here too)
    EXIT_USAGE, AUTO_COMPILE_STEPS, UsageError, NoDisplay, display_problem, open_window, bool_arg, whole_number,
    count, seconds, checkpoint_arg)

COMMANDS = ("train", "sample", "eval", "reconstruct", "follow", "compare", "models", "history", "filterbank")
CHECKPOINT_SUFFIXES = (".pt", ".pth")  # what `draw-gui PATH` (and a drop on the window) opens as a checkpoint


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (what was wrong, and where the help is)."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _opt(group, *names, **kw):
    """One option under several spellings: the seed's snake/camel case and kebab case."""
    spellings = []
    for n in names:
        for s in (n, n.replace("_", "-")):
            if s not in spellings:
                spellings.append(s)
    group.add_argument(*spellings, default=None, **kw)


def _setting_options(group, config_class, before: dict | None = None, notes: dict | None = None) -> None:
    """An option for each field of config_class declared with cli spellings (core.config.setting),
    in field order, its type from the field's: whole numbers >= 0 or >= 1 as the bounds say, true or
    false, one of the choices. before[name]() adds hand-written options ahead of that field's;
    notes[name] ends its help (what the command line does on its own, such as an automatic default)."""
    from core.config import settings
    types = {"bool": bool_arg, "float": float, "int": int}
    for name, s in settings(config_class).items():
        if name in (before or {}):
            before[name]()
        if not s.cli:
            continue
        kw = dict(dest=s.dest, type=types.get(s.kind), metavar=s.metavar,
                  help=" ".join(filter(None, (s.help, (notes or {}).get(name)))) or None)
        if s.kind == "int" and s.low in (0, 1):
            kw["type"] = whole_number if s.low == 0 else count
        if s.kind == "bool":
            kw.update(nargs="?", const=True, metavar=s.metavar or "BOOL")
        if s.choices:
            kw.update(type=str.lower, choices=s.choices)
        _opt(group, *s.cli, **kw)


def _box_colours_option(group, where: str) -> None:
    from core.export import BOX_PALETTES, DEFAULT_BOX_PALETTE
    choices = ", ".join(f"{name} ({p.read_name} / {p.write_name})" for name, p in BOX_PALETTES.items())
    _opt(group, "--box_colours", type=str.lower, choices=list(BOX_PALETTES), metavar="PALETTE",
         help=f"colours of the read / write boxes {where}: {choices}; default {DEFAULT_BOX_PALETTE} "
              "(the window: View > Box colours)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="draw-gui", allow_abbrev=False,
                usage="%(prog)s [-h] [--version] [CHECKPOINT.pt | RUN_FOLDER]\n"
                      "       %(prog)s {" + ",".join(COMMANDS) + "} ...",
                description="Train and explore DRAW models (Gregor et al. 2015). "
                            "With no command, opens the window; with a checkpoint (.pt) or a run folder, "
                            "opens the window on it (a path named like a command: write ./NAME).")
    p.add_argument("--version", action="version", version=f"draw-gui {__version__}")
    sub = p.add_subparsers(dest="command", metavar="{" + ",".join(COMMANDS) + "}", prog="draw-gui")  # draw-gui train: error…

    from core.presets import PAPER, PRESETS
    presets = "\n".join(f"  {p.name:<15} {p.summary()}" for p in PRESETS.values())
    t = sub.add_parser("train", allow_abbrev=False, help="train a DRAW model (headless, or --display for the window)",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog=f"presets (--preset NAME: the dataset and model of {PAPER}):\n{presets}\n"
                              "Training settings keep draw-gui's defaults (Table 3 gives none). torchvision's "
                              "SVHN is 32x32;\n--image-size 64 scales it to the paper's size (no new detail, ~4x the time).\n"
                              "Table 3 has no row for two-digit MNIST: its preset is the MNIST model on 60x60 images,\n"
                              "at a learning rate of 3e-4 (at the default 1e-3 it diverged).")
    from core.config import DrawConfig, TrainConfig
    m = t.add_argument_group("model (defaults: the paper's MNIST setting)")
    _opt(m, "--preset", metavar="NAME", help=f"the paper's setting for a dataset: {', '.join(PRESETS)} "
         "(listed below); sets --dataset and the model, options given explicitly still win")
    # One option per field declared with cli spellings in core.config; the options that are not one
    # field each (draw_gui.cli.train.SHORTHANDS) are written here, before the fields they set.
    _setting_options(m, DrawConfig, before={
        "enc_size": lambda: _opt(m, "--hidden_size", type=count, metavar="H",
                                 help="encoder and decoder LSTM units (256)"),
        "attention": lambda: _opt(m, "--use_attention", type=bool_arg, nargs="?", const=True, metavar="BOOL",
                                  help="Gaussian attention (default true); false reads and writes whole images")})
    o = t.add_argument_group("optimisation")
    _setting_options(o, TrainConfig, before={
        "compile": lambda: _opt(o, "--threads", type=whole_number,
                                help="CPU threads for torch (default or 0: chosen by measurement)")},
        notes={"compile": f"Default: on for runs of {AUTO_COMPILE_STEPS:,} steps or more"})
    d = t.add_argument_group("data")
    _opt(d, "--dataset", help="mnist (default), binarized-mnist, two-digit-mnist (two digits on 60x60, made from the "
         "MNIST files), fashion-mnist, cifar10, svhn, folder")
    _opt(d, "--data_dir", metavar="DIR", help="where datasets are (or are downloaded to); also $DRAW_GUI_DATA")
    _opt(d, "--folder", metavar="DIR", help="your own images (with --dataset folder)")
    _opt(d, "--image_size", type=count, metavar="PX", help="resize images to PX x PX")
    _opt(d, "--no_download", action="store_true", help="never download; use only files on disk")
    r = t.add_argument_group("output")
    _opt(r, "--out", metavar="DIR", help="run folder: checkpoints, metrics.csv, images (default runs/<dataset>-<time>)")
    _opt(r, "--restore", nargs="?", const="", metavar="CHECKPOINT",
         help="continue from a checkpoint (default: the run folder's checkpoint.pt)")
    _opt(r, "--save_interval", type=count, metavar="EPOCHS", help="checkpoint every N epochs (1)")
    _opt(r, "--save_image", action="store_true", help="write per-glimpse PNGs and a GIF at each checkpoint")
    _opt(r, "--img_per_row", type=count, help="images per row in saved grids (8)")
    _box_colours_option(r, "with --save_image")
    _opt(r, "--log_file", metavar="FILE", help="append progress lines to FILE")
    _opt(r, "--tensorboard", action="store_true", help="also write TensorBoard events into the run folder "
         "(losses, test bound, KL per glimpse, glimpses and samples; needs draw-gui[tensorboard])")
    _opt(r, "--no_eval", action="store_true", help="skip the test-set evaluation at epoch ends")
    _opt(r, "--display", action="store_true", help="open the window and train there")
    _opt(r, "--quiet", action="store_true", help="no progress bar")
    _opt(r, "--follow_interval", type=seconds, metavar="SECONDS", help="append metrics.csv and update run.json "
         "this often, for `draw-gui follow` (5)")
    _opt(r, "--snapshot_interval", type=seconds, metavar="SECONDS", help="write snapshot.npz, the glimpses of "
         "8 test images, this often (30)")
    _opt(r, "--checkpoint_minutes", type=seconds, metavar="M", help="also write checkpoint.pt every M minutes "
         "of training, 0 = only per epoch (10)")

    s = sub.add_parser("sample", allow_abbrev=False, help="draw samples from a checkpoint: grid PNG and drawing GIF")
    s.add_argument("checkpoint", help="a checkpoint file, or a shipped model's name (`draw-gui models`)")
    _opt(s, "--out", metavar="DIR", help="output folder (default: samples/ beside the checkpoint; "
         "NAME-samples/ here for a shipped model)")
    _opt(s, "--num", "-n", type=count, help="how many samples (64)")
    _opt(s, "--seed", type=int)
    _opt(s, "--img_per_row", type=count, help="images per row (8)")
    _opt(s, "--frame_ms", type=count, help="GIF frame time in ms (80)")
    _opt(s, "--gif_count", type=count, help="samples shown in the drawing GIF (16)")
    _box_colours_option(s, "in the drawing GIF")
    _opt(s, "--interpolate", type=count, nargs="?", const=16, metavar="FRAMES",
         help="also a GIF interpolating between random latents (FRAMES frames, default 16)")
    _opt(s, "--linear", action="store_true", help="interpolate linearly instead of spherically")
    _opt(s, "--sweep", type=int, metavar="DIM", help="also a GIF sweeping latent dimension DIM from -3 to 3")
    _opt(s, "--glimpse", type=count, metavar="T", help="sweep DIM only in glimpse T (1-based; default all)")
    _opt(s, "--backend", "--device", dest="device", metavar="DEVICE")

    f = sub.add_parser("follow", allow_abbrev=False, help="open the window following a run folder that "
                       "`draw-gui train --out DIR` is writing (here, synced or mounted)")
    f.add_argument("folder", help="the run folder (holds run.json, metrics.csv, checkpoint.pt)")

    e = sub.add_parser("eval", allow_abbrev=False, help="test-set NLL bound of a checkpoint")
    e.add_argument("checkpoint", help="a checkpoint file, or a shipped model's name (`draw-gui models`)")
    e.add_argument("-k", type=whole_number, default=0, help="also an importance-weighted estimate with K samples")
    _opt(e, "--data_dir", metavar="DIR", help="where the dataset is (default: where training found it)")
    _opt(e, "--folder", metavar="DIR", help="the image folder (default: the one it was trained on)")
    _opt(e, "--batch_size", type=count)
    _opt(e, "--no_download", action="store_true", help="never download; use only files on disk")
    _opt(e, "--limit", type=count, metavar="M", help="evaluate the first M test images only")
    _opt(e, "--json", action="store_true", help="print one JSON object")
    _opt(e, "--backend", "--device", dest="device", metavar="DEVICE")

    from draw_gui.cli.compare import add_compare_parser
    add_compare_parser(sub)
    from draw_gui.cli.history import add_history_parser
    add_history_parser(sub)
    from draw_gui.cli.filterbank import add_filterbank_parser
    add_filterbank_parser(sub)
    from draw_gui.cli.reconstruct import add_reconstruct_parser
    add_reconstruct_parser(sub)
    mo = sub.add_parser("models", allow_abbrev=False, help="the trained models that ship with draw-gui, "
                        "with their model cards' figures")
    _opt(mo, "--json", action="store_true", help="print the model cards as JSON")
    return p


def run_models(args) -> int:
    import json
    from draw_gui.models.shipped import shipped_models
    models = shipped_models()
    if args.json:
        print(json.dumps([{"name": m.name, "checkpoint": str(m.checkpoint), **m.card} for m in models], indent=1))
        return 0
    if not models:
        print("no shipped models found (a damaged installation? reinstall draw-gui)")
        return 1
    for m in models:
        t = m.card.get("training", {})
        print(f"{m.name}\n  {m.summary()}")
        if t:
            hours = t.get("wall_time_s", 0) / 3600
            print(f"  trained on {t.get('hardware', '?')} for {hours:.2f} h ({t.get('images_seen', 0):,} images), "
                  f"torch {t.get('torch', '?')}, {t.get('date', '?')}")
        print(f"  {m.checkpoint}")
    print("Use a name wherever a checkpoint goes: draw-gui sample mnist, draw-gui eval mnist, "
          "draw-gui compare mnist mnist-noattention, draw-gui train --restore mnist --out DIR")
    return 0


def path_to_open(argv: list[str]) -> str | None:
    """`draw-gui PATH`: the one argument when it is not a command or an option (a file manager's
    Exec=draw-gui %f), else None (the parser reads argv)."""
    if len(argv) == 1 and argv[0] and not argv[0].startswith("-") and argv[0] not in COMMANDS:
        return argv[0]
    return None


def window_target(text: str) -> tuple[str, Path]:
    """What `draw-gui PATH` opens: ("checkpoint", file) or ("run", folder); UsageError otherwise."""
    path = Path(text).expanduser()
    hint = (f"give a draw-gui checkpoint (.pt) or a run folder (`draw-gui train --out DIR` writes one), "
            f"or a command: {', '.join(COMMANDS)} (see 'draw-gui --help')")
    if not path.exists():
        raise UsageError(f"{text}: no such file or folder, and not a command; {hint}")
    if path.is_dir():
        from core.runfolder import CHECKPOINT_NAME, is_run_folder
        if is_run_folder(path) or (path / CHECKPOINT_NAME).is_file():
            return "run", path
        raise UsageError(f"{text}: a folder, but not a run folder (no run.json, metrics.csv or {CHECKPOINT_NAME} "
                         f"in it); {hint}")
    if path.is_file() and path.suffix.lower() in CHECKPOINT_SUFFIXES:
        return "checkpoint", path
    raise UsageError(f"{text}: not a checkpoint (draw-gui saves them as .pt files); {hint}")


def _input_errors() -> tuple[type[Exception], ...]:
    """The errors that mean bad input: one line, exit 2. Their modules import torch (seconds on a
    cold start), so they are imported only once something was raised: `draw-gui models` and the
    window of `draw-gui follow` come up without waiting for torch."""
    from core.checkpoint import CheckpointError
    from core.data import DataUnavailable
    from core.model import ConfigError
    return UsageError, ConfigError, DataUnavailable, CheckpointError


def main(argv: list[str]) -> int:
    """Run one command; returns the exit code (0 done, 1 failed while running, 2 bad input,
    130 interrupted). Usage errors, --help and --version return instead of raising SystemExit."""
    argv = list(argv)
    if (text := path_to_open(argv)) is not None:  # `draw-gui CHECKPOINT.pt`, `draw-gui RUN_FOLDER`
        try:
            _, path = window_target(text)
            return open_window(open_path=str(path))
        except UsageError as e:
            print(f"draw-gui: {e}", file=sys.stderr)
            return EXIT_USAGE
        except NoDisplay as e:
            print(f"draw-gui: {e}", file=sys.stderr)
            return 1
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return 0 if e.code is None else e.code if isinstance(e.code, int) else EXIT_USAGE
    if args.command is None:  # plain `draw-gui`: the window
        try:
            return open_window()
        except NoDisplay as e:
            print(f"draw-gui: {e}", file=sys.stderr)
            return 1
    try:
        if args.command == "follow":
            from draw_gui.follow.follower import check_run_folder
            problem = check_run_folder(args.folder)
            if problem:
                raise UsageError(problem)
            return open_window(follow=args.folder)
        if args.command == "compare":
            from draw_gui.cli.compare import run_compare
            return run_compare(args)
        if args.command == "models":
            return run_models(args)
        if args.command == "reconstruct":
            from draw_gui.cli.reconstruct import run_reconstruct
            return run_reconstruct(args)
        if args.command == "filterbank":
            from draw_gui.cli.filterbank import run_filterbank
            return run_filterbank(args)
        if args.command == "history":
            from draw_gui.cli.history import run_history
            return run_history(args)
        if args.command == "train":
            from draw_gui.cli.train import run_train
            return run_train(args)
        from draw_gui.cli.tools import run_eval, run_sample
        return run_sample(args) if args.command == "sample" else run_eval(args)
    except UsageError as e:   # first: what the user typed is wrong, and torch need not start to say so
        print(f"draw-gui: {e}", file=sys.stderr)
        return EXIT_USAGE
    except _input_errors() as e:
        print(f"draw-gui: {e}", file=sys.stderr)
        return EXIT_USAGE
    except NoDisplay as e:
        print(f"draw-gui: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("draw-gui: interrupted", file=sys.stderr)
        return 130
    except OSError as e:
        where = f" {e.filename}" if getattr(e, "filename", None) else ""
        if e.errno == errno.ENOSPC:
            hint = " Free some space or choose another folder."
        elif e.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
            hint = " Choose another folder or file."
        else:
            hint = ""
        print(f"draw-gui: could not write or read{where or ' a file'}: {e.strerror or e}.{hint}", file=sys.stderr)
        return 1
