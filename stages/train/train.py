"""Stage `train`: fits a classifier on data/processed/train.csv, writes it as an MLflow Model.

The output, models/model/, is the folder MLflow 2.17's `mlflow.sklearn.save_model`
writes (MLflow itself is not needed here): MLmodel (the python_function and
sklearn flavors), model.pkl, conda.yaml, python_env.yaml and requirements.txt,
with this environment's Python and library versions. reprod registers the
folder, so `mlflow.sklearn.load_model("models:/<name>@champion")` and
`mlflow.pyfunc.load_model(...)` load it. MLmodel leaves out what only the run
that logs it knows (run_id, model_uuid, utc_time_created, artifact_path):
reprod adds them to the logged copy, so that the same inputs still give the
same bytes here.

Params (params.yaml, section `train`):
  model         logistic_regression or random_forest.
  seed          the model's random_state.
  C, max_iter   logistic regression's inverse regularisation and iteration cap.
  n_estimators, max_depth
                random forest's tree count and depth (null: unlimited).

The pickle uses a fixed protocol and a single thread, so that the same inputs
give the same bytes and a rerun that changes nothing stops the cascade here.
"""

import importlib.metadata
import os
import pickle
import platform

import numpy
import pandas as pd
import scipy
import sklearn
import yaml
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

IN_FILE = os.path.join("data", "processed", "train.csv")
OUT_DIR = os.path.join("models", "model")
PICKLED_MODEL = "model.pkl"
PICKLE_PROTOCOL = 4
# The MLflow release whose model format this folder follows (and that
# requirements.txt asks for, as MLflow pins itself there).
MLFLOW_VERSION = "2.17.2"


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


def installed(package):
    """`pkg==version` when the package's metadata is installed, else the bare name (as MLflow writes them)."""
    try:
        return f"{package}=={importlib.metadata.version(package)}"
    except importlib.metadata.PackageNotFoundError:
        return package


def write_yaml(path, doc, sort_keys=True):
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(doc, f, default_flow_style=False, sort_keys=sort_keys)


def save_mlflow_model(model, out_dir):
    """The files of `mlflow.sklearn.save_model(model, out_dir, serialization_format="pickle")`."""
    os.makedirs(out_dir, exist_ok=True)
    pickled = os.path.join(out_dir, PICKLED_MODEL)
    with open(pickled, "wb") as f:
        pickle.dump(model, f, protocol=PICKLE_PROTOCOL)
    python_version = platform.python_version()
    # the packages loading the pickle imports, as MLflow's requirement inference finds them
    requirements = [
        f"mlflow=={MLFLOW_VERSION}",
        *sorted([f"numpy=={numpy.__version__}", f"scikit-learn=={sklearn.__version__}", f"scipy=={scipy.__version__}"]),
    ]
    pip = installed("pip")
    write_yaml(
        os.path.join(out_dir, "conda.yaml"),
        {
            "channels": ["conda-forge"],
            "dependencies": [f"python={python_version}", pip.replace("==", "<=") if "==" in pip else pip, {"pip": requirements}],
            "name": "mlflow-env",
        },
    )
    write_yaml(
        os.path.join(out_dir, "python_env.yaml"),
        {
            "python": python_version,
            "build_dependencies": [pip, installed("setuptools"), installed("wheel")],
            "dependencies": ["-r requirements.txt"],
        },
        sort_keys=False,
    )
    with open(os.path.join(out_dir, "requirements.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(requirements))
    mlmodel = {
        "flavors": {
            "python_function": {
                "env": {"conda": "conda.yaml", "virtualenv": "python_env.yaml"},
                "loader_module": "mlflow.sklearn",
                "model_path": PICKLED_MODEL,
                "predict_fn": "predict",
                "python_version": python_version,
            },
            "sklearn": {
                "code": None,
                "pickled_model": PICKLED_MODEL,
                "serialization_format": "pickle",
                "sklearn_version": sklearn.__version__,
            },
        },
        "mlflow_version": MLFLOW_VERSION,
        "model_size_bytes": os.path.getsize(pickled),
    }
    write_yaml(os.path.join(out_dir, "MLmodel"), mlmodel)


def main():
    params = load_params("train")
    frame = pd.read_csv(IN_FILE)
    model = make_model(params).fit(frame.drop(columns=["target"]), frame["target"])
    save_mlflow_model(model, OUT_DIR)
    print(f"train: {params['model']} fitted on {len(frame)} rows")


if __name__ == "__main__":
    main()
