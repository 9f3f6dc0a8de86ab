"""Datasets for DRAW: load images into memory as uint8 tensors, then serve training batches.

Everything is held in memory (the largest set, SVHN train, is ~220 MB as uint8), so batches are
plain slices of one tensor on the training device: no DataLoader, no per-item Python. `data_dir`
is the `root` torchvision would use, so existing torchvision downloads are found where they are.
"""
from __future__ import annotations

import gzip
import os
import pathlib
import shutil
import tarfile
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

DATASETS = ("mnist", "binarized-mnist", "two-digit-mnist", "fashion-mnist", "cifar10", "svhn", "folder")

# Spellings accepted on the command line, including the old Torch script's (after lower-casing
# and turning "_" and " " into "-").
_ALIASES = {
    "mnist": "mnist",
    "binarized-mnist": "binarized-mnist", "binarised-mnist": "binarized-mnist",
    "binarizedmnist": "binarized-mnist", "bmnist": "binarized-mnist", "binary-mnist": "binarized-mnist",
    "two-digit-mnist": "two-digit-mnist", "two-digits-mnist": "two-digit-mnist", "twodigit-mnist": "two-digit-mnist",
    "mnist-two-digits": "two-digit-mnist", "two-digits": "two-digit-mnist", "2-digit-mnist": "two-digit-mnist",
    "fashion-mnist": "fashion-mnist", "fashionmnist": "fashion-mnist", "fashion": "fashion-mnist",
    "fmnist": "fashion-mnist",
    "cifar10": "cifar10", "cifar-10": "cifar10", "cifar": "cifar10",
    "svhn": "svhn",
    "folder": "folder", "images": "folder", "image-folder": "folder",
}

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
_WHAT_TO_DO = ("Download them on a connected machine and copy them there, "
               "or pass --data-dir DIR / set DRAW_GUI_DATA to a folder that already holds them.")
_EVAL_SEED = 20150216  # fixed seed of the evaluation binarization; never the training seed


class DataUnavailable(Exception):
    """Raised with a complete, user-facing, multi-sentence message (no traceback needed)."""


def canonical_dataset_name(name: str) -> str:
    key = str(name).strip().lower().replace("_", "-").replace(" ", "-")
    if key not in _ALIASES:
        raise ValueError(f"Unknown dataset {name!r}. Valid names: {', '.join(DATASETS)}.")
    return _ALIASES[key]


def default_data_dir() -> pathlib.Path:
    env = os.environ.get("DRAW_GUI_DATA")
    if env:
        return pathlib.Path(env).expanduser()
    import platformdirs
    return pathlib.Path(platformdirs.user_cache_dir("draw-gui")) / "data"


@dataclass
class ImageData:
    name: str                    # canonical dataset name
    train: torch.Tensor          # uint8 (N, C, H, W), values 0..255
    test: torch.Tensor           # uint8 (M, C, H, W)
    binarization: str            # "threshold" | "stochastic" | "none"
    source: str                  # human-readable origin, e.g. "/path/MNIST/raw (torchvision)"

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.train.shape[1:])


# -----------------------------------------------------------------------------
# torchvision sets

_BINARIZATION = {"mnist": "threshold", "binarized-mnist": "stochastic", "fashion-mnist": "none",
                 "cifar10": "none", "svhn": "none"}
_MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
_CIFAR_FILES = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5",
                "test_batch", "batches.meta")


def _short(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _unpack_local(name: str, root: pathlib.Path) -> None:
    # torchvision only reads the unpacked files; unpack archives a user copied in by hand so
    # they work with download off (torchvision would otherwise only unpack its own downloads).
    if name in ("mnist", "binarized-mnist", "fashion-mnist"):
        raw = root / ("FashionMNIST" if name == "fashion-mnist" else "MNIST") / "raw"
        for f in _MNIST_FILES:
            if not (raw / f).is_file() and (raw / (f + ".gz")).is_file():
                with gzip.open(raw / (f + ".gz"), "rb") as src, open(raw / f, "wb") as dst:
                    shutil.copyfileobj(src, dst)
    elif name == "cifar10":
        tgz = root / "cifar-10-python.tar.gz"
        if not (root / "cifar-10-batches-py" / "test_batch").is_file() and tgz.is_file():
            with tarfile.open(tgz, "r:gz") as tar:
                safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}  # no paths outside root
                tar.extractall(root, **safe)


