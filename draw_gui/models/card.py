"""What the window shows: which model (ShownModel), and its card for Help → About this model.

Plain data and text only (no Qt, no torch): the window fills a ShownModel when it asks for a
model, and about_html() writes the About box from it and the worker's RunInfo: a shipped model's
card.json (how it was trained, its test figures), else what the checkpoint itself knows.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.config import RESTART_WARMUP_STEPS
from draw_gui.text import format_duration

if TYPE_CHECKING:
    from core.config import DrawConfig
    from draw_gui.models.shipped import ShippedModel


@dataclass(frozen=True)
class ShownModel:
    name: str                        # "mnist (shipped)", "run.pt", "new model"
    path: str | None = None          # its checkpoint file (None: trained here and not saved)
    shipped: ShippedModel | None = None
    read_only: bool = False          # shown only: never saved over (a shipped model, another's run)
    continued_from: str = ""         # the name of the model it was continued from, if it was


def attention_text(m: DrawConfig) -> str:
    """'gaussian attention r2 w5', 'spatial transformer r2 w5', 'no attention'."""
    if m.attention == "gaussian":
        return f"gaussian attention r{m.read_size} w{m.write_size}"
    if m.attention == "spatial":
        return f"spatial transformer{' + rotation' if m.spatial_rotation else ''} r{m.read_size} w{m.write_size}"
    return "no attention"


def best_eval(evals) -> dict | None:
    rows = [e for e in evals or [] if isinstance(e.get("nll_bound"), (int, float)) and math.isfinite(e["nll_bound"])]
    return min(rows, key=lambda e: e["nll_bound"]) if rows else None


def _e(text) -> str:
    return html.escape(str(text), quote=False)


def _model_line(m) -> str:
    """'gaussian attention r2 w5 · T 64 · LSTM 256 · z 100' (m: DrawConfig)."""
    return f"{attention_text(m)} · T {m.glimpses} · LSTM {m.enc_size} · z {m.z_size}"


def _rows(rows) -> str:
    return "<table cellspacing='2'>" + "".join(
        f"<tr><td style='padding-right: 12px; color: grey;'>{_e(k)}</td><td>{v}</td></tr>"
        for k, v in rows if v not in (None, "")) + "</table>"


def _rate(info) -> str:
    """'0.0001 now, × 0.874 per epoch': the learning rate in effect (of a file shown: at its last
    step), not the base its schedule counts from."""
    tr = info.train
    now = info.last_lr if info.last_lr is not None else tr.lr
    text = f"{now:.3g}"
    scheduled = tr.lr_at(info.epoch)
    if not info.view_only and now < scheduled * (1 - 1e-6):   # restarted without optimizer state
        text += (f" now, rising to {scheduled:.3g} over the first {RESTART_WARMUP_STEPS} steps "
                 "(continued without its optimizer state)")
        return text + (f", then × {tr.lr_decay:g} per epoch" if tr.lr_decay != 1 else "")
    if tr.lr_decay != 1:
        text += f" {'at its last step' if info.view_only else 'now'}, × {tr.lr_decay:g} per epoch"
    return text


# Characters of a card's command About shows; a longer one (the shipped mnist's, continued five
# times, has 1,900) is cut there and given whole under Show Details…, so the box fits a 768-pixel screen
COMMAND_SHOWN = 240


def _code(text: str) -> str:
    return f"<code>{_e(text)}</code>"


def about_html(shown: ShownModel, info) -> str:
    """The About this model text (rich text). info: worker.RunInfo of the model shown."""
    if shown.shipped is not None and not shown.continued_from:
        return _card_html(shown, info)
    return _checkpoint_html(shown, info)


def _card_html(shown: ShownModel, info) -> str:
    card = shown.shipped.card
    e, t = card.get("evaluation") or {}, card.get("training") or {}
    figures = []
    if "test_nll_bound" in e:
        figures.append(("test NLL bound", f"<b>{e['test_nll_bound']:.2f} nats</b> on the "
                                           f"{e.get('test_images', 10000):,} test images "
                                           f"({_e(e.get('binarization', 'stochastic'))} binarization)"))
    if e.get("nll_iw") is not None:
        figures.append(("IWAE estimate", f"{e['nll_iw']:.2f} nats (k = {e.get('iw_k')}, first "
                                          f"{e.get('iw_images', 0):,} test images)"))
    if card.get("paper_nll") is not None:
        figures.append(("the paper's figure", f"≤ {card['paper_nll']:.2f} nats (Gregor et al. 2015, Table 2)"))
    if "recon" in e and "kl" in e:
        figures.append(("reconstruction + KL", f"{e['recon']:.2f} + {e['kl']:.2f} nats"))
    training = [
        ("epochs", f"{t['epochs']:g}" if "epochs" in t else None),
        ("steps", f"{t['steps']:,}" if "steps" in t else None),
        ("images seen", f"{t['images_seen']:,}" if "images_seen" in t else None),
        ("batch size", f"{t['batch_size']:,}" if "batch_size" in t else None),
        ("learning rate", _e(_rate(info)) if info is not None else None),
        ("wall time", format_duration(t["wall_time_s"]) if "wall_time_s" in t else None),
        ("hardware", _e(t.get("hardware", ""))),
        ("torch", _e(t.get("torch", ""))),
        ("date", _e(t.get("date", ""))),
    ]
    m = info.model if info is not None else None
    model = [("dataset", _e(card.get("dataset", ""))),
             ("model", _e(_model_line(m)) if m is not None else "")]
    parts = [f"<h3>{_e(shown.shipped.title)}</h3>",
             f"<p>Ships with draw-gui as <b>{_e(shown.shipped.name)}</b> (read-only; "
             "Continue training trains a copy).</p>",
             _rows(model), "<h4>Test figures</h4>", _rows(figures), "<h4>Training</h4>", _rows(training)]
    for label, command in _commands(card):
        if len(command) > COMMAND_SHOWN:   # a model continued many times: the box would outgrow the screen
            command = command[:COMMAND_SHOWN].rsplit(" ", 1)[0] + " … (the whole command: Show Details…)"
        parts.append(f"<p><span style='color: grey;'>{label}</span><br>{_code(command)}</p>")
    return "".join(parts)


def _commands(card: dict) -> list[tuple[str, str]]:
    """(label, command) of a model card's training and evaluation commands."""
    t, e = card.get("training") or {}, card.get("evaluation") or {}
    return [(label, c) for label, c in (("training command", t.get("command")), ("evaluation command", e.get("command")))
            if c]


