"""Robustness of classifiers (paper Sec. 6.3, Table 5): ImageNet-V2/ReaL/A/O/R/Sketch, ObjectNet, SI-Score,
center occlusion, and shifted Fashion-MNIST, each scored as its authors score it."""
