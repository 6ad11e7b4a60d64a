"""Write examples/data/breast_cancer.csv for examples/tabular.yaml: scikit-learn's bundled
breast-cancer data (no download) as a user's file would come — string labels
(``malignant``/``benign``) and a categorical column (``texture_band``: low/mid/high).

    python examples/make_tabular_csv.py [OUT.csv]
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer


def main(out: Path) -> Path:
    data = load_breast_cancer()
    x, y = data.data, data.target
    texture = x[:, list(data.feature_names).index("mean texture")]
    cuts = np.quantile(texture, [1 / 3, 2 / 3])
    band = np.array(["low", "mid", "high"])[np.searchsorted(cuts, texture)]
    names = [n.replace(" ", "_") for n in data.feature_names]
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([*names, "texture_band", "diagnosis"])
        for row, b, label in zip(x, band, y):
            w.writerow([*(f"{v:.6g}" for v in row), b, data.target_names[label]])
    return out


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "data" / "breast_cancer.csv"
    print(f"wrote {main(target)}")
