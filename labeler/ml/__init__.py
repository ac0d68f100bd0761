"""Models, weights, prediction, training and evaluation: torch, no Qt.

torch and torchvision are imported inside functions, so importing this package is cheap.
"""
