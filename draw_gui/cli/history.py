"""`draw-gui history RUN --out learning.gif`: replay how a run learnt, from its history.npz.

Every frame is one recorded step (core/history.py): the run's fixed test digits with glimpse T's
read box beside their final canvases with its write box, and samples from the same noise.
"""
from __future__ import annotations

from pathlib import Path

from draw_gui.cli.common import UsageError


def add_history_parser(sub) -> None:
    h = sub.add_parser("history", allow_abbrev=False, prog="draw-gui history",
                       help="replay how a run learnt: a GIF of its fixed digits and samples, step by step")
    h.add_argument("run", metavar="RUN", help="a run folder (or its history.npz)")
    h.add_argument("--out", metavar="GIF", help="where to write the GIF (default RUN/learning.gif)")
    h.add_argument("--frame-ms", "--frame_ms", dest="frame_ms", type=int, default=400, help="time per frame (400)")
    h.add_argument("--scale", type=int, default=4, help="pixel zoom of the digits (4)")


def run_history(args) -> int:
    from core.export import save_frames_gif
    from core.history import HISTORY_NAME, TrainingHistory, replay_frames
    path = Path(args.run).expanduser()
    file = path / HISTORY_NAME if path.is_dir() else path
    if not file.is_file():
        raise UsageError(f"{path}: no {HISTORY_NAME} there; runs record one as they train "
                         "(draw-gui train --out DIR, or the window's runs)")
    if args.frame_ms < 10 or not 1 <= args.scale <= 16:
        raise UsageError("--frame-ms must be at least 10 and --scale between 1 and 16")
    try:
        history = TrainingHistory.load(file)
    except ValueError as e:
        raise UsageError(str(e)) from None
    if not len(history):
        raise UsageError(f"{file} has no entries yet; train the run for a step first")
    out = Path(args.out).expanduser() if args.out else file.parent / "learning.gif"
    frames = replay_frames(history, scale=args.scale)
    save_frames_gif(frames, out, frame_ms=args.frame_ms, hold_last_ms=2000)
    print(f"wrote {out} ({len(frames)} frames: steps {history.steps[0]:,} to {history.steps[-1]:,})")
    return 0
