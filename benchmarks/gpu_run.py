"""Everything the GPU issue asks of a lent GPU, in one command with a time budget.

    bash benchmarks/gpu_run.sh 480 [OUT_DIR]        on the GPU machine (OUT_DIR: default benchmarks/results)
    bash benchmarks/gpu_run.sh 240 /tmp/dry --dry   a dry run of the same steps on the CPU, tiny sizes

Parts, each stopped at its share of the budget (a part cut short still reports what it has):
1. benchmarks/gpu_check.py: CPU/GPU agreement, images/s plain, compiled and with CUDA graphs,
   one MNIST epoch at batch 1024, compile time, bf16 against fp32;
2. the paper's MNIST models on binarized-mnist, Gaussian attention and no attention, trained at
   once (two processes on the one GPU) with draw-gui's own CLI and the fastest step of part 1,
   for as many epochs as the budget holds: on from the shipped models (resources/models), their
   schedules stretched over the epochs done and these, or with --fresh new ones, the learning
   rate decaying 10x over them;
3. each model shipped: its weights-only file and model card (scripts/ship_model.py), with the
   test NLL bound on all 10,000 fixed-binarized test images and the importance-weighted
   estimate (k = 100) on the first 1,000, as `draw-gui eval` prints them;
4. the window on the GPU (the pytest-qt window tests, training on cuda offscreen) and
   `torchrun --nproc_per_node 1 -m draw_gui train` on NCCL for a few steps.

Writes gpu_run.json, gpu_run.txt (the table), gpu_run.log (every part's output) and the models
(mnist/ and mnist-noattention/, each as resources/models/ holds one) into OUT_DIR.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable
SHARES = {"check": 0.22, "train": 0.46, "ship": 0.10, "window": 0.14}  # the rest is slack
PAPER = {"mnist": 80.97, "mnist-noattention": 87.40}  # DRAW Table 2, binarized MNIST
MODELS = {  # name: (title, options)
    "mnist": ("DRAW with attention (the paper's MNIST model)", []),
    "mnist-noattention": ("DRAW without attention (the paper's MNIST model, no attention)",
                          ["--use_attention", "false"]),
}


class Log:
    def __init__(self, path: Path):
        self.file = open(path, "a", buffering=1)
        self.t0 = time.perf_counter()

    def __call__(self, text: str):
        line = f"[{time.perf_counter() - self.t0:6.1f} s] {text}"
        print(line, flush=True)
        self.file.write(line + "\n")


def run(cmd, log: Log, timeout: float, env=None, name: str = "") -> tuple[int, str]:
    """Run cmd with its output into the log; SIGTERM at the timeout (then SIGKILL 15 s later)."""
    log(f"$ {' '.join(str(c) for c in cmd)}  (limit {timeout:.0f} s)")
    proc = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, cwd=REPO, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=max(timeout, 1))
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
        out += f"\n[stopped at the time limit of {timeout:.0f} s]"
    log.file.write(out + "\n")
    log(f"{name or cmd[0]}: exit {proc.returncode}")
    return proc.returncode, out


def stop_at(procs: dict, deadline: float, log: Log) -> None:
    """Wait for the runs; at the deadline send SIGTERM (draw-gui train then saves and exits 130)."""
    while any(p.poll() is None for p in procs.values()):
        if time.perf_counter() > deadline:
            for name, p in procs.items():
                if p.poll() is None:
                    log(f"{name}: the training budget is spent; SIGTERM (it saves its checkpoint)")
                    p.send_signal(signal.SIGTERM)
            for p in procs.values():
                try:
                    p.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    p.kill()
            return
        time.sleep(1)


def window_part(report: dict, log: Log, work: Path, data_dir: str, device: str, dry: bool, window_until: float):
    """Part 4: the pytest-qt window tests (training where "auto" points: the GPU) and torchrun on NCCL."""
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    syslib = Path(os.environ.get("DRAW_GUI_QT_SYSLIB", "/nonexistent"))
    if syslib.is_dir():  # system libraries Qt needs that this machine lacks (gpu_run.sh chose them)
        env["LD_LIBRARY_PATH"] = f"{syslib}:{env.get('LD_LIBRARY_PATH', '')}"
    code, text = run([PY, "-c", "import PySide6, torch; from core.train import resolve_device; "
                      "print('PySide6', PySide6.__version__, 'from', PySide6.__file__, '; the window trains on', "
                      "resolve_device('auto'))"], log, 60, env=env, name="Qt")
    report["window_qt"] = text.strip().splitlines()[-1:] if text.strip() else []
    code, text = run([PY, "-m", "pytest", "-v", "-p", "no:cacheprovider", "tests/test_window.py",
                      "-o", "addopts=-m 'not slow and not bundle'"], log,
                     max(0.6 * (window_until - time.perf_counter()), 30), env=env, name="window tests")
    tail = [ln for ln in text.splitlines() if ln.strip()][-1:] or [""]
    report["window_tests"] = {"exit": code, "summary": tail[0]}
    torchrun_dir = work / "runs" / "torchrun"
    tiny = ["--num_glimpses", "4", "--hidden_size", "32", "--latent_size", "8"] if dry else []
    code, text = run([PY, "-m", "torch.distributed.run", "--nproc_per_node", "1", "-m", "draw_gui", "train",
                      "--dataset", "binarized-mnist", "--data_dir", data_dir, "--no_download", "--device", device,
                      "--batch_size", "256", "--max_steps", "40", "--no_eval", "--compile", "false",
                      "--out", torchrun_dir, *tiny], log,
                     max(window_until - time.perf_counter(), 30), env=env, name="torchrun")
    said = [ln for ln in text.splitlines() if "processes (" in ln or "finished at step" in ln]
    report["torchrun"] = {"exit": code, "lines": said[-2:]}


def continued_schedule(saved: dict, batch: int, fits: int, span: int | None = None, final: float = 0.1):
    """How a model continues at `batch` for the `fits` epochs the budget holds: (its step, the epoch
    the trainer counts that step in at this batch, the epoch the schedule ends, decay, base lr).

    The trainer counts epochs in steps at the batch it trains at, so a file trained at batch 128
    (the shipped mnist: step 26,208, epoch 56) is at epoch 451 at batch 1024; its epochs must be
    counted so, or `--maxEpochs` ends before the file's step ("nothing to train"). The first rate is
    the file's last one scaled with the batch (the same rate per image: 2.3e-5 at batch 128 is
    1.9e-4 at 1024), then it falls `final`x over the epochs of this run (or up to `span`, the
    epoch --epochs names); `--lr` is the base lr_at counts from: first rate / decay^epoch."""
    from core.config import TrainConfig
    from core.loop import continued_lr
    step = int(saved["step"])
    per_epoch = int(saved.get("train_images") or 60000) // batch
    done = step // per_epoch
    epochs = max(span or 0, done + max(fits, 1))
    trained = TrainConfig.from_dict(saved["train_config"])
    decay = round(final ** (1 / (epochs - done)), 6) if epochs - done > 1 else 1.0
    return step, done, epochs, decay, continued_lr(saved, trained, step, per_epoch, lr_decay=decay,
                                                   scale=batch / trained.batch_size)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("budget", type=float, nargs="?", default=480, help="seconds for everything (480)")
    p.add_argument("out", nargs="?", default=str(REPO / "benchmarks" / "results"))
    p.add_argument("--data-dir", default=None, help="holds MNIST/raw, unpacked (default: /tmp/gpu_data, where "
                   "gpu_run.sh unpacks .gpu_carry/data, else ../shared/data)")
    p.add_argument("--dry", action="store_true", help="tiny sizes on the CPU: checks the script, not the GPU")
    p.add_argument("--parts", default="check,train,ship,window",
                   help="which parts to run (a skipped part's share of the budget goes to the others)")
    p.add_argument("--models", default=",".join(MODELS), help="which models to train and ship")
    p.add_argument("--restore-from", metavar="DIR", help="continue each model from DIR/NAME/checkpoint.pt and its "
                   "card.json, its history carried on (default on a GPU: resources/models, the shipped models; "
                   "or an earlier run's OUT_DIR)")
    p.add_argument("--fresh", action="store_true", help="train new models from step 0 instead (the default of --dry)")
    p.add_argument("--step", choices=("plain", "compiled", "cudagraphs"), help="the training step, instead of "
                   "gpu_check's fastest")
    p.add_argument("--epochs", type=int, help="the epoch the learning rate schedule ends at (counted from step 0 "
                   "at this run's batch), instead of what the budget is estimated to hold")
    args = p.parse_args()
    parts = set(args.parts.split(","))
    models = {name: MODELS[name] for name in args.models.split(",")}
    # A few GPU minutes go furthest on from where the shipped models' CPU hours ended (a dry run's
    # tiny sizes cannot load them: it continues only what --restore-from names).
    shipped = REPO / "resources" / "models"
    if args.fresh:
        args.restore_from = None
    elif args.restore_from is None and not args.dry and all((shipped / n / "checkpoint.pt").exists() for n in models):
        args.restore_from = str(shipped)
    scale = 0.92 / sum(SHARES[k] for k in parts)
    shares = {k: (SHARES[k] * scale if k in parts else 0.0) for k in SHARES}
    t0 = time.perf_counter()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    for old in ("gpu_run.log", "gpu_run.json", "gpu_run.txt"):
        (out / old).unlink(missing_ok=True)
    log = Log(out / "gpu_run.log")
    data_dir = args.data_dir or next((str(d) for d in (Path("/tmp/gpu_data"), REPO.parent / "shared" / "data")
                                      if (d / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file()), None)
    device = "cpu" if args.dry else "cuda"
    work = Path("/tmp/draw_gui_gpu_run")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    budget = args.budget
    report = {"budget_s": budget, "dry_run": args.dry, "data_dir": data_dir}

    def save_report():
        (out / "gpu_run.json").write_text(json.dumps(report, indent=1))

    import torch
    report["torch"] = torch.__version__
    report["gpu"] = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    report["cpu_cores"] = os.cpu_count()
    log(f"gpu_run: budget {budget:.0f} s, device {device} ({report['gpu']}), torch {torch.__version__}, "
        f"data {data_dir}, out {out}")
    if data_dir is None:
        log("no MNIST found: give --data-dir (a folder holding MNIST/raw)")
        report["error"] = "no MNIST"
        save_report()
        return 2

    # 1. gpu_check --------------------------------------------------------------------------
    check_json = work / "gpu_check.json"
    share = shares["check"] * budget
    check = {}
    if "check" in parts:
        cmd = [PY, "benchmarks/gpu_check.py", "--device", device, "--data-dir", data_dir, "--out", check_json,
               "--budget", 0.75 * share] + (["--quick"] if args.dry else [])
        code, text = run(cmd, log, share, env={**os.environ, "PYTHONUNBUFFERED": "1"}, name="gpu_check")
        check = json.loads(check_json.read_text()) if check_json.exists() else {}
        report["gpu_check"] = check
        report["gpu_check_exit"] = code
        save_report()

    # 2. training the paper's two MNIST models at once ---------------------------------------
    batch = 128 if args.dry else 1024
    ips = check.get("images_per_s", {})
    timed = {v: ips.get(f"batch_{batch}_{v}") for v in ("plain", "compiled", "cudagraphs")}
    timed = {v: x for v, x in timed.items() if isinstance(x, float)}
    fastest = args.step or check.get("fastest_step") or (max(timed, key=timed.get) if timed else "plain")
    compile_step = fastest in ("compiled", "cudagraphs")
    epoch_s = check.get("epoch_seconds") or (60000 / timed[fastest] if fastest in timed else 3.0)
    compile_s = check.get("compile_seconds", 45.0) if compile_step else 0.0
    train_until = t0 + (shares["check"] + shares["train"]) * budget
    available = train_until - time.perf_counter() - 15 - 1.5 * compile_s  # start-up, data, compiling
    slowdown = 1.8 if len(models) > 1 else 1.1  # two runs share the GPU; the noise is drawn on the CPU
    fits = max(1, int(available / (epoch_s * slowdown)))   # the epochs the budget holds
    if args.dry and not args.restore_from:
        fits = 1
    lr, final = 2e-3, 0.1  # batch 1024 is 16x draw-gui's default batch: twice its learning rate
    tiny = ["--num_glimpses", "4", "--hidden_size", "32", "--latent_size", "8", "--max_steps", "30"] if args.dry else []
    # A new model's schedule spans `epochs` from its first step and decays the rate 10x over them.
    # A continued model (--restore-from) goes on from its step, counted in epochs at this batch;
    # continued_schedule says how its rate starts and falls.
    plans = {}   # name: (checkpoint to continue or None, its step, epochs done, epochs the schedule spans, decay, lr)
    for name in models:
        if args.restore_from:
            restored = Path(args.restore_from) / name / "checkpoint.pt"   # a shipped model's folder
            saved = torch.load(restored, weights_only=True)
            step, done, epochs, decay, base = continued_schedule(saved, batch, fits, args.epochs, final)
            plans[name] = (restored, step, done, epochs, decay, base)
        else:
            epochs = args.epochs or fits
            plans[name] = (None, 0, 0, epochs, round(final ** (1 / epochs), 6) if epochs > 1 else 1.0, lr)
    report["training"] = {"batch_size": batch, "epochs_planned": {n: p[3] for n, p in plans.items()},
                          "epochs_done_before": {n: p[2] for n, p in plans.items()},
                          # the schedule's base (its epoch-0 rate: large for a model continued
                          # at a late epoch) and the rate its first epoch here trains at
                          "lr_base": {n: p[5] for n, p in plans.items()},
                          "lr_first": {n: p[5] * p[4] ** p[2] for n, p in plans.items()},
                          "lr_decay": {n: p[4] for n, p in plans.items()}, "step": fastest,
                          "compile": compile_step, "seconds_available": round(available, 1)}
    log(f"training {', '.join(models)}: "
        + "; ".join(f"{n} epochs {p[2]} to {p[3]}, lr {p[5] * p[4] ** p[2]:.3g} x {p[4]}/epoch" for n, p in plans.items())
        + f" at batch {batch}, {'compiled' if compile_step else 'plain'} step (gpu_check's fastest: {fastest})")
    procs, commands, earlier = {}, {}, {}
    for name, (_, options) in models.items():
        run_dir = work / "runs" / name
        restored, step, done, epochs, decay, base = plans[name]
        if restored is not None:  # continue: the model's shape comes from the file
            earlier[name] = json.loads((restored.parent / "card.json").read_text())["training"]["command"]
            # the batch is part 1's, not the file's: the epochs that fit were counted at that batch
            # (the shipped attention model's last CPU steps were at batch 128, 8x slower per image here)
            cmd = ["draw-gui", "train", "--restore", f"{name}/checkpoint.pt", "--data_dir", "DATA", "--no_download",
                   "--device", device, "--batch_size", str(batch), "--maxEpochs", str(epochs),
                   "--lr", f"{base:.6g}", "--lr_decay", str(decay),
                   "--compile", "true" if compile_step else "false", "--no_eval",
                   "--save_interval", str(max(1, (epochs - done) // 4))]
            if args.dry:
                cmd += ["--max_steps", str(step + 3)]
        else:
            cmd = ["draw-gui", "train", "--dataset", "binarized-mnist", "--data_dir", "DATA", "--no_download",
                   "--device", device, "--batch_size", str(batch), "--maxEpochs", str(epochs), "--lr", str(lr),
                   "--lr_decay", str(decay), "--compile", "true" if compile_step else "false", "--no_eval",
                   "--save_interval", str(max(1, epochs // 4)), "--seed", "0", *options, *tiny]
        commands[name] = " ".join(cmd)
        if name in earlier:
            commands[name] = f"{earlier[name]}; then, continued: {commands[name]}"
        real = [PY, "-m", "draw_gui", *cmd[1:]]
        real[real.index("DATA")] = data_dir
        if restored is not None:
            real[real.index(f"{name}/checkpoint.pt")] = str(restored.resolve())
        real += ["--out", str(run_dir), "--log_file", str(work / f"{name}.train.log"), "--quiet"]
        log(f"$ {' '.join(real)}")
        procs[name] = subprocess.Popen(real, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    stop_at(procs, train_until, log)
    report["training"]["runs"] = {}
    for name, proc in procs.items():
        text = proc.stdout.read()
        logged = (work / f"{name}.train.log").read_text() if (work / f"{name}.train.log").exists() else ""
        log.file.write(f"--- {name} training output ---\n{text}\n{logged}\n")
        log(f"{name}: training exit {proc.returncode}")
        speeds = [float(m) for m in re.findall(r"(\d+) img/s", logged)]  # the progress lines, every 10 s
        report["training"]["runs"][name] = {"exit": proc.returncode, "command": commands[name],
                                            "images_per_s_last": speeds[-1] if speeds else None}
    save_report()

    # 3. ship: weights-only files and model cards, evaluated as draw-gui eval prints them ------
    ship_until = train_until + shares["ship"] * budget
    report["models"] = {}
    ships = {}
    # both evaluate at once: split the cores between them, or their spinning torch threads collapse
    # on a small machine (the CPU dry run on 2 cores ran out of its share that way)
    ship_env = {**os.environ, "OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 1) // max(1, len(models))))}
    for name, (title, _) in (models.items() if "ship" in parts else ()):
        ckpt = work / "runs" / name / "checkpoint.pt"
        if not ckpt.exists():
            log(f"{name}: no checkpoint was written; nothing to ship")
            continue
        cmd = [PY, "scripts/ship_model.py", ckpt, "--name", name, "--out", out, "--title", title,
               "--command", commands[name], "--data-dir", data_dir, "--device", device,
               "--paper-nll", PAPER[name]]
        log(f"$ {' '.join(str(c) for c in cmd)}")
        ships[name] = subprocess.Popen([str(c) for c in cmd], cwd=REPO, stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, text=True, env=ship_env)
    for name, proc in ships.items():
        try:
            text, _ = proc.communicate(timeout=max(ship_until - time.perf_counter(), 30))
        except subprocess.TimeoutExpired:
            proc.kill()
            text, _ = proc.communicate()
        log.file.write(text + "\n")
        log(f"{name}: ship exit {proc.returncode}: {text.strip().splitlines()[-1] if text.strip() else ''}")
        card = out / name / "card.json"   # scripts/ship_model.py writes OUT/NAME/card.json
        if proc.returncode == 0 and card.exists():
            report["models"][name] = json.loads(card.read_text())
    save_report()

    # 4. the window on the GPU, and torchrun on NCCL ----------------------------------------------
    if "window" in parts:
        window_part(report, log, work, data_dir, device, args.dry, ship_until + shares["window"] * budget)
        save_report()

    # the table -------------------------------------------------------------------------------------
    lines = [f"draw-gui on {report['gpu'] or 'the CPU (dry run)'}, torch {report['torch']}, "
             f"{report['cpu_cores']} CPU cores; budget {budget:.0f} s, used {time.perf_counter() - t0:.0f} s"]
    ips = check.get("images_per_s", {})
    for k, v in ips.items():
        lines.append(f"  {k:>26}: {v:>10} images/s" if isinstance(v, float) else f"  {k:>26}: {v}")
    if "epoch_seconds" in check:
        lines.append(f"  one MNIST epoch at batch {check['epoch']['batch']} ({check['epoch']['step']} step): "
                     f"{check['epoch_seconds']} s; compiling took {check.get('compile_seconds')} s")
    f = check.get("fidelity")
    if f:
        lines.append(f"  CPU vs device: bound max rel diff {f['bound_max_rel_diff']:.1e}, "
                     f"3-step losses max rel diff {f['loss_max_rel_diff']:.1e}")
    if "bf16_vs_fp32_test_bound" in check:
        lines.append(f"  bf16 vs fp32 test bound after the same short run: {check['bf16_vs_fp32_test_bound']}")
    tr = report["training"]
    for name in models:
        lines.append(f"  training {name}: epochs {tr['epochs_done_before'][name]} to {tr['epochs_planned'][name]} "
                     f"planned at batch {tr['batch_size']}, lr {tr['lr_first'][name]:.3g} x {tr['lr_decay'][name]} per epoch, "
                     f"step {tr['step']}")
    lines.append(f"  {'model':<20}{'steps':>7}{'epochs':>8}{'wall s':>8}{'img/s':>8}{'bound':>9}{'IWAE k=100':>12}{'paper':>8}")
    for name in models:
        card = report["models"].get(name)
        run_info = tr["runs"].get(name, {})
        if card is None:
            lines.append(f"  {name:<20} not shipped (training exit {run_info.get('exit')})")
            continue
        t, e = card["training"], card["evaluation"]
        lines.append(f"  {name:<20}{t['steps']:>7}{t['epochs']:>8}{t['wall_time_s']:>8.0f}"
                     f"{run_info.get('images_per_s_last') or 0:>8.0f}{e['test_nll_bound']:>9.2f}"
                     f"{e['nll_iw']:>12.2f}{PAPER[name]:>8.2f}")
    if "window_tests" in report:
        lines.append(f"  {' '.join(report.get('window_qt', []))}")
        lines.append(f"  window tests on {device}: {report['window_tests']['summary']} (exit {report['window_tests']['exit']})")
        lines.append(f"  torchrun --nproc_per_node 1: exit {report['torchrun']['exit']}; "
                     f"{' | '.join(report['torchrun']['lines'])}")
    table = "\n".join(lines)
    (out / "gpu_run.txt").write_text(table + "\n")
    log("\n" + table)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    save_report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
