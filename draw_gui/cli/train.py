"""`draw-gui train`: the seed script's training run, with a progress bar and a run folder."""
from __future__ import annotations

import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

from draw_gui.cli.common import UsageError
from draw_gui.text import format_duration  # noqa: F401  (used by the progress bar)


def _preset(args):
    """The --preset chosen (core.presets.Preset) or None; a bad name is a UsageError."""
    if args.preset is None:
        return None
    from core.presets import get_preset
    try:
        return get_preset(args.preset)
    except ValueError as e:
        raise UsageError(str(e)) from None


# The model options that are not one field each (cli.main writes them by hand): the fields they
# set. The fields' own options (core.config: --enc_size, --attention) override them.
SHORTHANDS = {
    "hidden_size": lambda h: {"enc_size": h, "dec_size": h},
    "use_attention": lambda on: {"attention": "gaussian" if on else "none"},
}


def _options_set(args, config_class) -> dict[str, dict]:
    """{option's dest: {field: value}} for the options of config_class's fields given on the
    command line: the shorthands (DrawConfig's), then each declared field option (core.config)."""
    from core.config import DrawConfig, settings
    given = {}
    if config_class is DrawConfig:
        given = {o: fields_of(getattr(args, o)) for o, fields_of in SHORTHANDS.items() if getattr(args, o) is not None}
    for name, s in settings(config_class).items():
        if s.cli and getattr(args, s.dest) is not None:
            given[s.dest] = {name: getattr(args, s.dest)}
    return given


def _field_values(args, config_class) -> dict:
    """{field: value} as the options given set them (a field's own option over a shorthand)."""
    return {name: v for values in _options_set(args, config_class).values() for name, v in values.items()}


def _device_here(args, saved_train, path):
    """A restored run trains where its checkpoint did unless --device says otherwise, or unless
    that device is not on this machine (a run trained on a GPU continued on a laptop): then on
    the best device here, said on stderr."""
    from core.config import TrainConfig
    from core.train import device_available, resolve_device
    if "device" in _field_values(args, TrainConfig) or device_available(saved_train.device):
        return saved_train
    here = resolve_device("auto")
    print(f"draw-gui: {path} trained on {saved_train.device}, which this machine does not have; "
          f"continuing on {here} (--device to choose)", file=sys.stderr)
    return replace(saved_train, device="auto")


def _model_and_train_config(args, image_shape, base_model=None, base_train=None):
    from core.config import DrawConfig
    from core.config import TrainConfig
    preset = _preset(args)
    # A preset is the starting point; the options given explicitly below override it.
    mc = base_model or DrawConfig(image_shape=tuple(image_shape), **(preset.model if preset else {}))
    tc = base_train or TrainConfig(**(preset.train if preset else {}))
    if base_model is None:  # the model's shape is fixed once trained
        mc = replace(mc, **_field_values(args, DrawConfig))
    return mc.validate(), replace(tc, **_field_values(args, TrainConfig)).validate()


def preset_summary(preset, cfg, dataset: str, train_cfg=None) -> str:
    """'preset cifar10 (Table 3)', and which of its settings the options changed."""
    if preset is None:
        return ""
    from core.config import DrawConfig, settings
    from core.presets import MODEL_FIELDS
    names = {name: s.short or name for name, s in settings(DrawConfig).items()}
    fields = list(MODEL_FIELDS)
    if cfg.enc_size == cfg.dec_size:   # --hidden_size sets both: say it once
        names["enc_size"] = "LSTM"
        fields.remove("dec_size")
    changed = [f"{names[k]} {preset.model[k]} -> {getattr(cfg, k)}" for k in fields
               if getattr(cfg, k) != preset.model[k]]
    if train_cfg is not None:   # the training settings a preset sets (two-digit MNIST's learning rate)
        changed += [f"{k} {v:g} -> {getattr(train_cfg, k):g}" for k, v in preset.train.items()
                    if getattr(train_cfg, k) != v]
    if not preset.fits(dataset):
        changed.insert(0, f"dataset {preset.dataset} -> {dataset}")
    source = f"DRAW Table 3's {preset.row} row" if preset.row else "DRAW Table 3"
    return (f"preset {preset.name} ({source}{'; changed: ' + ', '.join(changed) if changed else ''}); ")