def _where(name: str, root: pathlib.Path) -> tuple[pathlib.Path, tuple[str, ...], str]:
    """The folder a set's files live in, the files torchvision reads there, and a note on them."""
    if name == "cifar10":
        return (root / "cifar-10-batches-py", _CIFAR_FILES,
                f" (or the archive cifar-10-python.tar.gz in {root})")
    if name == "svhn":
        return root, ("train_32x32.mat", "test_32x32.mat"), ""
    raw = root / ("FashionMNIST" if name == "fashion-mnist" else "MNIST") / "raw"
    return raw, _MNIST_FILES, " (each may also be gzipped, ending in .gz)"


def _read_torchvision(name: str, root: pathlib.Path, download: bool) -> tuple[torch.Tensor, torch.Tensor]:
    from torchvision import datasets
    r = str(root)
    if name == "svhn":
        sets = [datasets.SVHN(r, split=s, download=download) for s in ("train", "test")]
        return tuple(torch.from_numpy(np.ascontiguousarray(s.data)) for s in sets)  # (N, 3, 32, 32)
    if name == "cifar10":
        sets = [datasets.CIFAR10(r, train=t, download=download) for t in (True, False)]
        return tuple(torch.from_numpy(s.data).permute(0, 3, 1, 2).contiguous() for s in sets)  # HWC -> CHW
    cls = datasets.FashionMNIST if name == "fashion-mnist" else datasets.MNIST
    sets = [cls(r, train=t, download=download) for t in (True, False)]
    return tuple(s.data.unsqueeze(1) for s in sets)  # (N, 28, 28) -> (N, 1, 28, 28)


def _load_torchvision(name: str, root: pathlib.Path, download: bool) -> tuple[torch.Tensor, torch.Tensor, str]:
    title = {"mnist": "MNIST", "binarized-mnist": "Binarized MNIST (the MNIST files)",
             "fashion-mnist": "Fashion-MNIST", "cifar10": "CIFAR-10", "svhn": "SVHN"}[name]
    folder, files, note = _where(name, root)
    if name == "svhn":
        try:
            import scipy.io  # noqa: F401  (torchvision reads SVHN's .mat files with it)
        except ImportError:
            raise DataUnavailable(
                "SVHN is stored as MATLAB .mat files, and reading them needs the scipy package, "
                "which is not installed. Install it with: pip install scipy") from None
    try:
        _unpack_local(name, root)
        train, test = _read_torchvision(name, root, download=False)
        return train, test, f"{folder} (torchvision)"
    except Exception as e:  # missing or corrupted files: try to download, else explain
        missing = [f for f in files if not ((folder / f).is_file() or (folder / (f + ".gz")).is_file())]
        if len(missing) == len(files):
            found = "none of them is there"
        elif missing:
            found = f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing there"
        elif "corrupted" in str(e) and name in ("cifar10", "svhn"):
            # torchvision's "Dataset not found or corrupted. You can use download=True" means,
            # for files that are there, that their MD5 sums are not the published ones.
            found = ("they are there but do not match the published checksums (a damaged or "
                     "incomplete copy, or other files of the same name); replace them with fresh copies")
        else:
            found = f"they are there but could not be read ({_short(e)})"
    if not download:
        why = "Downloading is turned off"
    else:
        try:
            root.mkdir(parents=True, exist_ok=True)
            train, test = _read_torchvision(name, root, download=True)
            return train, test, f"{folder} (torchvision, downloaded)"
        except Exception as e:  # URLError, RuntimeError, OSError, ...: no traceback for the user
            why = f"Downloading them failed ({_short(e)})"
    raise DataUnavailable(
        f"The {title} dataset is not available. It was looked for in {folder}, which needs the files "
        f"{', '.join(files)}{note}; {found}. {why}. {_WHAT_TO_DO}")


