"""`draw-gui compare RUN RUN [...]`: the window's Compare tab on those runs, a table of their
numbers (--table), or the Compare tab rendered to a PNG without a screen (--save)."""
from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path

from draw_gui.cli.common import UsageError, count
from draw_gui.text import format_duration

SAVE_SIZE = (1400, 900)
SAVE_TIMEOUT_S = 180       # loading checkpoints and test images on a busy 2-core machine


def add_compare_parser(sub) -> None:
    c = sub.add_parser("compare", allow_abbrev=False,
                       help="compare runs: the window's Compare tab, a table (--table) or a PNG (--save)",
                       description="Compare training runs side by side: loss curves, glimpses at the same t, "
                                   "samples from the same seed. RUN is a run folder (`draw-gui train --out DIR`), a shipped model's name, "
                                   "or a checkpoint file in one.")
    c.add_argument("runs", nargs="+", metavar="RUN")
    c.add_argument("--table", action="store_true", help="print a table of the runs' numbers; no window")
    c.add_argument("--save", metavar="PNG", help="render the Compare tab to PNG (no screen needed) and exit")
    c.add_argument("--size", default=f"{SAVE_SIZE[0]}x{SAVE_SIZE[1]}", metavar="WxH",
                   help=f"size of the --save image in pixels (default {SAVE_SIZE[0]}x{SAVE_SIZE[1]})")
    c.add_argument("--seed", type=int, default=0, help="noise seed of the samples (default 0)")
    c.add_argument("--t", type=count, metavar="T", help="the glimpse shown (default: the last)")
    c.add_argument("--series", choices=("total", "Lx", "Lz", "nll"), default="total",
                   help="the loss plotted: total, Lx, Lz, or nll (the test NLL bound)")
    c.add_argument("--by-time", action="store_true", help="x axis: training time instead of step")
    c.add_argument("--samples", type=int, choices=(16, 64), default=64, help="samples per run (16 or 64)")


def check_runs(paths) -> list[tuple[Path, dict | None]]:
    """(folder, checkpoint or None) of every run; UsageError / CheckpointError name the bad one."""
    from core.checkpoint import checkpoint_configs, load_checkpoint
    from core.compare import RunError, resolve_run
    from core.runfolder import CHECKPOINT_NAME
    runs = []
    from draw_gui.models.shipped import run_or_model
    for p in paths:
        try:
            folder = resolve_run(run_or_model(p))
        except RunError as e:
            raise UsageError(str(e)) from None
        if any(folder == f for f, _ in runs):
            raise UsageError(f"{p}: the run {folder} is given twice; give each run once")
        ckpt_path = folder / CHECKPOINT_NAME
        ckpt = load_checkpoint(ckpt_path) if ckpt_path.exists() else None
        if ckpt is not None:
            checkpoint_configs(ckpt, ckpt_path)   # its settings are checked before anything is built from them
        runs.append((folder, ckpt))
    return runs


def run_compare(args) -> int:
    runs = check_runs(args.runs)
    if args.table:
        from core.compare import run_stats
        print(format_table([run_stats(folder, ckpt) for folder, ckpt in runs]))
        return 0
    if args.save:
        return save_png(args, [folder for folder, _ in runs])
    from draw_gui.cli.common import open_window
    return open_window(compare=[str(folder) for folder, _ in runs])


def format_table(stats) -> str:
    """core.compare.RunStats as a plain-text table, one row a run, columns aligned."""
    def num(v, fmt):
        return "–" if v is None or (isinstance(v, float) and not math.isfinite(v)) else format(v, fmt)

    from core.compare import FINAL_WINDOW, summary
    header = ("run", "steps", "epochs", f"loss (last {FINAL_WINDOW})", "best test NLL", "at step",
              "time", "img/s", "model")
    body = [(s.name, f"{s.steps:,}", num(s.epochs, "g"), num(s.final_loss, ".2f"), num(s.best_nll, ".2f"),
             f"{s.best_nll_step:,}" if math.isfinite(s.best_nll) else "–", format_duration(s.time_s),
             num(s.images_per_s, ",.0f"), summary(s.settings) + _lstm(s.settings)) for s in stats]
    widths = [max(len(r[i]) for r in (header, *body)) for i in range(len(header))]
    left = {0, len(header) - 1}   # names and the model read left to right; numbers align right
    lines = ["  ".join(c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in (header, *body)]
    return "\n".join(line.rstrip() for line in lines)


def _lstm(settings: dict) -> str:
    enc, dec = settings.get("enc_size"), settings.get("dec_size")
    if enc is None:
        return ""
    return f" · LSTM {enc}" if enc == dec else f" · LSTM {enc}/{dec}"


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--size {text}: give WIDTHxHEIGHT in pixels, e.g. 1400x900") from None
    if not (400 <= w <= 8000 and 300 <= h <= 8000):
        raise UsageError(f"--size {text}: use 400..8000 x 300..8000 pixels")
    return w, h


def save_png(args, folders) -> int:
    """Build the Compare tab offscreen, wait for every run's curves, glimpses and samples, grab it."""
    size = _size(args.size)
    out = Path(args.save)
    if out.suffix.lower() != ".png":
        raise UsageError(f"--save {out}: the image is a PNG; give a name ending in .png")
    if out.is_dir():
        raise UsageError(f"--save {out} is a folder; give a file name ending in .png")
    os.environ["QT_QPA_PLATFORM"] = "offscreen"      # no screen needed, and none is used
    from PySide6.QtWidgets import QApplication
    app = QApplication.instance() or QApplication([sys.argv[0]])
    from core.files import atomic_path
    from draw_gui.compare.view import CompareView
    view = CompareView()
    try:
        view.plot.series, view.plot.x_mode = args.series, "time" if args.by_time else "step"
        view.count_combo.setCurrentIndex(view.count_combo.findData(args.samples))
        view.seed = args.seed
        for folder in folders:
            view.add_run(folder)
        view.resize(*size)
        view.show()
        deadline = time.monotonic() + SAVE_TIMEOUT_S
        while view.busy() and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)
        if view.busy():
            print(f"draw-gui: the runs did not finish loading within {SAVE_TIMEOUT_S} s; saving what is shown",
                  file=sys.stderr)
        view.set_t(args.t or view.max_glimpses())
        view.plot.refresh()
        view.plot.show_values_at(max((view.plot.curve_data(i)[0][-1:].max(initial=0) for i in view.run_ids()),
                                     default=0))   # the read-out at the end of the longest run
        app.processEvents()
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(out) as tmp:
            if not view.grab().save(str(tmp), "PNG"):
                raise OSError(f"could not write {out}")
    finally:
        view.shutdown()
    print(f"wrote {out} ({size[0]}x{size[1]}, {len(folders)} runs)")
    return 0
