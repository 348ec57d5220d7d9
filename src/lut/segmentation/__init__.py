"""Semantic segmentation: UperNet on a pre-trained ViT with the ADE20K protocol (mmseg's MAE recipe)."""
