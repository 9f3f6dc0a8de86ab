"""`draw-gui sample` and `draw-gui eval`: use a trained checkpoint."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from core.checkpoint import load_model
from draw_gui.cli.common import UsageError, checkpoint_arg
from draw_gui.text import format_duration


def _check_out(out: Path):
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; give a folder")


def run_sample(args) -> int:
    import torch
    from core.export import save_drawing_gif, save_grid_png
    n = args.num if args.num is not None else 64
    per_row = args.img_per_row or 8
    from draw_gui.models.shipped import is_shipped
    path = checkpoint_arg(args.checkpoint)
    shipped = is_shipped(path)
    if args.out:
        out = Path(args.out)
    else:  # never into the installed package: a shipped model's samples go to the current folder
        out = Path(f"{path.parent.name}-samples") if shipped else path.resolve().parent / "samples"
    _check_out(out)
    model, ckpt, device = load_model(path, args.device)
    cfg = model.config
    if args.sweep is not None and not 0 <= args.sweep < cfg.z_size:
        raise UsageError(f"--sweep {args.sweep}: the model's z has {cfg.z_size} dimensions (0..{cfg.z_size - 1})")
    if args.glimpse and args.glimpse > cfg.glimpses:
        raise UsageError(f"--glimpse {args.glimpse}: the model has T = {cfg.glimpses} glimpses (1..{cfg.glimpses})")
    if args.glimpse and args.sweep is None:
        raise UsageError("--glimpse chooses where --sweep DIM acts; give --sweep too")
    generator = torch.Generator(device=device).manual_seed(args.seed if args.seed is not None else 0)
    with torch.inference_mode():
        images, trace = model.generate(n, trace=True, generator=generator)
    grid = save_grid_png(images.cpu().numpy(), out / "samples.png", per_row=per_row)
    # The GIF shows the drawing of the first few samples, large enough to see the write boxes.
    count = min(n, args.gif_count or 16)
    trace.canvases = trace.canvases[:, :count]
    if trace.write is not None:
        trace.write = trace.write[:, :count]
    gif = save_drawing_gif(trace, out / "drawing.gif", per_row=min(per_row, count),
                           frame_ms=args.frame_ms or 80, palette=args.box_colours)
    print(f"wrote {grid} ({n} samples, {min(n, per_row)} a row) and {gif} "
          f"(the drawing of {count} of them in {trace.glimpses} glimpses)")
    if args.interpolate or args.sweep is not None:
        _latent_gifs(args, model, out, generator, min(n, per_row))
    return 0


def _latent_gifs(args, model, out: Path, generator, columns: int) -> None:
    """--interpolate and --sweep: one GIF frame per step, a row of `columns` independent latents."""
    import torch
    from core.export import image_grid, save_frames_gif
    from core.latent import decode, interpolation, sweep
    cfg = model.config
    frame_ms = args.frame_ms or 80

    def frames(latents):  # (frames, columns, T, Z) -> PIL frames
        images = decode(model, latents.reshape(-1, cfg.glimpses, cfg.z_size)).cpu().numpy()
        images = images.reshape(latents.shape[0], latents.shape[1], *images.shape[1:])
        return [image_grid(f, per_row=columns, scale=3, padding=1) for f in images]

    def draw(count):
        return torch.randn(count, cfg.glimpses, cfg.z_size, device=generator.device, generator=generator).cpu()

    if args.interpolate:
        a, b = draw(columns), draw(columns)
        paths = torch.stack([interpolation(a[i], b[i], args.interpolate, spherical=not args.linear)
                             for i in range(columns)], 1)                   # (frames, columns, T, Z)
        gif = save_frames_gif(frames(paths.to(model.canvas0.device)), out / "interpolation.gif", frame_ms=frame_ms)
        print(f"wrote {gif} ({args.interpolate} frames, {'linear' if args.linear else 'spherical'} interpolation)")
    if args.sweep is not None:
        glimpse = args.glimpse - 1 if args.glimpse else None
        values = torch.linspace(-3, 3, 25).tolist()
        paths = torch.stack([sweep(z, args.sweep, values, glimpse) for z in draw(columns)], 1)
        where = f"in glimpse {args.glimpse}" if glimpse is not None else "in every glimpse"
        gif = save_frames_gif(frames(paths.to(model.canvas0.device)), out / f"sweep_z{args.sweep}.gif",
                              frame_ms=frame_ms)
        print(f"wrote {gif} (z[{args.sweep}] from -3 to 3 {where}, {len(values)} frames)")


def run_eval(args) -> int:
    from core.data import Batches, load_dataset
    from core.evaluate import evaluate
    model, ckpt, device = load_model(checkpoint_arg(args.checkpoint), args.device)
    dataset = ckpt.get("dataset", "mnist")
    # By default the data is looked for where `draw-gui train` found it, at the model's image size.
    from core.checkpoint import data_settings
    where = data_settings(ckpt, args.data_dir, args.folder)
    data = load_dataset(dataset, data_dir=where["data_dir"], folder=where["folder"], download=not args.no_download,
                        image_size=where["image_size"], grayscale=where["grayscale"])
    if tuple(data.image_shape) != tuple(model.config.image_shape):
        raise UsageError(f"{dataset} images are {data.image_shape} but the model draws {model.config.image_shape}")
    images = Batches(data, 1, device=device).test_images()
    if args.limit:
        images = images[:args.limit]
    show = sys.stderr.isatty() and not args.json
    what = f"evaluating {images.shape[0]:,} test images" + (f", k = {args.k}" if args.k else "")
    started = time.perf_counter()

    def progress(done, total):   # in passes of the model over an image: 1 + k each
        if show:
            left = (time.perf_counter() - started) * (total - done) / done
            sys.stderr.write(f"\r{what}: {done / total:.0%}, {format_duration(left)} left\x1b[K")
            sys.stderr.flush()

    result = evaluate(model, images, batch_size=args.batch_size or 500, k=args.k, progress=progress)
    if show:
        sys.stderr.write("\r\x1b[K")
    report = {"checkpoint": str(args.checkpoint), "dataset": dataset, "step": int(ckpt.get("step", 0)),
              "images": result.images, "nll_bound": result.nll_bound, "recon": result.recon, "kl": result.kl,
              "binarization": data.binarization}
    if args.k:
        report.update(nll_iw=result.nll_iw, k=result.k)
    if args.json:
        print(json.dumps(report))
    else:
        how = f" ({data.binarization}-binarized)" if data.binarization != "none" else ""
        print(f"{dataset} test set{how}, {result.images} images, checkpoint at step {report['step']}:")
        rows = [("NLL bound", result.nll_bound, f"  (Lx {result.recon:.2f} + Lz {result.kl:.2f})")]
        if args.k:
            rows.append((f"NLL importance-weighted k={args.k}", result.nll_iw, ""))
        width = max(len(label) for label, _, _ in rows)
        for label, nats, parts in rows:
            print(f"  {label:<{width}} {nats:8.2f} nats{parts}")
    return 0
