"""A typical tutorial's way to serve a model, kept only to measure why it is wrong. Do not deploy.

Tutorials commonly serve a model like this (abridged)::

    @app.route("/predict", methods=["POST"])
    def predict():
        clf = joblib.load("model.joblib")  # read from disk on every request
        return jsonify({"prediction": list(clf.predict(pd.DataFrame(request.json)))})

    app.run(host="0.0.0.0", port=5000, debug=True)

This module does the same for the course's Keras model: the Flask development server, the model
loaded from disk inside the request handler, ``model.predict`` on whatever JSON arrives, no
validation. ``debug=True`` turns every uncaught error into an interactive Python console in the
browser (anyone who can reach the port can run code on the machine); that part is left out on
purpose, and the lesson explains it instead.

``python -m mlops_course.naive_server --port 5000 --model digits.keras`` (trains a one-epoch
Keras CNN into ``--model`` first when the file does not exist; needs TensorFlow).

Introduced in notebooks/07_serving_with_flask.ipynb; notebooks/08_measuring_a_server.ipynb and
``benchmarks/serving.py`` measure it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from flask import Flask, jsonify, request


def create_app(model_path: str | Path) -> Flask:
    """The tutorial-style app serving the Keras file at ``model_path`` (read on every request)."""
    app = Flask(__name__)
    model_path = Path(model_path)

    @app.get("/")
    def home():
        return "naive digits server (tutorial style)"

    @app.post("/predict")
    def predict():
        import tensorflow as tf

        model = tf.keras.models.load_model(model_path)  # the mistake: loaded on every request
        x = np.array(request.json["instances"])  # the other mistake: no checks at all
        y = model.predict(x, verbose=0)
        return jsonify(predictions=y.tolist())

    return app


def make_keras_model(path: Path, epochs: int = 1, seed: int = 0) -> Path:
    """Train the course CNN briefly and save it as ``.keras`` (what the naive server loads)."""
    from mlops_course.data import load_digits_split
    from mlops_course.train import train_digits_cnn

    model, _ = train_digits_cnn(load_digits_split(), seed=seed, epochs=epochs)
    model.save(path)
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--model", type=Path, default=Path("digits.keras"))
    args = parser.parse_args(argv)
    from mlops_course.runtime import import_tensorflow

    import_tensorflow()  # quietly, before the first request
    if not args.model.exists():
        make_keras_model(args.model)
    # the development server; tutorials add debug=True
    create_app(args.model).run(host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
