"""The main window's menu bar (File, Run, View, Help) and the About text.

build_menus gives the window the actions that other code enables and disables (open_action,
start_action, ...) and connects the Run panel's buttons to the same slots, so a menu item and its
button can never do different things.
"""
from __future__ import annotations

import weakref

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMessageBox, QStyle

from core.export import BOX_PALETTES
from draw_gui import __version__, logs

from draw_gui.follow import mode as follow_mode
from draw_gui.models.shipped import shipped_models
from draw_gui.widgets.slots import weakly

ABOUT = f"""<h3>draw-gui {__version__}</h3>
<p>Train and explore DRAW models: K. Gregor, I. Danihelka, A. Graves, D. J. Rezende, D. Wierstra,
<i>DRAW: A Recurrent Neural Network For Image Generation</i>, ICML 2015
(<a href="https://arxiv.org/abs/1502.04623">arXiv:1502.04623</a>).</p>
<p>Read boxes are green, write boxes red (View ▸ Box colours: blue and orange, colour-blind safe).</p>
<p><b>Data sets</b> (downloaded by torchvision, not part of draw-gui):<br>
MNIST: Y. LeCun, C. Cortes, C. J. C. Burges, CC BY-SA 3.0.<br>
Fashion-MNIST: H. Xiao, K. Rasul, R. Vollgraf (Zalando Research), MIT licence.<br>
CIFAR-10: no explicit licence; cite A. Krizhevsky, <i>Learning Multiple Layers of Features from
Tiny Images</i>, 2009.<br>
SVHN: for non-commercial use only; cite Y. Netzer et al., <i>Reading Digits in Natural Images with
Unsupervised Feature Learning</i>, NIPS Workshop 2011.</p>
<p>draw-gui is free software under the MIT licence.</p>"""


AUTOSAVE_CHOICES = (1, 2, 5, 10, 30)  # minutes


