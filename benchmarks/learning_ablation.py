"""What each of draw-gui's starting choices does to a short run: the README's "Learning" table.

    python benchmarks/learning_ablation.py --data-dir ../shared/data [--steps 600] [--seeds 0,1]
        [--rows plain,mean-centred,warm-up,defaults,warm-up-1000] [--threads 1] [--json]

Every row is `draw-gui train --data-dir DIR --max-steps STEPS --seed S` (the paper's MNIST model,
threshold-binarized MNIST, batch 64, Adam 1e-3, norm clip 5, eager steps, as the CLI runs a run
this short) with some of the choices that draw-gui makes at the start undone, then the NLL bound
on all 10,000 test images (`draw-gui eval`). Rows add the choices one at a time:

    plain          none of them: c_0 = 0, the glimpse heads at torch's own Linear initialisation,
                   forget-gate bias 0, first writes at full size, no KL warm-up
    mean-centred   c_0 at the logit of the training mean; glimpses start centred and covering
                   the image (core.attention._init_glimpse_head)
    warm-up        + the KL weight warmed up linearly over 400 steps
    defaults       + forget-gate bias 1 and first writes scaled by 0.1: draw-gui as it ships
    warm-up-1000   the defaults with a 1,000-step warm-up, longer than the run

Same seed, same batches, noise and initial weights (a row only undoes what it names). The
choices are undone on the built model, here: draw-gui itself always makes them (core.model).
One 600-step run is noisy (README: seeds move the bound by ~15 nats), hence several seeds and the
mean. --sample trains on the embedded MNIST sample instead (a quick check that the script runs).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROWS = {  # name: (c_0 at the mean and centred glimpses, KL warm-up steps, forget bias 1 and small writes)
    "plain": (False, 0, False),
    "mean-centred": (True, 0, False),
    "warm-up": (True, 400, False),
    "defaults": (True, 400, True),
    "warm-up-1000": (True, 1000, True),
}


def undo_choices(model, mean_and_centred: bool, forget_and_small: bool) -> None:
    """Take back, on a freshly built DRAW, the starting choices a row goes without."""
    import torch
    from core.model import FIRST_WRITE_SCALE, FORGET_BIAS
    with torch.no_grad():
        if not mean_and_centred:
            model.canvas0.zero_()                      # c_0 = 0 instead of logit(mean image)
            for head in (model.read.params, model.write.params):
                head.reset_parameters()                # torch's Linear init: glimpses anywhere
        if not forget_and_small:
            for cell in (model.encoder, model.decoder):
                H = cell.hidden_size
                cell.bias_ih[H:2 * H] -= FORGET_BIAS   # forget-gate bias back to torch's init
            model.write.patch.weight.mul_(1 / FIRST_WRITE_SCALE)   # first writes at full size again
            model.write.patch.bias.mul_(1 / FIRST_WRITE_SCALE)


def one_run(row: str, seed: int, args, test_images_cache: dict) -> dict:
    from core.config import DrawConfig, TrainConfig
    from core.evaluate import evaluate
    from core.run import RunSettings, build_run

    mean_and_centred, warmup, forget_and_small = ROWS[row]
    train = replace(TrainConfig(), max_steps=args.steps, seed=seed, kl_warmup_steps=warmup).validate()
    with tempfile.TemporaryDirectory(prefix="draw-gui-ablation-") as empty:
        data_dir, fallback = args.data_dir, None
        if args.sample:   # MNIST is not found in an empty folder, and the sample stands in
            from draw_gui.resources import embedded_mnist
            data_dir, fallback = empty, lambda name: embedded_mnist()
        run = build_run(RunSettings(model=DrawConfig(), train=train, dataset="mnist", data_dir=data_dir,
                                    download=False, fallback=fallback, threads=args.threads, tune_threads=False))
    model = run.trainer.model
    undo_choices(model, mean_and_centred, forget_and_small)
    started = time.perf_counter()
    outcome = run.trainer.run()
    seconds = time.perf_counter() - started
    if "images" not in test_images_cache:
        test_images_cache["images"] = run.batches.test_images()
    images = test_images_cache["images"]
    if args.limit:
        images = images[:args.limit]
    result = evaluate(model, images)
    return {"row": row, "seed": seed, "steps": run.trainer.step, "outcome": outcome,
            "nll_bound": result.nll_bound, "recon": result.recon, "kl": result.kl,
            "test_images": result.images, "train_s": seconds}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=None, help="folder holding MNIST/raw (as draw-gui train --data-dir)")
    p.add_argument("--sample", action="store_true", help="train on the embedded MNIST sample (a quick check)")
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--seeds", default="0,1")
    p.add_argument("--rows", default=",".join(ROWS))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--limit", type=int, default=0, help="evaluate on the first N test images only (0: all)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    args = p.parse_args()
    rows = args.rows.split(",")
    unknown = [r for r in rows if r not in ROWS]
    if unknown:
        p.error(f"unknown row {unknown[0]!r}; choose from {', '.join(ROWS)}")
    if not args.sample and not args.data_dir:
        p.error("give --data-dir (the folder holding MNIST/raw) or --sample")
    seeds = [int(s) for s in args.seeds.split(",")]

    results, cache = [], {}
    for seed in seeds:           # seeds outermost: a machine that slows down slows every row alike
        for row in rows:
            r = one_run(row, seed, args, cache)
            results.append(r)
            print(f"# {row:<13} seed {seed}: bound {r['nll_bound']:.2f} (KL {r['kl']:.1f}) "
                  f"after {r['steps']} steps, {r['train_s']:.0f} s", file=sys.stderr, flush=True)

    table = []
    for row in rows:
        mine = [r for r in results if r["row"] == row]
        table.append({"row": row, "bounds": [r["nll_bound"] for r in mine], "kls": [r["kl"] for r in mine],
                      "mean_bound": statistics.mean(r["nll_bound"] for r in mine),
                      "mean_kl": statistics.mean(r["kl"] for r in mine)})
    if args.json:
        print(json.dumps({"steps": args.steps, "seeds": seeds, "threads": args.threads,
                          "test_images": results[0]["test_images"], "rows": table, "runs": results}, indent=1))
        return
    print(f"{args.steps} steps, paper MNIST model, batch 64, Adam 1e-3, clip 5; test NLL bound on "
          f"{results[0]['test_images']:,} images; seeds {', '.join(map(str, seeds))}")
    print("| row | bound per seed | mean bound | KL per seed | mean KL |")
    print("| --- | --- | --- | --- | --- |")
    for t in table:
        print(f"| {t['row']} | {' / '.join(f'{b:.1f}' for b in t['bounds'])} | {t['mean_bound']:.1f} | "
              f"{' / '.join(f'{k:.1f}' for k in t['kls'])} | {t['mean_kl']:.1f} |")


if __name__ == "__main__":
    main()
