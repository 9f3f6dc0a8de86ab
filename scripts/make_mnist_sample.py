"""Build resources/mnist_sample.npz: the embedded MNIST sample draw-gui trains on offline.

    python scripts/make_mnist_sample.py [../shared/data]

10,000 training and 2,000 test digits of the original MNIST files (the first of each),
binarized at 0.5 and bit-packed. MNIST: Y. LeCun, C. Cortes, C. J. C. Burges, CC BY-SA 3.0.
"""
import sys
from pathlib import Path

import numpy as np
from torchvision.datasets import MNIST

REPO = Path(__file__).resolve().parents[1]


def main():
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO.parent / "shared" / "data"
    train = MNIST(str(root), train=True, download=False).data[:10000].numpy()
    test = MNIST(str(root), train=False, download=False).data[:2000].numpy()
    out = REPO / "resources" / "mnist_sample.npz"
    np.savez_compressed(out, train=np.packbits(train > 127, axis=-1), test=np.packbits(test > 127, axis=-1),
                        attribution=np.array("MNIST by Yann LeCun, Corinna Cortes and Christopher J. C. Burges, "
                                             "CC BY-SA 3.0; first 10,000 training and 2,000 test digits, "
                                             "binarized at 0.5"))
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
