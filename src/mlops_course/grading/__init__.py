"""Grading lab submissions (the labs of ``solutions/``): sandboxed kernels, partial credit, a CSV.

``assign`` turns a solution into its questions and tests, ``sandbox`` builds the command that
starts a kernel in isolation, ``kernel`` runs one submission's cells and then its tests in that
kernel, ``queue`` grades a folder of submissions and writes the CSV.
"""
