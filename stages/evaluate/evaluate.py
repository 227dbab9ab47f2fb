"""Stage `evaluate`: scores models/model/ (its model.pkl) on data/processed/test.csv.

Writes metrics/scores.json (accuracy, f1, roc_auc), plots/roc.csv (fpr, tpr)
and plots/confusion.csv (one row per test row: actual, predicted), which
dvc.yaml declares as a metric and as plots. For more than two classes f1 and
ROC AUC are macro averages over one-vs-rest, and the ROC curve is the
micro-averaged one.
"""

import json
import os
import pickle

import pandas as pd
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score, roc_curve
from sklearn.preprocessing import label_binarize

TEST_FILE = os.path.join("data", "processed", "test.csv")
MODEL_FILE = os.path.join("models", "model", "model.pkl")
SCORES_FILE = os.path.join("metrics", "scores.json")
ROC_FILE = os.path.join("plots", "roc.csv")
CONFUSION_FILE = os.path.join("plots", "confusion.csv")
DIGITS = 6


def main():
    frame = pd.read_csv(TEST_FILE)
    x, y = frame.drop(columns=["target"]), frame["target"]
    with open(MODEL_FILE, "rb") as f:
        model = pickle.load(f)
    predicted = model.predict(x)
    proba = model.predict_proba(x)
    classes = model.classes_

    if len(classes) == 2:
        f1 = f1_score(y, predicted, pos_label=classes[1])
        roc_auc = roc_auc_score(y, proba[:, 1])
        fpr, tpr, _ = roc_curve(y, proba[:, 1], pos_label=classes[1])
    else:
        f1 = f1_score(y, predicted, average="macro")
        roc_auc = roc_auc_score(y, proba, multi_class="ovr", labels=classes)
        fpr, tpr, _ = roc_curve(label_binarize(y, classes=classes).ravel(), proba.ravel())

    scores = {
        "accuracy": round(float(accuracy_score(y, predicted)), DIGITS),
        "f1": round(float(f1), DIGITS),
        "roc_auc": round(float(roc_auc), DIGITS),
    }
    for path in (SCORES_FILE, ROC_FILE):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(SCORES_FILE, "w", encoding="utf-8") as f:
        json.dump(scores, f, indent=2, sort_keys=True)
        f.write("\n")
    pd.DataFrame({"fpr": fpr.round(DIGITS), "tpr": tpr.round(DIGITS)}).to_csv(
        ROC_FILE, index=False, lineterminator="\n"
    )
    pd.DataFrame({"actual": y, "predicted": predicted}).to_csv(CONFUSION_FILE, index=False, lineterminator="\n")
    print("evaluate: " + ", ".join(f"{k}={v}" for k, v in scores.items()))


if __name__ == "__main__":
    main()
