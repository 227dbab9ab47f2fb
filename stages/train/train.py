"""Stage `train`: fits a classifier on data/processed/train.csv, writes models/model.pkl.

Params (params.yaml, section `train`):
  model         logistic_regression or random_forest.
  seed          the model's random_state.
  C, max_iter   logistic regression's inverse regularisation and iteration cap.
  n_estimators, max_depth
                random forest's tree count and depth (null: unlimited).

The pickle uses a fixed protocol and a single thread, so that the same inputs
give the same bytes and a rerun that changes nothing stops the cascade here.
"""

import os
import pickle

import pandas as pd
import yaml
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

IN_FILE = os.path.join("data", "processed", "train.csv")
OUT_FILE = os.path.join("models", "model.pkl")
PICKLE_PROTOCOL = 4


def load_params(section):
    with open("params.yaml", encoding="utf-8") as f:
        return yaml.safe_load(f)[section]


def make_model(params):
    kind = params["model"]
    if kind == "logistic_regression":
        return LogisticRegression(C=params["C"], max_iter=params["max_iter"], random_state=params["seed"])
    if kind == "random_forest":
        return RandomForestClassifier(
            n_estimators=params["n_estimators"],
            max_depth=params["max_depth"],
            random_state=params["seed"],
            n_jobs=1,
        )
    raise SystemExit(f"train: unknown model {kind!r} (train.model); use logistic_regression or random_forest")


def main():
    params = load_params("train")
    frame = pd.read_csv(IN_FILE)
    model = make_model(params).fit(frame.drop(columns=["target"]), frame["target"])
    os.makedirs(os.path.dirname(OUT_FILE), exist_ok=True)
    with open(OUT_FILE, "wb") as f:
        pickle.dump(model, f, protocol=PICKLE_PROTOCOL)
    print(f"train: {params['model']} fitted on {len(frame)} rows")


if __name__ == "__main__":
    main()
