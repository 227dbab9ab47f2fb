"""Stage `ingest`: writes data/raw/dataset.csv, the feature columns then `target`.

Params (params.yaml, section `ingest`):
  url      a CSV to download instead of the bundled dataset, when not empty.
           The stage then needs a network, which reprod gives a stage only when
           its manifest asks for one (stages run with no network by default).
  target   the label column of the downloaded CSV; it is renamed `target`.
  dataset  the scikit-learn bundled dataset used when `url` is empty:
           breast_cancer, wine, iris or digits. They load without a network.
"""

import os
import urllib.request

import pandas as pd
import yaml
from sklearn import datasets

OUT_DIR = os.path.join("data", "raw")
BUNDLED = {
    "breast_cancer": datasets.load_breast_cancer,
    "wine": datasets.load_wine,
    "iris": datasets.load_iris,
    "digits": datasets.load_digits,
}


def load_params(section):
    with open("params.yaml", encoding="utf-8") as f:
        return yaml.safe_load(f)[section]


def from_url(url, target):
    with urllib.request.urlopen(url, timeout=60) as response:
        frame = pd.read_csv(response)
    if target not in frame.columns:
        raise SystemExit(f"ingest: column {target!r} (ingest.target) is not in {url}")
    labels = frame.pop(target)
    frame["target"] = labels
    return frame


def bundled(name):
    if name not in BUNDLED:
        raise SystemExit(f"ingest: unknown dataset {name!r} (ingest.dataset); use one of {sorted(BUNDLED)}")
    frame = BUNDLED[name](as_frame=True).frame
    # `target` last, whatever the loader's column order.
    return frame[[c for c in frame.columns if c != "target"] + ["target"]]


def main():
    params = load_params("ingest")
    url = params.get("url") or ""
    frame = from_url(url, params.get("target", "target")) if url else bundled(params["dataset"])
    os.makedirs(OUT_DIR, exist_ok=True)
    frame.to_csv(os.path.join(OUT_DIR, "dataset.csv"), index=False, lineterminator="\n")
    print(f"ingest: {len(frame)} rows, {frame.shape[1] - 1} features, {frame['target'].nunique()} classes")


if __name__ == "__main__":
    main()
