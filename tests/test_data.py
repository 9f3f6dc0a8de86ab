"""core.data: dataset loading (real MNIST, small real-format stand-ins for the others) and Batches."""
import dataclasses
import gzip
import os
import pickle
import struct
import sys
import tarfile
import urllib.error
import urllib.request

import numpy as np
import pytest
import torch
from PIL import Image

from core.data import (DATASETS, Batches, DataUnavailable, ImageData, canonical_dataset_name,
                       default_data_dir, load_dataset)

from tests.conftest import MNIST_SAMPLE_TEST, MNIST_SAMPLE_TRAIN


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    """MNIST as load_dataset reads it from mnist_dir's files: the embedded sample's digits."""
    return load_dataset("mnist", data_dir=mnist_dir, download=False)


@pytest.fixture
def no_network(monkeypatch):
    """Make every torchvision download fail as it would offline; records the URLs it tried."""
    tried = []

    def refuse(request, *args, **kwargs):
        tried.append(getattr(request, "full_url", request))
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    return tried


def indexed_data(n, binarization="threshold", test=3):
    """Tiny (n, 1, 2, 2) set whose image i holds the value i everywhere: batches reveal their indices."""
    train = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 1, 2, 2).contiguous()
    return ImageData("mnist", train, train[:test].clone(), binarization, "test")


def constant_data(value, n=64, binarization="stochastic"):
    x = torch.full((n, 1, 28, 28), value, dtype=torch.uint8)
    return ImageData("binarized-mnist", x, x[:16].clone(), binarization, "test")


# -----------------------------------------------------------------------------
# names and folders

@pytest.mark.parametrize("spelling, name", [
    ("mnist", "mnist"), ("MNIST", "mnist"), ("CIFAR10", "cifar10"), ("cifar-10", "cifar10"),
    ("binarized_mnist", "binarized-mnist"), ("bmnist", "binarized-mnist"),
    ("fashion_mnist", "fashion-mnist"), ("fashion", "fashion-mnist"), ("SVHN", "svhn"),
    ("folder", "folder"), (" Fashion-MNIST ", "fashion-mnist"),
])
def test_canonical_dataset_name_accepts_old_spellings(spelling, name):
    assert canonical_dataset_name(spelling) == name


def test_unknown_dataset_name_lists_valid_names():
    with pytest.raises(ValueError) as err:
        canonical_dataset_name("imagenet")
    assert "imagenet" in str(err.value)
    for name in DATASETS:
        assert name in str(err.value)


def test_default_data_dir_honours_env(monkeypatch, tmp_path):
    monkeypatch.setenv("DRAW_GUI_DATA", str(tmp_path / "mine"))
    assert default_data_dir() == tmp_path / "mine"
    monkeypatch.delenv("DRAW_GUI_DATA")
    d = default_data_dir()
    assert d.name == "data" and "draw-gui" in str(d)


# -----------------------------------------------------------------------------
# MNIST files: mnist_dir's digits, the full set (shared_data) where a test needs all of it

def test_real_mnist_shapes_and_pixel_mean(shared_data):
    mnist = load_dataset("mnist", data_dir=shared_data, download=False)
    assert mnist.name == "mnist" and mnist.binarization == "threshold"
    assert mnist.train.shape == (60000, 1, 28, 28) and mnist.test.shape == (10000, 1, 28, 28)
    assert mnist.train.dtype == torch.uint8 and mnist.test.dtype == torch.uint8
    assert mnist.image_shape == (1, 28, 28)
    assert abs(mnist.train.double().mean().item() / 255 - 0.1307) < 0.001
    assert str(shared_data.resolve()) in mnist.source


def test_mnist_files_load_as_uint8_images(mnist, mnist_dir):
    assert mnist.name == "mnist" and mnist.binarization == "threshold"
    assert mnist.train.shape == (MNIST_SAMPLE_TRAIN, 1, 28, 28) and mnist.test.shape == (MNIST_SAMPLE_TEST, 1, 28, 28)
    assert mnist.train.dtype == torch.uint8 and mnist.test.dtype == torch.uint8
    assert mnist.image_shape == (1, 28, 28)
    assert str((mnist_dir / "MNIST" / "raw").resolve()) in mnist.source


def test_binarized_mnist_is_the_same_files_with_stochastic_binarization(mnist, mnist_dir):
    b = load_dataset("bmnist", data_dir=mnist_dir, download=False)
    assert b.name == "binarized-mnist" and b.binarization == "stochastic"
    assert torch.equal(b.test, mnist.test) and torch.equal(b.train, mnist.train)


# -----------------------------------------------------------------------------
# missing files, offline

