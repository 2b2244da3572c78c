#!/usr/bin/python3
"""
Writes tests/fixtures/colour-classifier.onnx: a tiny "customer classifier" whose logits are the
mean red, green and blue of the crop, labelled with three product ids, so tests can check the
classifier path of the recogniser with pixels whose answer is known. Run once; the file is
committed (about 1 KB).
"""
import os
import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "colour-classifier.onnx")


class ColourClassifier(nn.Module):
    def forward(self, x):
        # x: N×3×32×32 RGB in 0..1; logits grow with each channel's mean, sharpened.
        return 12.0 * x.mean(dim=(2, 3))


torch.onnx.export(ColourClassifier(), torch.zeros(1, 3, 32, 32), OUT, input_names=["image"], output_names=["logits"],
                  dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13)
print(OUT, os.path.getsize(OUT))
