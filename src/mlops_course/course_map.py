"""The course map: one lesson per notebook, in order (rendered by 00_course_tour)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Lesson:
    number: int
    slug: str
    title: str
    learn: str

    @property
    def notebook(self) -> str:
        return f"{self.number:02d}_{self.slug}.ipynb"

    @property
    def lab(self) -> str:
        return f"{self.number:02d}_{self.slug}_lab.ipynb"


LESSONS: tuple[Lesson, ...] = (
    Lesson(0, "course_tour", "Course tour", "what is installed, which tools exist here, the map"),
    Lesson(1, "linear_regression", "Linear regression", "cost, gradient descent, normal equation"),
    Lesson(2, "logistic_regression", "Logistic regression", "sigmoid, cross-entropy, boundaries"),
    Lesson(3, "neural_networks", "Neural networks", "a two-layer network, backprop, Keras"),
    Lesson(4, "quantization_math", "Quantization math", "int8 scales, zero points, int8 matmul"),
    Lesson(5, "train_and_export", "Train and export", "Keras → ONNX, parity, model cards"),
    Lesson(6, "optimize_models", "Optimize models", "int8 ORT and TFLite, measured; pruning"),
    Lesson(7, "serving_with_flask", "A correct model server", "load once, validate, gunicorn"),
    Lesson(8, "measuring_a_server", "Measuring a server", "latency, throughput, overload"),
    Lesson(9, "containers", "Build and run an image", "Dockerfiles, layers, caching, non-root"),
    Lesson(10, "publishing_images", "Publish, scan, run on a GPU", "tags, registries, scans"),
    Lesson(11, "kubernetes", "Kubernetes", "Deployments, probes, autoscaling, canaries"),
    Lesson(12, "edge_tpu", "Edge TPU", "full-int8 TFLite, the compiler, CPU fallback"),
)


def course_map_markdown(root: Path) -> str:
    """A markdown table of the lessons; lessons and labs that exist under ``root`` are linked.

    Introduced in ``notebooks/00_course_tour.ipynb``. Links are relative to ``notebooks/``.
    """
    rows = ["| # | lesson | you will learn | lab |", "|---|---|---|---|"]
    for lesson in LESSONS:
        has_notebook = (root / "notebooks" / lesson.notebook).is_file()
        has_lab = (root / "labs" / lesson.lab).is_file()
        title = (
            f"[{lesson.title}]({lesson.notebook})" if has_notebook else f"{lesson.title} (coming)"
        )
        lab = f"[lab](../labs/{lesson.lab})" if has_lab else "—"
        rows.append(f"| {lesson.number:02d} | {title} | {lesson.learn} | {lab} |")
    return "\n".join(rows)