def about_details(shown: ShownModel) -> str:
    """The whole commands of a shipped model's card, where About shows them cut short (its Show
    Details… text); "" where the box holds them whole."""
    if shown.shipped is None or shown.continued_from:
        return ""
    commands = _commands(shown.shipped.card)
    if all(len(c) <= COMMAND_SHOWN for _, c in commands):
        return ""
    return "\n\n".join(f"{label}:\n{c}" for label, c in commands)


def _checkpoint_html(shown: ShownModel, info) -> str:
    """A model without a card: what its checkpoint (or this window's run) knows."""
    parts = [f"<h3>{_e(shown.name)}</h3>"]
    if shown.path:
        parts.append(f"<p>{_code(shown.path)}</p>")
    if shown.continued_from:
        parts.append(f"<p>Continued from {_e(shown.continued_from)}"
                     + (" (its model card: File → Open shipped model)" if shown.shipped is not None else "")
                     + ".</p>")
    if info is None:
        return "".join(parts) + "<p>No model has loaded yet.</p>"
    m, tr = info.model, info.train
    best = best_eval(info.evals)
    steps = info.history.get("step") if info.history else None
    seconds = info.history.get("time") if info.history else None
    rows = [
        ("dataset", _e(info.dataset)),
        ("model", _e(_model_line(m))),
        ("step", f"{info.step:,}"),
        ("epochs", f"{info.epoch:,}" if info.epoch else None),
        ("best test NLL bound", f"<b>{best['nll_bound']:.2f} nats</b> at step {int(best['step']):,}" if best
         else "not evaluated yet (training evaluates after every epoch)"),
        ("training", _e(f"{tr.optimizer}, learning rate {_rate(info)}, batch size {tr.batch_size:,}")),
        ("training time", format_duration(info.elapsed_s) if info.elapsed_s else
         format_duration(float(seconds[-1])) if seconds is not None and len(seconds) else None),
        # a file's; a run training here records every step it takes, so its step says as much
        ("loss history", f"{len(steps):,} steps recorded" if info.view_only and steps is not None and len(steps)
         else None),
    ]
    parts.append(_rows(rows))
    return "".join(parts)
