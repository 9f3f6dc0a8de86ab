"""`draw-gui reconstruct MODEL IMAGE --out DIR`: how a model reads one image of yours.

Writes DIR/glimpses.gif (the model reading and redrawing the image, glimpse by glimpse, with the read
and write boxes: the Glimpses tab's GIF), DIR/reconstruction.png (the image and the mean path's
reconstruction side by side) and DIR/bound.txt, and prints the NLL bound (nats) and the KL of every
glimpse. IMAGE is an image file (centre-cropped, resized to the model's size, greyscale for a
1-channel model, dark ink on a light background inverted unless --invert no) or mnist:K, the K-th
digit of the embedded MNIST test sample. The bound is core.reconstruct.read_image's: the mean over
--samples fixed draws of the noise (seed --seed), so it is the same on every run.
"""
from __future__ import annotations

import json
from pathlib import Path

from draw_gui.cli.common import UsageError, checkpoint_arg, count

MNIST_PREFIX = "mnist:"


def add_reconstruct_parser(sub) -> None:
    from core.export import BOX_PALETTES
    from core.reconstruct import DEFAULT_SAMPLES, DEFAULT_SEED
    r = sub.add_parser("reconstruct", allow_abbrev=False,
                       help="how a model reads one image: glimpse GIF, reconstruction and NLL bound")
    r.add_argument("checkpoint", metavar="MODEL", help="a checkpoint file, or a shipped model's name (`draw-gui models`)")
    r.add_argument("image", metavar="IMAGE", help="an image file, or mnist:K (digit K of the embedded MNIST test sample)")
    r.add_argument("--out", metavar="DIR", default=None,
                   help="output folder for glimpses.gif, reconstruction.png, bound.txt (default: reconstruct-NAME)")
    r.add_argument("--samples", type=count, default=DEFAULT_SAMPLES,
                   help=f"fixed noise draws the bound is averaged over ({DEFAULT_SAMPLES})")
    r.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"seed of the fixed noise ({DEFAULT_SEED})")
    r.add_argument("--binarize", action="store_true", help="threshold the image at 0.5 first (binarized-MNIST form)")
    r.add_argument("--invert", choices=("auto", "yes", "no"), default="auto",
                   help="invert a file's grey levels: auto (when its border is light), yes, no")
    r.add_argument("--frame_ms", "--frame-ms", type=count, default=80, metavar="MS", help="GIF frame time (80)")
    r.add_argument("--box_colours", "--box-colours", type=str.lower, choices=list(BOX_PALETTES), default=None,
                   metavar="PALETTE", help=f"read / write box colours: {', '.join(BOX_PALETTES)}")
    r.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    r.add_argument("--backend", "--device", dest="device", default=None, metavar="DEVICE")


def _mnist_digit(text: str, shape):
    from core.reconstruct import resize_image
    from draw_gui.resources import embedded_mnist
    k = text[len(MNIST_PREFIX):]
    try:
        k = int(k)
    except ValueError:
        raise UsageError(f"{text}: expected mnist:K with K a whole number") from None
    test = embedded_mnist().test
    if not 0 <= k < test.shape[0]:
        raise UsageError(f"{text}: the embedded MNIST test sample has digits 0..{test.shape[0] - 1}")
    return resize_image(test[k].float().numpy() / 255.0, shape)


def load_input(text: str, shape, invert: str = "auto"):
    """IMAGE as typed: (C, H, W) float32 in [0, 1] at the model's shape; UsageError if unusable."""
    if text.lower().startswith(MNIST_PREFIX):
        return _mnist_digit(text, shape)
    from core.reconstruct import load_image_file
    path = Path(text).expanduser()
    if not path.is_file():
        raise UsageError(f"{text}: no such image file (or give mnist:K for an embedded MNIST digit)")
    try:
        return load_image_file(path, shape, invert)
    except Exception as e:  # noqa: BLE001  (PIL raises many kinds for files that are not images)
        raise UsageError(f"{text}: not an image draw-gui can read ({type(e).__name__})") from None


def run_reconstruct(args) -> int:
    from core.checkpoint import load_model
    from core.export import save_drawing_gif, save_grid_png
    from core.reconstruct import read_image
    path = checkpoint_arg(args.checkpoint)
    out = Path(args.out) if args.out else Path(f"reconstruct-{Path(args.image).stem.replace(':', '-')}")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; give a folder")
    model, ckpt, device = load_model(path, args.device)
    x = load_input(args.image, model.config.image_shape, args.invert)
    reading = read_image(model, x, samples=args.samples, seed=args.seed, binarize=args.binarize)   # no_grad inside
    out.mkdir(parents=True, exist_ok=True)
    gif = save_drawing_gif(reading.trace, out / "glimpses.gif", frame_ms=args.frame_ms, per_row=1, scale=6,
                           palette=args.box_colours)
    import numpy as np
    shown = reading.trace.images[0]
    png = save_grid_png(np.stack([shown, reading.reconstruction]), out / "reconstruction.png", per_row=2, scale=6)
    report = {"checkpoint": str(args.checkpoint), "image": args.image, "nll_bound": reading.bound,
              "recon": reading.recon, "kl": float(reading.kl.sum()), "bound_std": reading.bound_std,
              "samples": reading.samples, "seed": reading.seed, "binarized": bool(args.binarize),
              "kl_per_glimpse": [round(float(v), 4) for v in reading.kl]}
    kls = " ".join(f"{v:.2f}" for v in reading.kl)
    text = (f"NLL bound {reading.bound:.2f} nats (Lx {reading.recon:.2f} + Lz {reading.kl.sum():.2f}; mean of "
            f"{reading.samples} fixed-noise samples, seed {reading.seed}, sd {reading.bound_std:.2f})\n"
            f"KL per glimpse (nats, t = 1..{reading.glimpses}): {kls}\n")
    (out / "bound.txt").write_text(text)
    if args.json:
        print(json.dumps(report))
    else:
        print(text, end="")
        print(f"wrote {gif} ({reading.glimpses} glimpses), {png} and {out / 'bound.txt'}")
    return 0
