"""labeler: bounding-box annotation with Faster R-CNN pre-labeling and one-click fine-tuning."""

__version__ = "0.1.0"
