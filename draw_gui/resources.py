"""Where the application's own files are (icons, the .desktop launcher, the embedded MNIST sample,
the shipped models): the repository's resources/ folder, which is package data once installed.

- an installed wheel: the folder is installed as draw_gui/_resources (pyproject.toml maps it);
- the PyInstaller bundle: draw-gui.spec copies it to resources/ beside the executable's files;
- a source checkout (editable install, or `python -m draw_gui` from the repository): resources/.
"""
import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent


def resource_folder() -> Path:
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    installed = _HERE / "_resources"
    if installed.is_dir():
        return installed
    return _HERE.parent / "resources"


def resource_path(name: str) -> Path:
    return resource_folder() / name


# Data sets whose test split begins with the embedded sample's test digits (the first MNIST ones)
MNIST_SETS = ("mnist", "binarized-mnist")


def embedded_stand_in(dataset: str):
    """What the window trains on when `dataset` is not on this machine, or None: the embedded MNIST
    sample for the MNIST sets, and two digits per image made from it for two-digit MNIST."""
    if dataset in MNIST_SETS:
        return embedded_mnist()
    if dataset == "two-digit-mnist":
        from core.data import two_digit_mnist
        return two_digit_mnist(embedded_mnist())
    return None


def embedded_mnist():
    """The embedded MNIST sample as core.data.ImageData (imports torch): what the window trains on
    offline, and where MNIST models' first test digits come from when MNIST is not on disk."""
    from core.data import load_embedded_mnist
    return load_embedded_mnist(resource_path("mnist_sample.npz"))