def _check_fits(images: int, channels: int, size: int, name: str) -> None:
    """DataUnavailable when the data set at this size would not fit in free memory (it is held there)."""
    from core.config import available_memory
    need, free = images * channels * size * size, available_memory()
    if free is not None and need > free:
        raise DataUnavailable(f"{name} at {size}x{size} pixels needs {need / 2**30:.1f} GB of memory for its "
                              f"{images:,} images and this machine has {free / 2**30:.1f} GB free; use a smaller "
                              "--image-size")


def _resize(x: torch.Tensor, size: int, chunk: int = 4096) -> torch.Tensor:
    # one batched interpolate per chunk (bounded memory); antialias matters when shrinking
    out = torch.empty((x.shape[0], x.shape[1], size, size), dtype=torch.uint8)
    for i in range(0, x.shape[0], chunk):
        y = F.interpolate(x[i:i + chunk].float(), size=(size, size), mode="bilinear",
                          align_corners=False, antialias=True)
        out[i:i + chunk] = y.round_().clamp_(0, 255).to(torch.uint8)
    return out


def _set_channels(x: torch.Tensor, grayscale: bool | None) -> torch.Tensor:
    if grayscale is None or (x.shape[1] == 1) == grayscale:
        return x
    if grayscale:  # ITU-R 601 luma, as PIL's convert("L")
        w = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
        return (x.float() * w).sum(1, keepdim=True).round_().clamp_(0, 255).to(torch.uint8)
    return x.expand(-1, 3, -1, -1).contiguous()


# -----------------------------------------------------------------------------
# a folder of the user's images

def _open_image(path: pathlib.Path, size: int) -> tuple[np.ndarray, bool]:
    """(size, size, 3) uint8 RGB, centre-cropped to a square and resized; and whether it is grey."""
    from PIL import Image
    with Image.open(path) as img:
        img.seek(0)  # first frame of GIF/TIFF stacks
        img.load()
        mode = img.mode
        grey = mode in ("1", "L", "LA", "I", "I;16", "I;16L", "I;16B", "F")
        if mode.startswith(("I", "F")):  # 16-bit/float grey: scale instead of clipping at 255
            a = np.asarray(img, dtype=np.float64)
            a = a * (255.0 / 65535.0) if a.max() > 255 else a
            img = Image.fromarray(a.clip(0, 255).round().astype(np.uint8), mode="L")
        if "A" in img.mode or (img.mode == "P" and "transparency" in img.info):
            # composite transparent pixels onto black: what's under alpha 0 is arbitrary
            rgba = img.convert("RGBA")
            img = Image.new("RGB", rgba.size)
            img.paste(rgba, mask=rgba.getchannel("A"))
        img = img.convert("RGB")
    w, h = img.size
    s = min(w, h)
    img = img.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
    if s != size:
        img = img.resize((size, size), Image.Resampling.LANCZOS)
    a = np.asarray(img, dtype=np.uint8)
    # RGB files with equal channels count as grey (JPEG may leave off-by-one differences)
    spread = int((a.max(axis=2).astype(np.int16) - a.min(axis=2)).max())
    return a, grey or spread <= 2