def test_missing_mnist_without_download_says_where_and_what(tmp_path):
    with pytest.raises(DataUnavailable) as err:
        load_dataset("mnist", data_dir=tmp_path, download=False)
    msg = str(err.value)
    assert str(tmp_path.resolve() / "MNIST" / "raw") in msg
    for f in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        assert f in msg
    assert "--data-dir" in msg and "DRAW_GUI_DATA" in msg and "turned off" in msg


@pytest.mark.parametrize("name, folder, needed", [
    ("mnist", "MNIST/raw", "train-images-idx3-ubyte"),
    ("fashion-mnist", "FashionMNIST/raw", "t10k-images-idx3-ubyte"),
    ("cifar10", "cifar-10-batches-py", "data_batch_1"),
])
def test_failed_download_is_explained_without_network(tmp_path, no_network, name, folder, needed):
    with pytest.raises(DataUnavailable) as err:
        load_dataset(name, data_dir=tmp_path, download=True)
    msg = str(err.value)
    assert no_network, "a download should have been attempted"
    assert str(tmp_path.resolve() / folder) in msg and needed in msg
    assert "Downloading them failed" in msg and "no network in tests" in msg
    assert "--data-dir" in msg


def test_partly_present_mnist_names_the_missing_files(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    write_idx(raw / "train-images-idx3-ubyte", np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(DataUnavailable) as err:
        load_dataset("mnist", data_dir=tmp_path, download=False)
    assert "t10k-labels-idx1-ubyte" in str(err.value) and "missing" in str(err.value)


# -----------------------------------------------------------------------------
# Fashion-MNIST, CIFAR-10, SVHN in their real file formats

def write_idx(path, arr, gz=False):
    """The MNIST idx format: magic 0x0000080N (ubyte, N dims), big-endian int32 sizes, raw bytes."""
    data = struct.pack(">I", 0x800 | arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()
    with (gzip.open if gz else open)(path, "wb") as f:
        f.write(data)


def idx_pattern(n, offset):
    i, r, c = np.meshgrid(np.arange(n), np.arange(28), np.arange(28), indexing="ij")
    return ((i * 31 + r * 7 + c * 3 + offset) % 256).astype(np.uint8)


def test_fashion_mnist_reads_gzipped_idx_files(tmp_path):
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    train, test = idx_pattern(5, 0), idx_pattern(3, 100)
    write_idx(raw / "train-images-idx3-ubyte.gz", train, gz=True)
    write_idx(raw / "train-labels-idx1-ubyte.gz", np.arange(5, dtype=np.uint8), gz=True)
    write_idx(raw / "t10k-images-idx3-ubyte.gz", test, gz=True)
    write_idx(raw / "t10k-labels-idx1-ubyte.gz", np.arange(3, dtype=np.uint8), gz=True)

    d = load_dataset("fashion_mnist", data_dir=tmp_path, download=False)
    assert d.name == "fashion-mnist" and d.binarization == "none"
    assert d.train.shape == (5, 1, 28, 28) and d.test.shape == (3, 1, 28, 28) and d.train.dtype == torch.uint8
    assert torch.equal(d.train[:, 0], torch.from_numpy(train)) and torch.equal(d.test[:, 0], torch.from_numpy(test))

    rgb = load_dataset("fashion", data_dir=tmp_path, download=False, grayscale=False)
    assert rgb.train.shape == (5, 3, 28, 28) and all(torch.equal(rgb.train[:, c], d.train[:, 0]) for c in range(3))


def test_resizing_a_torchvision_set(tmp_path):
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    imgs = np.zeros((4, 28, 28), np.uint8)
    imgs[0] = 200                      # a flat image stays flat at any size
    imgs[1, :, 14:] = 255              # right half white stays the right half
    write_idx(raw / "train-images-idx3-ubyte", imgs)
    write_idx(raw / "train-labels-idx1-ubyte", np.zeros(4, np.uint8))
    write_idx(raw / "t10k-images-idx3-ubyte", imgs[:2])
    write_idx(raw / "t10k-labels-idx1-ubyte", np.zeros(2, np.uint8))
    for size in (14, 64):
        d = load_dataset("fashion-mnist", data_dir=tmp_path, download=False, image_size=size)
        assert d.train.shape == (4, 1, size, size) and d.test.shape == (2, 1, size, size)
        assert d.train.dtype == torch.uint8 and d.image_shape == (1, size, size)
        assert (d.train[0] == 200).all()
        half = d.train[1, 0]
        assert (half[:, : size // 2 - 2] == 0).all() and (half[:, size // 2 + 2:] == 255).all()


def cifar_pattern(n, k0):
    """(n, 3, 32, 32): red = 10 + row, green = 100 + column, blue = image number."""
    x = np.zeros((n, 3, 32, 32), np.uint8)
    x[:, 0] = (10 + np.arange(32))[None, :, None]
    x[:, 1] = (100 + np.arange(32))[None, None, :]
    x[:, 2] = (k0 + np.arange(n))[:, None, None]
    return x


def write_cifar(folder, n=2):
    """The CIFAR-10 python batches: pickled dicts with 'data' as (n, 3072) rows in C, H, W order."""
    folder.mkdir(parents=True)
    for b in range(1, 6):
        with open(folder / f"data_batch_{b}", "wb") as f:
            pickle.dump({"data": cifar_pattern(n, 10 * b).reshape(n, -1), "labels": [0] * n}, f)
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({"data": cifar_pattern(n, 200).reshape(n, -1), "labels": [0] * n}, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": ["airplane", "automobile", "bird", "cat", "deer",
                                     "dog", "frog", "horse", "ship", "truck"]}, f)


@pytest.fixture
def skip_md5(monkeypatch):
    # torchvision checks CIFAR-10/SVHN files against the published md5 sums, which small
    # hand-written files cannot match; in these tests only, accept any file that exists.
    import torchvision.datasets.cifar
    import torchvision.datasets.svhn
    exists = lambda fpath, md5=None: os.path.isfile(fpath)  # noqa: E731
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", exists)
    monkeypatch.setattr(torchvision.datasets.svhn, "check_integrity", exists)


def test_cifar10_reads_python_batches_in_channel_order(tmp_path, skip_md5):
    write_cifar(tmp_path / "cifar-10-batches-py")
    d = load_dataset("CIFAR10", data_dir=tmp_path, download=False)
    assert d.name == "cifar10" and d.binarization == "none" and d.image_shape == (3, 32, 32)
    assert d.train.shape == (10, 3, 32, 32) and d.test.shape == (2, 3, 32, 32) and d.train.dtype == torch.uint8
    assert d.train[0, 0, 5, 9] == 15 and d.train[0, 1, 5, 9] == 109   # red follows rows, green columns
    assert d.train[:, 2, 0, 0].tolist() == [10, 11, 20, 21, 30, 31, 40, 41, 50, 51]  # batches 1..5 in order
    assert d.test[:, 2, 3, 3].tolist() == [200, 201]

    g = load_dataset("cifar10", data_dir=tmp_path, download=False, grayscale=True)
    assert g.train.shape == (10, 1, 32, 32)
    assert g.train[0, 0, 5, 9] == round(0.299 * 15 + 0.587 * 109 + 0.114 * 10)


def test_cifar10_archive_copied_in_by_hand_is_unpacked(tmp_path, skip_md5):
    write_cifar(tmp_path / "src" / "cifar-10-batches-py")
    root = tmp_path / "data"
    root.mkdir()
    with tarfile.open(root / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "src" / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    d = load_dataset("cifar-10", data_dir=root, download=False)
    assert d.train.shape == (10, 3, 32, 32) and d.test[1, 2, 0, 0] == 201


def test_svhn_reads_mat_files(tmp_path, skip_md5):
    sio = pytest.importorskip("scipy.io", reason="scipy is not installed; SVHN's .mat files need it")
    for split, n, k0 in (("train", 4, 0), ("test", 2, 50)):
        x = np.zeros((32, 32, 3, n), np.uint8)   # SVHN's layout: H, W, C, N
        x[:, :, 0] = (np.arange(32) * 2)[:, None, None]
        x[:, :, 1] = (np.arange(32) * 3)[None, :, None]
        x[:, :, 2] = k0 + np.arange(n)
        sio.savemat(tmp_path / f"{split}_32x32.mat", {"X": x, "y": np.ones((n, 1), np.uint8)})
    d = load_dataset("SVHN", data_dir=tmp_path, download=False)
    assert d.name == "svhn" and d.binarization == "none"
    assert d.train.shape == (4, 3, 32, 32) and d.test.shape == (2, 3, 32, 32)
    assert d.train[1, 0, 7, 2] == 14 and d.train[1, 1, 7, 2] == 6 and d.train[:, 2, 0, 0].tolist() == [0, 1, 2, 3]
    assert d.test[:, 2, 5, 5].tolist() == [50, 51]
    big = load_dataset("svhn", data_dir=tmp_path, download=False, image_size=64)
    assert big.train.shape == (4, 3, 64, 64) and (big.train[:, 2, 10, 10] == torch.arange(4, dtype=torch.uint8)).all()


def test_svhn_without_scipy_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy", None)   # makes `import scipy.io` fail as if absent
    monkeypatch.setitem(sys.modules, "scipy.io", None)
    with pytest.raises(DataUnavailable) as err:
        load_dataset("svhn", data_dir=tmp_path, download=False)
    assert "pip install scipy" in str(err.value)


# -----------------------------------------------------------------------------
# a folder of the user's images

def test_folder_of_grey_images(tmp_path):
    (tmp_path / "sub").mkdir()
    Image.new("L", (20, 30), 77).save(tmp_path / "a.png")
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 40), np.uint8)).save(tmp_path / "b.jpg")
    Image.new("RGB", (50, 25), (90, 90, 90)).save(tmp_path / "sub" / "c.png")  # grey stored as RGB
    Image.new("L", (16, 16), 5).save(tmp_path / "d.BMP")
    (tmp_path / "notes.txt").write_text("not an image")

    d = load_dataset("folder", folder=tmp_path, image_size=16, test_fraction=0.25)
    assert d.name == "folder" and d.binarization == "none" and d.image_shape == (1, 16, 16)
    assert d.train.shape == (3, 1, 16, 16) and d.test.shape == (1, 1, 16, 16) and d.train.dtype == torch.uint8
    everything = torch.cat([d.train, d.test])
    flat = {int(img.flatten()[0]) for img in everything if (img == img.flatten()[0]).all()}
    assert flat == {77, 90, 5}   # the flat greys come back exactly; b.jpg is noise
    assert "4 images" in d.source

    rgb = load_dataset("folder", data_dir=tmp_path, image_size=16, grayscale=False)  # data_dir works too
    assert rgb.image_shape == (3, 16, 16)


def write_colour_folder(folder):
    folder.mkdir()
    rng = np.random.default_rng(1)
    crop = np.zeros((20, 40, 3), np.uint8)   # 40 wide: red | green (the centre square) | blue
    crop[:, :10, 0] = 255
    crop[:, 10:30, 1] = 255
    crop[:, 30:, 2] = 255
    Image.fromarray(crop).save(folder / "crop.png")
    for i in range(8):
        h, w = rng.integers(8, 48, size=2)
        Image.fromarray(rng.integers(0, 256, (h, w, 3), np.uint8)).save(folder / f"img{i}.{'png' if i % 2 else 'jpg'}")
    Image.new("L", (24, 24), 128).save(folder / "grey.gif")
    (folder / "broken.png").write_bytes(b"this is not a png")


def test_folder_of_colour_images_split_and_crop(tmp_path):
    write_colour_folder(tmp_path / "imgs")
    d = load_dataset("folder", folder=tmp_path / "imgs", image_size=16, test_fraction=0.2)
    assert d.image_shape == (3, 16, 16)
    assert d.train.shape == (8, 3, 16, 16) and d.test.shape == (2, 3, 16, 16)
    assert "10 images" in d.source and "1 unreadable file skipped" in d.source
    everything = torch.cat([d.train, d.test]).int()
    green = [(img[1] > 245).all() and (img[0] < 10).all() and (img[2] < 10).all() for img in everything]
    assert sum(green) == 1, "the 40x20 image should be centre-cropped to its green middle"

    again = load_dataset("folder", folder=tmp_path / "imgs", image_size=16, test_fraction=0.2)
    assert torch.equal(again.train, d.train) and torch.equal(again.test, d.test)

    grey = load_dataset("folder", folder=tmp_path / "imgs", image_size=8, grayscale=True)
    assert grey.image_shape == (1, 8, 8) and grey.test.shape[0] == 1   # 10% of 10 images


def test_folder_without_images_is_explained(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("hi")
    with pytest.raises(DataUnavailable) as err:
        load_dataset("folder", folder=tmp_path / "empty")
    assert str((tmp_path / "empty").resolve()) in str(err.value) and ".png" in str(err.value)

    with pytest.raises(DataUnavailable) as err:
        load_dataset("folder", folder=tmp_path / "nowhere")
    assert str((tmp_path / "nowhere").resolve()) in str(err.value)

    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.jpg").write_bytes(b"\xff\xd8 garbage")
    with pytest.raises(DataUnavailable) as err:
        load_dataset("folder", folder=tmp_path / "bad")
    assert "could be read" in str(err.value) and ".webp" in str(err.value)


# -----------------------------------------------------------------------------
# Batches

def test_batches_are_float_in_unit_range_and_threshold_binary(mnist):
    b = Batches(mnist, 500, seed=0)
    assert b.steps_per_epoch == MNIST_SAMPLE_TRAIN // 500 == 20
    x = b.batch(0, 0)
    assert x.dtype == torch.float32 and x.shape == (500, 1, 28, 28) and x.device.type == "cpu"
    assert set(x.unique().tolist()) == {0.0, 1.0}
    assert 0.10 < x.mean().item() < 0.16   # MNIST: ~13% of pixels are ink


def test_batches_depend_only_on_seed_epoch_index(mnist):
    a, b = Batches(mnist, 500, seed=3), Batches(mnist, 500, seed=3)
    a.batch(0, 0), a.batch(5, 7)           # a different history must not matter
    assert torch.equal(a.batch(2, 3), b.batch(2, 3))
    assert not torch.equal(b.batch(2, 3), b.batch(3, 3))   # another epoch, another order
    assert not torch.equal(b.batch(2, 3), Batches(mnist, 500, seed=4).batch(2, 3))


def test_each_image_once_per_epoch_and_partial_batch_dropped():
    data = indexed_data(10, binarization="none")
    b = Batches(data, 3)
    assert b.steps_per_epoch == 3
    orders = [torch.cat([b.batch(e, i)[:, 0, 0, 0] for i in range(3)]) for e in range(2)]
    for order in orders:
        assert len(set((order * 255).round().tolist())) == 9       # no image twice in an epoch
    assert not torch.equal(orders[0], orders[1])
    with pytest.raises(IndexError):
        b.batch(0, 3)
    with pytest.raises(ValueError, match="batch size"):
        Batches(data, 11)


def test_stochastic_binarization_matches_grey_levels_and_changes_per_epoch(mnist):
    stoch = Batches(dataclasses.replace(mnist, binarization="stochastic"), 1000, seed=1)
    grey = Batches(dataclasses.replace(mnist, binarization="none"), 1000, seed=1)  # same order
    s, g = stoch.batch(4, 2), grey.batch(4, 2)
    assert set(s.unique().tolist()) == {0.0, 1.0}
    assert abs(s.mean().item() - g.mean().item()) < 0.003
    assert (s[g == 0] == 0).all() and (s[g == 1] == 1).all()
    assert torch.equal(s, Batches(dataclasses.replace(mnist, binarization="stochastic"), 1000, seed=1).batch(4, 2))

    flat = Batches(constant_data(51), 64)   # every image the same grey: only the noise differs
    e0, e1 = flat.batch(0, 0), flat.batch(1, 0)
    assert not torch.equal(e0, e1)
    assert abs(e0.mean().item() - 51 / 255) < 0.01 and abs(e1.mean().item() - 51 / 255) < 0.01


def test_test_images_are_fixed_whatever_the_training_seed(mnist):
    bm = dataclasses.replace(mnist, binarization="stochastic")
    t0, t7 = Batches(bm, 100, seed=0).test_images(), Batches(bm, 100, seed=7).test_images()
    assert t0.shape == (MNIST_SAMPLE_TEST, 1, 28, 28) and t0.dtype == torch.float32
    assert torch.equal(t0, t7)
    assert set(t0.unique().tolist()) == {0.0, 1.0}
    assert abs(t0.mean().item() - mnist.test.double().mean().item() / 255) < 0.002

    th = Batches(mnist, 100)
    assert torch.equal(th.test_images(), (mnist.test > 127).float())
    assert th.test_images() is th.test_images()   # cached
    assert torch.equal(th.examples(8), th.test_images()[:8])
    assert torch.equal(th.examples(8, "train"), (mnist.train[:8] > 127).float())
    with pytest.raises(ValueError):
        th.examples(8, "validation")


def test_grey_and_colour_sets_keep_their_values():
    data = indexed_data(10, binarization="none")
    b = Batches(data, 5)
    assert torch.allclose(b.test_images(), data.test.float() / 255)
    assert b.examples(100).shape[0] == 3     # asking for more than there are gives them all
    assert b.batch(0, 0).max() <= 9 / 255 + 1e-6


def test_embedded_mnist_sample_matches_the_original_digits(shared_data):
    """The offline sample is the first 10,000 training digits of real MNIST, binarized at 0.5."""
    from torchvision.datasets import MNIST
    from core.data import load_embedded_mnist
    from draw_gui.resources import resource_path
    path = resource_path("mnist_sample.npz")
    assert path.stat().st_size <= 1_000_000
    sample = load_embedded_mnist(path)
    original = MNIST(str(shared_data), train=True, download=False).data[:10000]
    assert sample.train.shape == (10000, 1, 28, 28) and sample.test.shape == (2000, 1, 28, 28)
    assert torch.equal(sample.train[:, 0] > 127, original > 127)
    batch = Batches(sample, 64).batch(0, 0)
    assert set(batch.unique().tolist()) == {0.0, 1.0}
