"""`draw-gui filterbank IMAGE --gx X --gy Y --delta D --sigma2 S --gamma G -N 12 --out fig.png`:
the filterbank playground's panel (draw_gui.playground.figure) written to a PNG, without a screen.

IMAGE is an image file or `mnist:K`, test digit K of the embedded MNIST sample. Unset glimpse
parameters default to a glimpse centred on the image whose N delta wide box covers it.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

from draw_gui.cli.common import UsageError, count

MNIST_PREFIX = "mnist:"


def _number(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got '{text}'") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite number, got '{text}'")
    return v


def _positive(text: str) -> float:
    v = _number(text)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return v


def add_filterbank_parser(sub) -> argparse.ArgumentParser:
    """The `filterbank` subcommand on the subparsers `sub` of draw_gui.cli.main.build_parser."""
    f = sub.add_parser("filterbank", allow_abbrev=False,
                       help="render a Gaussian glimpse's filters, read patch and write-back to a PNG "
                            "(the filterbank playground without a screen)",
                       description="The read of eq. 27 and the write-back of eq. 29 (Gregor et al. 2015) with the "
                                   "filters F_X, F_Y of eq. 25-26, from core.attention, for one glimpse on one image. "
                                   "Units are the paper's: pixels a = 1..A.")
    f.add_argument("image", metavar="IMAGE", help="an image file, or mnist:K for test digit K of the embedded MNIST sample")
    f.add_argument("--gx", type=_number, default=None, help="glimpse centre g_X in pixels, 1..A (default: the middle)")
    f.add_argument("--gy", type=_number, default=None, help="glimpse centre g_Y in pixels, 1..B (default: the middle)")
    f.add_argument("--delta", type=_positive, default=None, help="stride delta between filters in pixels "
                   "(default: the box N delta covers the image)")
    f.add_argument("--sigma2", type=_positive, default=None, help="filter variance sigma^2 in pixels^2 (default (delta/2)^2)")
    f.add_argument("--gamma", type=_positive, default=1.0, help="intensity gamma (default 1)")
    f.add_argument("-N", "--N", dest="N", type=count, default=12, help="N x N filters (default 12)")
    f.add_argument("--scale", type=count, default=None, help="screen pixels per image pixel (default: about 224 px a side)")
    f.add_argument("--box_colours", "--box-colours", dest="box_colours", type=str.lower, default=None,
                   choices=["classic", "colour-blind"], metavar="PALETTE",
                   help="colour of the read box: classic (green) or colour-blind (blue)")
    f.add_argument("--out", required=True, metavar="PNG", help="the PNG to write")
    return f


def load_source(text: str):
    """IMAGE as (C, H, W) floats in [0, 1]; UsageError when it cannot be read."""
    from draw_gui.playground import load_image, mnist_digit
    if text.startswith(MNIST_PREFIX):
        k = text[len(MNIST_PREFIX):]
        if not k.isdigit():
            raise UsageError(f"{text}: write mnist:K with K a test digit's number, such as mnist:0")
        try:
            return mnist_digit(int(k))
        except IndexError as e:
            raise UsageError(str(e)) from None
    path = Path(text).expanduser()
    if not path.is_file():
        raise UsageError(f"{text}: no such image file (or write mnist:K for an embedded test digit)")
    try:
        return load_image(path)
    except (OSError, ValueError) as e:
        raise UsageError(f"{text}: could not read the image ({e})") from None


def run_filterbank(args) -> int:
    from draw_gui.playground import Glimpse, compute, default_glimpse, figure
    out = Path(args.out).expanduser()
    if out.suffix.lower() != ".png":
        raise UsageError(f"--out {args.out}: give a .png file")
    if out.is_dir():
        raise UsageError(f"--out {args.out} is a folder; give a .png file")
    image = load_source(args.image)
    _, H, W = image.shape
    d = default_glimpse(H, W, args.N)
    delta = d.delta if args.delta is None else args.delta
    g = Glimpse(gx=d.gx if args.gx is None else args.gx, gy=d.gy if args.gy is None else args.gy, delta=delta,
                sigma2=(delta / 2) ** 2 if args.sigma2 is None else args.sigma2, gamma=args.gamma, N=args.N)
    problem = g.problem()
    if problem:
        raise UsageError(problem)
    picture, _ = figure(compute(image, g), scale=args.scale, palette=args.box_colours)
    out.parent.mkdir(parents=True, exist_ok=True)
    picture.save(out)
    print(f"wrote {out} ({picture.width}x{picture.height}): image {W}x{H}, g=({g.gx:.2f}, {g.gy:.2f}), "
          f"delta={g.delta:.3g}, sigma2={g.sigma2:.3g}, gamma={g.gamma:.3g}, N={g.N}")
    return 0