def build_menus(window) -> None:
    """The menus of `window` (a MainWindow), their shortcuts, and its Run panel buttons' slots."""
    def action(menu, text, slot, shortcut=None, tip=""):
        """shortcut: a key sequence ("Ctrl+O"), a QKeySequence.StandardKey (the platform's own keys
        for it, Ctrl+O or Cmd+O), or a list of those (the first is the one the menu shows)."""
        a = QAction(text, window)
        if shortcut:
            keys = []
            for s in shortcut if isinstance(shortcut, list) else [shortcut]:
                standard = QKeySequence.keyBindings(s) if isinstance(s, QKeySequence.StandardKey) else [QKeySequence(s)]
                keys += [k for k in standard if k not in keys]
            a.setShortcuts(keys)
            a.setShortcutContext(Qt.ApplicationShortcut)
        a.setStatusTip(tip)
        a.triggered.connect(slot)
        menu.addAction(a)
        return a

    bar = window.menuBar()
    file = bar.addMenu("&File")
    window.open_action = action(file, "&Open checkpoint…", window.open_checkpoint,
                                [QKeySequence.StandardKey.Open, "Ctrl+O"],
                                "open a checkpoint (paused); Resume continues its run")
    window.shipped_menu = file.addMenu("Open shipped &model")
    window.shipped_menu.setToolTipsVisible(True)
    for m in shipped_models():
        a = action(window.shipped_menu, f"{m.name} — {m.title}",
                   lambda _=False, n=m.name, show=weakly(window.open_shipped): show(n),
                   tip=f"show the trained model {m.name}, read-only: {m.summary()}")
        a.setToolTip(m.summary())
    window.shipped_menu.setEnabled(bool(window.shipped_menu.actions()))
    window.recent_menu = file.addMenu("Open &recent")
    window.follow_action = action(file, "&Follow run folder…",
                                  lambda _=False, follow=weakly(window.follow_run): follow(), "Ctrl+Shift+O",
                                  "show a run that `draw-gui train --out DIR` writes, live (here, synced or mounted)")
    window.follow_recent_menu = file.addMenu("Follow re&cent run")
    window.stop_follow_action = action(file, "Stop follo&wing", window.stop_following, tip="back to training here")
    follow_mode.fill_recent(window)
    action(file, "&Compare runs…", lambda _=False, compare=weakly(window.compare_runs): compare(None), None,
           "open run folders side by side in the Compare tab: losses, glimpses, samples")
    window.save_action = action(file, "&Save checkpoint", window.save_checkpoint,
                                [QKeySequence.StandardKey.Save, "Ctrl+S"])
    window.save_as_action = action(file, "Save checkpoint &as…",
                                   lambda _=False, save=weakly(window.save_checkpoint): save(ask=True),
                                   [QKeySequence.StandardKey.SaveAs, "Ctrl+Shift+S"])
    window.autosave_menu = file.addMenu("A&utosave every")
    window.autosave_menu.setToolTipsVisible(True)
    group = QActionGroup(window)
    for minutes in AUTOSAVE_CHOICES:
        a = action(window.autosave_menu, f"{minutes:g} minute{'s' if minutes != 1 else ''}",
                   lambda _=False, m=minutes, set_=weakly(window.set_autosave_minutes): set_(m),
                   tip="how often a run writes its checkpoint into its run folder while training; it also does "
                       "at every Pause and Stop, at the end and on closing")
        a.setCheckable(True)
        a.setChecked(minutes == window.autosave_minutes())
        group.addAction(a)
    file.addSeparator()
    window.quit_action = action(file, "&Quit", window.close, [QKeySequence.StandardKey.Quit, "Ctrl+Q"])
    window.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
    run = bar.addMenu("&Run")
    window.start_action = action(run, "&Start", lambda _=False, start=weakly(window.start): start(), "Ctrl+Return",
                                 "train a new model from scratch with the Run panel's settings, in a new run folder")
    window.start_in_folder_action = action(run, "Start in &folder…", window.start_in_folder, None,
                                           "train a new model, writing its run folder where you choose")
    window.continue_action = action(run, "&Continue training", window.continue_training, "Ctrl+Shift+Return",
                                    "train the model shown further from its step, at the Run panel's batch size")
    window.pause_action = action(run, "&Pause / Resume", window.toggle_pause, "Space")
    window.step_action = action(run, "S&tep", window.step_once, ".", "one training step while paused")
    window.stop_action = action(run, "St&op", window.stop, "Ctrl+.", "stop training (the model is kept)")
    run.addSeparator()
    window.tensorboard_action = action(run, "Write &TensorBoard logs", window.set_tensorboard, None,
                                       "runs started from now on also write TensorBoard events into their run "
                                       "folder: tensorboard --logdir on the runs folder shows them")
    window.tensorboard_action.setCheckable(True)
    window.tensorboard_action.setChecked(window.tensorboard_enabled())
    window.background_compile_action = action(
        run, "&Compile the training step in the background", window.set_background_compile, None,
        "long runs on the CPU train at once with the plain step while another process compiles a faster one "
        "(torch.compile); training switches to it when it is ready")
    window.background_compile_action.setCheckable(True)
    window.background_compile_action.setChecked(window.background_compile_enabled())
    view = bar.addMenu("&View")
    action(view, "&Refresh glimpses", window.glimpse_view.refresh_requested.emit, "F5")
    view.addAction(window.config_dock.toggleViewAction())
    window.box_colours_menu = view.addMenu("&Box colours")
    window.box_colours_menu.setToolTipsVisible(True)
    window.box_colour_actions = {}
    group = QActionGroup(window)
    for name, colours in BOX_PALETTES.items():
        a = action(window.box_colours_menu, colours.label,
                   lambda _=False, n=name, set_=weakly(window.set_box_palette): set_(n),
                   tip=f"read boxes {colours.read_name}, write boxes {colours.write_name}, in every view and "
                       "in saved images" + ("; green and red are the pair the commonest colour blindness "
                                            "confuses" if name != "classic" else ""))
        a.setCheckable(True)
        a.setChecked(name == window.box_palette())
        group.addAction(a)
        window.box_colour_actions[name] = a
    help_menu = bar.addMenu("&Help")
    window.about_model_action = action(help_menu, "About this &model…", window.about_model, "F1",
                                       "the model card of the model shown: its test figures and how it was trained")
    window.about_model_action.setIcon(window.style().standardIcon(QStyle.SP_MessageBoxInformation))
    window.open_log_action = action(
        help_menu, "Open &log folder",
        lambda _=False, tell=weakly(window.show_error): logs.open_log_folder() or tell(
            "Open log folder", f"The desktop could not open {logs.log_folder()}: the log is draw-gui.log there."),
        tip=f"show draw-gui's log files in the file manager ({logs.log_folder()}): its warnings and errors, "
            "with their details, for a bug report")
    help_menu.addSeparator()
    action(help_menu, "&About draw-gui",
           lambda _=False, ref=weakref.ref(window): QMessageBox.about(ref(), "About draw-gui", ABOUT))
    window.start_button.clicked.connect(window.start)
    window.continue_button.clicked.connect(window.continue_training)
    window.pause_button.clicked.connect(window.toggle_pause)
    window.step_button.clicked.connect(window.step_once)
    window.stop_button.clicked.connect(window.stop)
    window.start_button.setToolTip("train a new model from scratch with these settings (Ctrl+Enter)")
    window.continue_button.setToolTip(
        "train the model shown further, from its step, on the data set it was trained on (Ctrl+Shift+Enter): "
        "for this panel's epochs more, at this panel's batch size and on its device (a shipped model was "
        "trained at batch 1,024 on a GPU; a small batch keeps a CPU responsive), its learning rate "
        "schedule where it left off. A shipped model's file is never written: saving asks for a new file")
    window.pause_button.setToolTip("pause or resume training (Space)")
    window.step_button.setToolTip("one training step while paused (.)")
    window.stop_button.setToolTip("stop training; the model stays for viewing and saving")
