"""Helpers for the MLOps course.

Each lesson in ``notebooks/`` first builds an idea step by step; the tested, reusable version
lives here so later lessons, the model server and the tests can import it. Importing the package
has no side effects.
"""

__version__ = "0.1.0"