def _load_folder(path: pathlib.Path, size: int, grayscale: bool | None,
                 test_fraction: float) -> tuple[torch.Tensor, torch.Tensor, str]:
    exts = ", ".join(IMAGE_EXTENSIONS)
    if not path.is_dir():
        raise DataUnavailable(
            f"The image folder {path} does not exist or is not a folder. Choose a folder that "
            f"contains your images (files ending in {exts}), e.g. with --folder DIR.")
    files = sorted((p for p in path.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()),
                   key=lambda p: p.relative_to(path).as_posix())
    if not files:
        raise DataUnavailable(
            f"The folder {path} contains no images. It was searched, with its subfolders, for "
            f"files ending in {exts}. Put your images there or choose another folder.")
    _check_fits(len(files), 3, size, str(path))
    images, greys, bad = [], [], []
    for f in files:
        try:
            a, g = _open_image(f, size)
        except Exception as e:  # unreadable or not really an image: skip it, say so in `source`
            bad.append((f, e))
            continue
        images.append(a)
        greys.append(g)
    if not images:
        f, e = bad[0]
        raise DataUnavailable(
            f"None of the {len(files)} image files in {path} could be read (e.g. {f.name}: {_short(e)}). "
            f"Accepted formats are files ending in {exts}.")
    if len(images) < 2:
        raise DataUnavailable(
            f"The folder {path} has only one readable image; at least two are needed "
            f"(one to train on and one to test on). Add more images to the folder.")
    grey = all(greys) if grayscale is None else grayscale
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()  # (N, 3, S, S)
    x = _set_channels(x, True) if grey else x
    # a fixed-seed permutation of the sorted files: the same split on every machine and every run
    n = x.shape[0]
    n_test = min(n - 1, max(1, round(n * test_fraction)))
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(0))
    skipped = f", {len(bad)} unreadable file{'s' if len(bad) != 1 else ''} skipped" if bad else ""
    return x[perm[:n - n_test]], x[perm[n - n_test:]], f"{path} ({n} images{skipped})"


def load_dataset(name: str, data_dir: str | os.PathLike | None = None, download: bool = True,
                 image_size: int | None = None, folder: str | os.PathLike | None = None,
                 grayscale: bool | None = None, test_fraction: float = 0.1) -> ImageData:
    """Load a whole dataset into memory as uint8 (N, C, H, W) tensors.

    image_size: None keeps the native size (32 for a folder); otherwise images become square of
    that size. grayscale: None keeps native channels (a folder auto-detects grey); True/False
    forces 1/3 channels. test_fraction: share of a folder's images held out for testing.
    """
    name = canonical_dataset_name(name)
    if image_size is not None and int(image_size) < 1:
        raise ValueError(f"image_size must be a positive number of pixels, got {image_size}.")
    if name == "folder":
        if not 0.0 <= test_fraction < 1.0:
            raise ValueError(f"test_fraction must be in [0, 1), got {test_fraction}.")
        where = folder if folder is not None else data_dir
        if where is None:
            raise DataUnavailable(
                "The folder dataset needs a folder of images. Choose one, e.g. with --folder DIR.")
        path = pathlib.Path(where).expanduser().resolve()
        train, test, source = _load_folder(path, int(image_size or 32), grayscale, test_fraction)
        return ImageData(name, train, test, "none", source)
    if name == "two-digit-mnist":
        try:
            digits = load_dataset("mnist", data_dir=data_dir, download=download)
        except DataUnavailable as e:
            raise DataUnavailable(f"Two-digit MNIST is made from the MNIST digits. {e}") from None
        _check_fits(digits.train.shape[0] + digits.test.shape[0], 1, max(TWO_DIGIT_SIZE, int(image_size or 0)),
                    "Two-digit MNIST")
        data = two_digit_mnist(digits)
        return ImageData(data.name, *_sized(data.train, data.test, image_size, grayscale, "Two-digit MNIST"),
                         data.binarization, data.source)
    root = pathlib.Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    if data_dir is not None and not root.is_dir():
        # torchvision would create it to download into: a mistyped folder must not appear on disk
        raise DataUnavailable(f"The data folder {root} does not exist. Choose the folder that holds {name} "
                              f"(for MNIST, the one with MNIST/raw in it), or give none to use the default cache "
                              f"folder {default_data_dir()}, where draw-gui downloads it.")
    train, test, source = _load_torchvision(name, root.resolve(), download)
    train, test = _sized(train, test, image_size, grayscale, name)
    return ImageData(name, train.contiguous(), test.contiguous(), _BINARIZATION[name], source)


