"""Stage `preprocess`: splits data/raw/dataset.csv into data/processed/{train,test}.csv.

Params (params.yaml, section `preprocess`):
  test_size  fraction of rows held out for evaluation; the split is stratified.
  seed       seed of the split, so that the same inputs give the same files.
  scale      standard, minmax or none; fitted on the training rows only, so
             that nothing about the test rows leaks into training.
"""

import os

import pandas as pd
import yaml
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler, StandardScaler

IN_FILE = os.path.join("data", "raw", "dataset.csv")
OUT_DIR = os.path.join("data", "processed")
SCALERS = {"standard": StandardScaler, "minmax": MinMaxScaler}


def load_params(section):
    with open("params.yaml", encoding="utf-8") as f:
        return yaml.safe_load(f)[section]


def main():
    params = load_params("preprocess")
    frame = pd.read_csv(IN_FILE)
    features = frame.drop(columns=["target"])
    target = frame["target"]
    x_train, x_test, y_train, y_test = train_test_split(
        features,
        target,
        test_size=params["test_size"],
        random_state=params["seed"],
        stratify=target,
    )
    scale = params.get("scale", "standard")
    if scale != "none":
        if scale not in SCALERS:
            raise SystemExit(f"preprocess: unknown scale {scale!r} (preprocess.scale); use standard, minmax or none")
        scaler = SCALERS[scale]().fit(x_train)
        x_train = pd.DataFrame(scaler.transform(x_train), columns=features.columns)
        x_test = pd.DataFrame(scaler.transform(x_test), columns=features.columns)
    os.makedirs(OUT_DIR, exist_ok=True)
    for name, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        part = x.reset_index(drop=True)
        part["target"] = y.reset_index(drop=True)
        part.to_csv(os.path.join(OUT_DIR, f"{name}.csv"), index=False, lineterminator="\n")
    print(f"preprocess: {len(x_train)} train rows, {len(x_test)} test rows, scale={scale}")


if __name__ == "__main__":
    main()