def model_summary(cfg) -> str:
    sizes = f"read {cfg.read_size}x{cfg.read_size} write {cfg.write_size}x{cfg.write_size}"
    if cfg.attention == "gaussian":
        attention = f"gaussian attention {sizes}"
    elif cfg.attention == "spatial":
        rotation = "scale, translation and rotation" if cfg.spatial_rotation else "scale and translation"
        attention = f"spatial transformer attention ({rotation}) {sizes}"
    else:
        attention = "no attention (reads and writes whole images)"
    return f"{attention}, T {cfg.glimpses}, LSTM {cfg.enc_size}/{cfg.dec_size}, z {cfg.z_size}"


class ProgressPrinter:
    """A one-line progress bar on a terminal; a plain line every 10 s elsewhere (logs, CI)."""

    def __init__(self, stream, quiet: bool, log_file=None, steps_per_epoch: int | None = None):
        self.stream, self.quiet, self.log = stream, quiet, log_file
        self.steps_per_epoch = steps_per_epoch
        self.tty = stream.isatty()
        self.last_line = 0.0

    def __call__(self, p):
        eta = format_duration(p.eta_s)
        frac = p.step / p.total_steps
        # with --max-steps the run may end before the epoch budget: show the epochs it reaches
        epochs = -(-p.total_steps // self.steps_per_epoch) if self.steps_per_epoch else p.epochs
        text = (f"step {p.step}/{p.total_steps} epoch {p.epoch + 1}/{epochs} "
                f"loss {p.loss:.2f} (Lx {p.recon:.2f} Lz {p.kl:.2f}) {p.images_per_s:.0f} img/s ETA {eta}")
        now = time.monotonic()
        plain_due = now - self.last_line >= 10 or p.step == p.total_steps
        if self.log is not None and plain_due:
            self.log.write(text + "\n")
            self.log.flush()
        if self.quiet:
            pass
        elif self.tty:
            # One line that fits the terminal: a line that wraps leaves a stale copy at every update.
            columns = shutil.get_terminal_size().columns
            width = max(0, min(24, columns // 5))
            bar = f"[{'#' * int(frac * width)}{'.' * (width - int(frac * width))}] " if width >= 8 else ""
            line = f"{bar}{frac:4.0%} {text}"
            self.stream.write(f"\r{line[:max(columns - 1, 1)]}\x1b[K")
            self.stream.flush()
        elif plain_due:
            self.stream.write(text + "\n")
            self.stream.flush()
        if plain_due:
            self.last_line = now

    def evaluating(self, done: int, total: int):
        """Test-set evaluation progress: shown on a terminal only (the result gets its own line)."""
        if self.tty and not self.quiet:
            self.stream.write(f"\revaluating on the test set: {done}/{total} images\x1b[K")
            self.stream.flush()

    def message(self, text: str, error: bool = False):
        """A line for the user; an error is shown even with --quiet (errors are never quiet)."""
        if self.tty and not self.quiet:
            self.stream.write("\r\x1b[K")
        if not self.quiet or error:
            self.stream.write(text + "\n")
            self.stream.flush()
        if self.log is not None:
            self.log.write(text + "\n")
            self.log.flush()


def _changed_model_options(args, saved: dict) -> list[str]:
    """The model options given (by dest) that differ from a restored checkpoint's model_config:
    they cannot change. One that repeats the checkpoint's value changes nothing and is accepted."""
    from dataclasses import fields
    from core.config import DrawConfig
    defaults = {f.name: f.default for f in fields(DrawConfig)}  # what a checkpoint lacking the field loads with
    return [option for option, values in _options_set(args, DrawConfig).items()
            if any(v != saved.get(name, defaults[name]) for name, v in values.items())]


def _saved_value(option: str, saved: dict) -> str:
    """What the checkpoint has for a model option: 'glimpses 64' for --num_glimpses."""
    if option == "preset":
        return "its own settings"
    from core.config import DrawConfig, settings
    key = {s.dest: name for name, s in settings(DrawConfig).items() if s.cli}.get(option) \
        or next(iter(SHORTHANDS[option](True)))   # a shorthand: the first field it sets
    return f"{key} {saved.get(key)}"


def run_train(args, dist=None) -> int:
    """dist: core.distributed.Distributed when torchrun started several processes."""
    from draw_gui.cli.live import distributed_env, run_distributed, train_config_for_ranks
    if dist is None and distributed_env():
        return run_distributed(args, run_train)
    from core.checkpoint import checkpoint_configs, load_checkpoint
    from core.data import canonical_dataset_name

    ckpt = None
    out_dir = Path(args.out) if args.out else None
    if args.restore is not None:
        from draw_gui.cli.common import checkpoint_arg
        from draw_gui.models.shipped import is_shipped
        path = checkpoint_arg(args.restore, "--restore") if args.restore else \
            (out_dir / "checkpoint.pt" if out_dir else None)
        if path is None:
            raise UsageError("--restore needs a checkpoint path, or --out DIR holding checkpoint.pt")
        ckpt = load_checkpoint(path)
        shipped = is_shipped(path)
        if not shipped:  # a shipped model continues in a new run folder, never inside the package
            out_dir = out_dir or path.parent
        saved = ckpt["model_config"]
        fixed = _changed_model_options(args, saved)
        if args.preset is not None:
            fixed.insert(0, "preset")
        if fixed:
            raise UsageError(f"--{fixed[0]} cannot change when restoring: the model's shape comes from the checkpoint "
                             f"(it has {_saved_value(fixed[0], saved)})")
    if out_dir is not None and out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--out {out_dir} is a file; give a folder for the run")
    try:
        preset = _preset(args)
        dataset = canonical_dataset_name(args.dataset or (preset.dataset if preset else None)
                                         or (ckpt or {}).get("dataset", "mnist"))
    except ValueError as e:
        raise UsageError(str(e)) from None
    if ckpt is not None:
        base_model, base_train = checkpoint_configs(ckpt, path)
        if args.max_steps is None and args.epochs is None and base_train.max_steps:
            base_train = replace(base_train, max_steps=0)  # a restored short run continues to the epoch budget
        base_train = _device_here(args, base_train, path)
    else:
        base_model = base_train = None
    if args.tensorboard:   # before any data loads: a missing package is one line, at once
        from core import tensorboard
        if tensorboard.missing():
            raise UsageError(f"--tensorboard: {tensorboard.missing()}")
    # Validate what does not need data first, so a typo never waits for a dataset to load.
    model_cfg, train_cfg = _model_and_train_config(args, (1, 28, 28), base_model, base_train)
    if dist is not None:
        train_cfg = train_config_for_ranks(dist, train_cfg)
    if args.display:  # the seed's `qlua main.lua --display`: the window, already training
        from core.checkpoint import data_settings
        from draw_gui.cli.common import open_window
        from draw_gui.workers.training import RunSetup
        settings = data_settings(ckpt, args.data_dir, args.folder, args.image_size)
        return open_window(setup=RunSetup(model=model_cfg, train=train_cfg, dataset=dataset,
                                      data_dir=settings["data_dir"], folder=settings["folder"],
                                      image_size=settings["image_size"], out=args.out,
                                      checkpoint=str(path) if ckpt is not None else None,
                                      tensorboard=args.tensorboard))
    from core.run import RunProblem, RunSettings, build_run
    try:
        built = build_run(RunSettings(
            model=model_cfg, train=train_cfg, dataset=dataset, data_dir=args.data_dir, folder=args.folder,
            image_size=args.image_size, download=not args.no_download, checkpoint=ckpt,
            checkpoint_name=str(path) if ckpt is not None else None, threads=args.threads, dist=dist))
    except RunProblem as e:
        raise UsageError(str(e)) from None
    trainer, batches, data, device, model_cfg = built.trainer, built.batches, built.data, built.device, built.model
    from draw_gui.cli.common import AUTO_COMPILE_STEPS
    frozen = getattr(sys, "frozen", False)  # a PyInstaller bundle has no compiler tool chain for inductor
    # Under torchrun the glimpse step is compiled only on request (--compile true): see README.
    if args.compile is None and not frozen and dist is None and trainer.total_steps - trainer.step >= AUTO_COMPILE_STEPS:
        trainer.model.compile_glimpse()  # long run: the compiled step pays for its compilation

    from core.runfolder import RunFolder
    if out_dir is None:
        out_dir = Path("runs") / f"{dataset}-{time.strftime('%Y%m%d-%H%M%S')}"
    log = open(args.log_file, "a") if args.log_file else None
    try:
        run = RunFolder(out_dir) if dist is None or dist.is_main else None  # rank 0 writes for all
        if run is not None:
            from draw_gui.runs.paths import remember_run_folder
            remember_run_folder(run.path)   # the window's Runs tab lists it
        return _train(args, trainer, batches, run, device, dataset, data, model_cfg, log,
                      start_step=trainer.step if ckpt is not None else None, dist=dist,
                      restored=path if ckpt is not None else None)
    finally:
        if log is not None:
            log.close()


def _train(args, trainer, batches, run, device, dataset, data, model_cfg, log, start_step, dist=None,
           restored: Path | None = None) -> int:
    import torch
    from draw_gui.cli.live import start_live_run, stop_on_signals, train_other_rank, upkeep_line
    if run is None:
        return train_other_rank(trainer, dist)
    from core.export import save_drawing_gif, save_glimpse_pngs, save_grid_png
    from core.loop import NonFiniteLoss

    printer = ProgressPrinter(sys.stderr, args.quiet, log, steps_per_epoch=trainer.steps_per_epoch)
    compiled = trainer.model.compiled
    per_row = args.img_per_row or 8
    save_interval = args.save_interval or 1
    steps = (f"continuing at step {start_step} of {trainer.total_steps}" if start_step is not None
             else f"{trainer.total_steps} steps")
    compiling = "torch.compile'd glimpses (the first step compiles: ~1 min the first time, seconds once cached); "
    printer.message(f"draw-gui: {preset_summary(_preset(args), model_cfg, dataset, trainer.config)}"
                    f"{dataset} from {data.source} "
                    f"on {device}, {torch.get_num_threads()} thread(s); "
                    f"{model_summary(model_cfg)}; {steps}, {trainer.steps_per_epoch} steps per epoch; "
                    f"{compiling if compiled else ''}"
                    f"run folder {run.path}"
                    f"{f'; {dist.world_size} processes ({dist.backend})' if dist is not None else ''}")

    def save(reason: str):
        run.write_metrics(trainer.history)
        path = run.save_checkpoint(trainer.checkpoint())
        note = ""
        if args.save_image:
            folder = run.image_folder(trainer.step)
            with torch.inference_mode():
                trace = trainer.model(batches.examples(per_row).to(device), trace=True).trace
                samples, _ = trainer.model.generate(per_row * per_row,
                                                    generator=torch.Generator(device=device).manual_seed(0))
            save_glimpse_pngs(trace, folder, per_row=per_row, palette=args.box_colours)
            save_drawing_gif(trace, folder / "glimpses.gif", per_row=per_row, palette=args.box_colours)
            save_grid_png(samples.cpu().numpy(), folder / "samples.png", per_row=per_row)
            note = f", images in {folder}"
        printer.message(f"{reason} at step {trainer.step}: checkpoint {path}{note}")
        live.checkpoint_saved()

    def evaluate_and_report():
        if args.no_eval:
            return
        e = trainer.evaluate(progress=printer.evaluating)
        if e is None:  # Ctrl-C during the evaluation
            return
        printer.message(f"step {trainer.step} test NLL bound {e.nll_bound:.2f} nats "
                        f"(Lx {e.recon:.2f}, Lz {e.kl:.2f}) on {e.images} test images")
        live.evaluated()

    def on_epoch_end(epoch: int):
        last = trainer.step == trainer.total_steps
        evaluate_and_report()
        if (epoch + 1) % save_interval == 0 and not last:
            save(f"epoch {epoch + 1}")
        if dist is not None:
            dist.barrier()  # the other ranks waited here meanwhile

    live = start_live_run(args, trainer, batches, run, device, dataset, data, dist, save=save, continues=restored)

    # Ctrl-C (or SIGTERM) stops between steps and saves, instead of losing the run.
    with stop_on_signals(trainer):
        try:
            outcome = trainer.run(on_progress=lambda p: (printer(p), live.on_progress(p)), on_epoch_end=on_epoch_end)
        except NonFiniteLoss as e:
            printer.message(f"draw-gui: stopped: {e}", error=True)
            save("last good state")
            live.finish("failed")
            return 1
        except BaseException:
            live.finish("failed")
            raise
    if trainer.compile_note:
        printer.message(trainer.compile_note)
    if outcome == "stopped":
        save("interrupted")
        live.finish("stopped")
        return 130
    if trainer.step % trainer.steps_per_epoch != 0:  # epoch ends were already evaluated
        evaluate_and_report()
    if trainer.elapsed_s >= 30:  # shorter runs are dominated by the first snapshot
        printer.message(upkeep_line(live, trainer))
    save("finished")
    live.finish("finished")
    return 0