def _sized(train: torch.Tensor, test: torch.Tensor, image_size: int | None,
           grayscale: bool | None, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Both splits at image_size x image_size (None: as they are), with the channels asked for;
    a size that would not fit in memory is refused before resizing, naming the data set."""
    if image_size is not None and train.shape[-1] != int(image_size):
        _check_fits(train.shape[0] + test.shape[0], train.shape[1], int(image_size), name)
        train, test = _resize(train, int(image_size)), _resize(test, int(image_size))
    return _set_channels(train, grayscale), _set_channels(test, grayscale)


# -----------------------------------------------------------------------------
# training-time batches

_MASK = (1 << 64) - 1


def _mix(*values: int) -> int:
    """A stable 63-bit seed from integers (splitmix64 steps): unlike hash(), the same everywhere."""
    h = 0x9E3779B97F4A7C15
    for v in values:
        h = ((h ^ (int(v) & _MASK)) * 0xBF58476D1CE4E5B9) & _MASK
        h = ((h ^ (h >> 31)) * 0x94D049BB133111EB) & _MASK
        h ^= h >> 29
    return h >> 1


def _noise(shape, seed: int) -> torch.Tensor:
    # uint8 u uniform on 0..254, so P(x > u) = x / 255 exactly. Drawn on the CPU so the same
    # (seed, epoch, index) gives the same bits on any device; it is 1 byte per pixel to move.
    return torch.randint(0, 255, tuple(shape), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


class Batches:
    """Serves float batches in [0, 1] from uint8 images held once on `device`."""

    def __init__(self, data: ImageData, batch_size: int, device: torch.device | str = "cpu", seed: int = 0):
        n = data.train.shape[0]
        if batch_size < 1:
            raise ValueError(f"The batch size must be at least 1, got {batch_size}.")
        if n < batch_size:
            raise ValueError(
                f"The batch size {batch_size} is larger than the {n} training images of {data.name}. "
                f"Choose a batch size of at most {n}.")
        if data.binarization not in ("threshold", "stochastic", "none"):
            raise ValueError(f"Unknown binarization {data.binarization!r}.")
        self.data, self.batch_size, self.seed = data, int(batch_size), int(seed)
        self.device = torch.device(device)
        self.train = data.train.to(self.device)
        self.test = data.test.to(self.device)
        self._epoch, self._perm, self._test_images = None, None, None

    @property
    def steps_per_epoch(self) -> int:
        return self.train.shape[0] // self.batch_size  # the last partial batch is dropped

    def _convert(self, x: torch.Tensor, noise_seed: int) -> torch.Tensor:
        how = self.data.binarization
        if how == "threshold":
            return (x > 127).float()
        if how == "stochastic":
            return (x > _noise(x.shape, noise_seed).to(x.device)).float()
        return x.float().div_(255.0)

    def batch(self, epoch: int, index: int) -> torch.Tensor:
        """float32 (B, C, H, W) in [0, 1] on device: the index-th batch of `epoch`.

        Depends on (seed, epoch, index) alone, so a resumed run sees the same batches with no
        saved RNG state.
        """
        if not 0 <= index < self.steps_per_epoch:
            raise IndexError(f"batch index {index} out of range 0..{self.steps_per_epoch - 1}")
        if epoch != self._epoch:  # one permutation per epoch, cached for its batches
            g = torch.Generator().manual_seed(_mix(self.seed, epoch))
            self._perm = torch.randperm(self.train.shape[0], generator=g).to(self.device)
            self._epoch = epoch
        idx = self._perm[index * self.batch_size:(index + 1) * self.batch_size]
        return self._convert(self.train.index_select(0, idx), _mix(self.seed, epoch, index, 1))

    def test_images(self) -> torch.Tensor:
        """float32 (M, C, H, W) on device in the fixed evaluation form (same for every training seed)."""
        if self._test_images is None:
            self._test_images = self._convert(self.test, _mix(_EVAL_SEED, 0))
        return self._test_images

    def examples(self, count: int, split: str = "test") -> torch.Tensor:
        """The first `count` images (fewer if the split is smaller) of a split in evaluation form."""
        if split == "test":
            return self.test_images()[:count]
        if split == "train":
            return self._convert(self.train[:count], _mix(_EVAL_SEED, 1))
        raise ValueError(f"split must be 'train' or 'test', got {split!r}.")

    def mean_image(self) -> torch.Tensor:
        """float32 (C, H, W): the training set's mean in training form (what c_0 starts from)."""
        total = torch.zeros(self.data.image_shape, dtype=torch.float64, device=self.device)
        for start in range(0, self.train.shape[0], 8192):
            chunk = self.train[start:start + 8192]
            total += ((chunk > 127).double() if self.data.binarization == "threshold" else chunk.double() / 255).sum(0)
        return (total / self.train.shape[0]).float()


# -----------------------------------------------------------------------------
# two-digit MNIST: the paper's "MNIST Generation with Two Digits"

TWO_DIGIT_SIZE = 60          # H = W of the paper's two-digit images
_TWO_DIGIT_SEEDS = {"train": 60, "test": 61}  # fixed: the same images on every machine


def two_digit_images(digits: torch.Tensor, count: int, seed: int, size: int = TWO_DIGIT_SIZE) -> torch.Tensor:
    """(count, 1, size, size) uint8: each image two different `digits` (N, 1, h, w) chosen at random,
    each at a random position wholly inside a black size x size canvas (uniform over the
    (size - h + 1) x (size - w + 1) places); where they overlap the intensities add, clipped at 255.

    As the paper describes its data: two random 28x28 MNIST digits at random places on a 60x60
    black background, pixel intensities added where they overlap and clipped at one. numpy's PCG64
    generator makes the images the same on every machine."""
    n, h, w = digits.shape[0], digits.shape[-2], digits.shape[-1]
    if digits.shape[1] != 1 or n < 2 or h > size or w > size:
        raise ValueError(f"two_digit_images needs at least 2 grey digits no larger than {size}x{size}, "
                         f"got {tuple(digits.shape)}")
    rng = np.random.default_rng(seed)
    first = rng.integers(0, n, count)
    second = (first + rng.integers(1, n, count)) % n          # never the same digit twice
    ys, xs = rng.integers(0, size - h + 1, (2, count)), rng.integers(0, size - w + 1, (2, count))
    src = digits[:, 0].numpy()
    canvas = np.zeros((count, size, size), np.uint16)
    for k, which in enumerate((first, second)):
        place = ys[k] * size + xs[k]
        order = np.argsort(place, kind="stable")   # images grouped by place: one slice per place
        places, starts = np.unique(place[order], return_index=True)
        for at, here in zip(places, np.split(order, starts[1:])):
            y, x = divmod(int(at), size)
            canvas[here, y:y + h, x:x + w] += src[which[here]]
    return torch.from_numpy(np.minimum(canvas, 255).astype(np.uint8)).unsqueeze(1)


def two_digit_mnist(digits: ImageData) -> ImageData:
    """Two-digit MNIST made from an MNIST set: as many 60x60 images per split as it has digits, the
    training images from its training digits and the test images from its test digits.

    The added grey levels are pixel probabilities, binarized stochastically like binarized-mnist
    (afresh each epoch for training, once with a fixed seed for the test bound)."""
    train = two_digit_images(digits.train, digits.train.shape[0], _TWO_DIGIT_SEEDS["train"])
    test = two_digit_images(digits.test, digits.test.shape[0], _TWO_DIGIT_SEEDS["test"])
    return ImageData("two-digit-mnist", train, test, "stochastic",
                     f"{digits.source}, two digits per {TWO_DIGIT_SIZE}x{TWO_DIGIT_SIZE} image")


def load_embedded_mnist(path: str | os.PathLike) -> ImageData:
    """The small MNIST sample shipped in resources/ (scripts/make_mnist_sample.py), for offline use.

    Already binarized at 0.5, so it is served as "threshold" data like full MNIST.
    """
    path = pathlib.Path(path)
    try:
        with np.load(path) as f:
            train = np.unpackbits(f["train"], axis=-1, count=28)
            test = np.unpackbits(f["test"], axis=-1, count=28)
    except (OSError, KeyError, ValueError) as e:
        raise DataUnavailable(f"The embedded MNIST sample {path} could not be read ({_short(e)}); "
                              "reinstall draw-gui.") from None
    as_images = lambda bits: torch.from_numpy(bits * np.uint8(255)).unsqueeze(1)  # noqa: E731  (N, 1, 28, 28)
    return ImageData(name="mnist", train=as_images(train), test=as_images(test), binarization="threshold",
                     source=f"embedded sample: {train.shape[0]:,} training digits ({path.name})")
