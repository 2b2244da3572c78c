#!/usr/bin/python3
"""
Trains the project's product embedding model from scratch on the Grocery Store Dataset (train
split plus the iconic images), on CPU, reproducibly from the seed in settings.json, and exports it
to ONNX with its manifest and a training report.

  /usr/bin/python3 models/train/train_product_embedder.py --data ../shared/data/grocery/dataset

The network is a small residual CNN whose L2-normalised embedding is trained with a cosine
(normalised-softmax) classifier, so products are recognised by nearest reference vector and new
products need reference photos, not retraining. The classifier weights stay behind; only the
embedding network is exported.
"""
import argparse
import csv
import hashlib
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.dirname(HERE)
NAME = "product_embedder"


def read_list(root, name):
    rows = []
    with open(os.path.join(root, name)) as f:
        for line in f:
            parts = [p.strip() for p in line.strip().split(",")]
            if len(parts) >= 3 and parts[0]:
                rows.append((parts[0], int(parts[1]), int(parts[2])))
    return rows


def read_classes(root):
    with open(os.path.join(root, "classes.csv")) as f:
        reader = csv.reader(f)
        next(reader)
        return [(r[0], int(r[1]), r[2], int(r[3]), r[4]) for r in reader]


def load_images(root, paths, size):
    out = np.empty((len(paths), size, size, 3), dtype=np.uint8)
    for i, p in enumerate(paths):
        with Image.open(os.path.join(root, p.lstrip("/"))) as im:
            out[i] = np.asarray(im.convert("RGB").resize((size, size), Image.BILINEAR))
    return out


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.skip = None
        if stride != 1 or cin != cout:
            self.skip = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        return F.relu(y + (x if self.skip is None else self.skip(x)))


class Embedder(nn.Module):
    def __init__(self, widths, blocks, dim, dropout=0.0):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, widths[0], 3, 2, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU())
        layers = []
        cin = widths[0]
        for i, (w, n) in enumerate(zip(widths, blocks)):
            for j in range(n):
                layers.append(Block(cin, w, 2 if (j == 0 and i > 0) else 1))
                cin = w
        self.body = nn.Sequential(*layers)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(cin, dim, bias=False)
        self.bn = nn.BatchNorm1d(dim)

    def forward(self, x):
        x = self.body(self.stem(x))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return F.normalize(self.bn(self.head(self.drop(x))), dim=1)


class CosineClassifier(nn.Module):
    def __init__(self, dim, classes, scale):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(classes, dim) * 0.01)
        self.scale = scale

    def forward(self, e):
        return self.scale * e @ F.normalize(self.weight, dim=1).t()


def augment(batch_u8, rng, s):
    """Random resized crop, horizontal flip and colour jitter on a uint8 NHWC batch; returns NCHW floats."""
    n, size = batch_u8.shape[0], s["inputSize"]
    x = torch.from_numpy(batch_u8).permute(0, 3, 1, 2).float().div_(255.0)
    out = torch.empty((n, 3, size, size))
    full = x.shape[-1]
    for i in range(n):
        for _ in range(10):
            area = full * full * rng.uniform(*s["cropScale"])
            ratio = math.exp(rng.uniform(math.log(s["cropRatio"][0]), math.log(s["cropRatio"][1])))
            w = int(round(math.sqrt(area * ratio)))
            h = int(round(math.sqrt(area / ratio)))
            if 0 < w <= full and 0 < h <= full:
                break
        else:
            w = h = full
        top = int(rng.integers(0, full - h + 1))
        left = int(rng.integers(0, full - w + 1))
        crop = x[i : i + 1, :, top : top + h, left : left + w]
        crop = F.interpolate(crop, size=(size, size), mode="bilinear", align_corners=False)
        if rng.random() < 0.5:
            crop = crop.flip(3)
        out[i] = crop[0]
        if rng.random() < s["eraseProbability"]:
            # Random erasing: a hand, a price tag or another product hides part of the item.
            area = size * size * rng.uniform(*s["eraseArea"])
            ratio = math.exp(rng.uniform(math.log(0.3), math.log(3.3)))
            eh = min(size, int(round(math.sqrt(area * ratio))))
            ew = min(size, int(round(math.sqrt(area / ratio))))
            et = int(rng.integers(0, size - eh + 1))
            el = int(rng.integers(0, size - ew + 1))
            out[i, :, et : et + eh, el : el + ew] = torch.from_numpy(rng.random((3, 1, 1))).float()
    j = s["jitter"]
    b = torch.from_numpy(rng.uniform(1 - j["brightness"], 1 + j["brightness"], (n, 1, 1, 1))).float()
    c = torch.from_numpy(rng.uniform(1 - j["contrast"], 1 + j["contrast"], (n, 1, 1, 1))).float()
    sat = torch.from_numpy(rng.uniform(1 - j["saturation"], 1 + j["saturation"], (n, 1, 1, 1))).float()
    hue = torch.from_numpy(rng.uniform(-j["hue"], j["hue"], (n, 3, 1, 1))).float()
    out = out * b
    mean = out.mean(dim=(1, 2, 3), keepdim=True)
    out = (out - mean) * c + mean
    grey = out.mean(dim=1, keepdim=True)
    out = (out - grey) * sat + grey
    out = (out + hue).clamp_(0, 1)
    return normalise(out, s)


def cutmix(x, rng, s):
    """With probability cutmixProbability, pastes a box of another image of the batch into each
    image (a neighbouring product in the crop); returns the batch, the partner of each image and the
    share of the picture that is still the image's own (1.0: unchanged)."""
    n, size = x.shape[0], x.shape[-1]
    partner = torch.arange(n)
    if rng.random() >= s.get("cutmixProbability", 0.0):
        return x, partner, 1.0
    lam = float(rng.beta(s["cutmixAlpha"], s["cutmixAlpha"]))
    side = math.sqrt(1 - lam)
    bh, bw = int(round(size * side)), int(round(size * side))
    cy, cx = int(rng.integers(0, size)), int(rng.integers(0, size))
    t, b = max(0, cy - bh // 2), min(size, cy + bh // 2)
    l, r = max(0, cx - bw // 2), min(size, cx + bw // 2)
    partner = torch.from_numpy(rng.permutation(n))
    x = x.clone()
    x[:, :, t:b, l:r] = x[partner][:, :, t:b, l:r]
    return x, partner, 1 - (b - t) * (r - l) / (size * size)


def normalise(x, s):
    mean = torch.tensor(s["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(s["std"]).view(1, 3, 1, 1)
    return (x - mean) / std


def centre(batch_u8, s):
    """The evaluation view: the whole image resized to the input size (the runtime shrinks the crop in one step)."""
    x = torch.from_numpy(batch_u8).permute(0, 3, 1, 2).float().div_(255.0)
    x = F.interpolate(x, size=(s["inputSize"], s["inputSize"]), mode="bilinear", align_corners=False)
    return normalise(x, s)


@torch.no_grad()
def embed_all(model, images, s, batch=128):
    model.eval()
    out = [model(centre(images[i : i + batch], s)) for i in range(0, len(images), batch)]
    return torch.cat(out)


def gallery_scores(train_e, train_y, query_e, classes):
    centroids = torch.zeros(classes, train_e.shape[1])
    centroids.index_add_(0, torch.from_numpy(train_y), train_e)
    centroids = F.normalize(centroids, dim=1)
    return query_e @ centroids.t()


def topk(scores, labels, k):
    top = scores.topk(k, dim=1).indices.numpy()
    return float(np.mean([labels[i] in top[i] for i in range(len(labels))]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="the dataset folder (train.txt, val.txt, classes.csv)")
    ap.add_argument("--settings", default=os.path.join(HERE, "settings.json"))
    ap.add_argument("--out", default=MODELS, help="where the .onnx, its manifest and the report go")
    ap.add_argument("--epochs", type=int, help="override the epochs (smoke runs)")
    args = ap.parse_args()
    with open(args.settings) as f:
        s = json.load(f)
    if args.epochs is not None:
        s["epochs"] = args.epochs

    torch.manual_seed(s["seed"])
    torch.set_num_threads(s["threads"])
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(s["seed"])

    classes = read_classes(args.data)
    n_classes = len(classes)
    coarse_of = np.array([c[3] for c in classes])
    coarse_names = {}
    for c in classes:
        coarse_names[c[3]] = c[2]
    train = read_list(args.data, "train.txt")
    val = read_list(args.data, "val.txt")
    t0 = time.time()
    train_x = load_images(args.data, [r[0] for r in train], s["cacheSize"])
    train_y = np.array([r[1] for r in train])
    iconic_x = load_images(args.data, [c[4] for c in classes], s["cacheSize"])
    iconic_y = np.array([c[1] for c in classes])
    val_x = load_images(args.data, [r[0] for r in val], s["cacheSize"])
    val_y = np.array([r[1] for r in val])
    print(f"loaded {len(train)} train, {n_classes} iconic, {len(val)} val images in {time.time() - t0:.1f} s", flush=True)

    fit_x = np.concatenate([train_x] + [iconic_x] * s["iconicRepeats"])
    fit_y = np.concatenate([train_y] + [iconic_y] * s["iconicRepeats"])

    model = Embedder(s["widths"], s["blocks"], s["embeddingSize"], s["dropout"])
    classifier = CosineClassifier(s["embeddingSize"], n_classes, s["cosineScale"])
    # An auxiliary head over the coarse classes (a bottle of juice is nearer other juices than milk)
    # shapes the embedding's coarse neighbourhoods; like the fine head, it is not exported.
    coarse_weight = s.get("coarseLossWeight", 0.0)
    coarse_index = {c: i for i, c in enumerate(sorted(set(coarse_of.tolist())))}
    coarse_y_of = torch.tensor([coarse_index[c] for c in coarse_of.tolist()])
    coarse_classifier = CosineClassifier(s["embeddingSize"], len(coarse_index), s["cosineScale"])
    params = list(model.parameters()) + list(classifier.parameters())
    if coarse_weight > 0:
        params += list(coarse_classifier.parameters())
    decay = [p for p in params if p.ndim > 1]
    no_decay = [p for p in params if p.ndim <= 1]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": s["weightDecay"]}, {"params": no_decay, "weight_decay": 0}], lr=s["learningRate"], momentum=s["momentum"], nesterov=True)
    steps_per_epoch = math.ceil(len(fit_x) / s["batchSize"])
    total = s["epochs"] * steps_per_epoch
    warm = s["warmupEpochs"] * steps_per_epoch

    def lr_at(step):
        if step < warm:
            return s["learningRate"] * (step + 1) / warm
        return 0.5 * s["learningRate"] * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))

    history = []
    step = 0
    for epoch in range(s["epochs"]):
        model.train()
        classifier.train()
        order = rng.permutation(len(fit_x))
        losses = []
        correct = 0
        t_epoch = time.time()
        for b in range(steps_per_epoch):
            idx = np.sort(order[b * s["batchSize"] : (b + 1) * s["batchSize"]])
            if len(idx) < 2:
                continue
            x = augment(fit_x[idx], rng, s)
            y = torch.from_numpy(fit_y[idx])
            x, y_other, keep = cutmix(x, rng, s)
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            e = model(x)
            logits = classifier(e)

            def mixed_loss(head_logits, labels):
                ce = lambda t: F.cross_entropy(head_logits, t, label_smoothing=s["labelSmoothing"])
                return ce(labels) if keep == 1.0 else keep * ce(labels) + (1 - keep) * ce(labels[y_other])

            loss = mixed_loss(logits, y)
            if coarse_weight > 0:
                loss = loss + coarse_weight * mixed_loss(coarse_classifier(e), coarse_y_of[y])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.item())
            correct += int((logits.argmax(1) == y).sum())
            step += 1
        entry = {"epoch": epoch + 1, "loss": float(np.mean(losses)), "trainAccuracy": correct / len(fit_x), "seconds": time.time() - t_epoch}
        if (epoch + 1) % 5 == 0 or epoch + 1 == s["epochs"]:
            val_e = embed_all(model, val_x, s)
            scores = gallery_scores(embed_all(model, train_x, s), train_y, val_e, n_classes)
            entry["valTop1"] = topk(scores, val_y, 1)
            entry["valTop5"] = topk(scores, val_y, 5)
        history.append(entry)
        print(json.dumps(entry), flush=True)

    # Final figures: gallery of train-split centroids, val queries, as the runtime does it.
    train_e = embed_all(model, train_x, s)
    val_e = embed_all(model, val_x, s)
    scores = gallery_scores(train_e, train_y, val_e, n_classes)
    pred = scores.argmax(1).numpy()
    coarse_pred = coarse_of[pred]
    coarse_true = coarse_of[val_y]
    figures = {
        "fineTop1": topk(scores, val_y, 1),
        "fineTop5": topk(scores, val_y, 5),
        "coarseTop1": float(np.mean(coarse_pred == coarse_true)),
        "valImages": int(len(val_y)),
        "valClasses": int(len(set(val_y.tolist()))),
    }
    print(json.dumps(figures), flush=True)
    export(model, s, args.out, classes, figures, history, coarse_true, coarse_pred, coarse_names)


def export(model, s, out, classes, figures, history, coarse_true, coarse_pred, coarse_names):
    model.eval()
    onnx_path = os.path.join(out, f"{NAME}.onnx")
    dummy = torch.zeros(1, 3, s["inputSize"], s["inputSize"])
    torch.onnx.export(
        model, dummy, onnx_path, input_names=["image"], output_names=["embedding"],
        dynamic_axes={"image": {0: "batch"}, "embedding": {0: "batch"}}, opset_version=13, do_constant_folding=True,
    )
    with open(onnx_path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    manifest = {
        "name": NAME,
        "family": "embedder",
        "input": {
            "name": "image", "width": s["inputSize"], "height": s["inputSize"], "layout": "NCHW", "colorOrder": "RGB",
            "scale": 1 / 255, "mean": s["mean"], "std": s["std"], "resize": "stretch", "interpolation": "area",
        },
        "outputs": ["embedding"],
        "embeddingSize": s["embeddingSize"],
        "license": "MIT (trained by this project on the Grocery Store Dataset, MIT)",
        "source": f"models/train/train_product_embedder.py, seed {s['seed']}, sha256 {digest}",
    }
    with open(os.path.join(out, f"{NAME}.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    report_dir = os.path.join(HERE, "report") if os.path.abspath(out) == MODELS else os.path.join(out, "report")
    os.makedirs(report_dir, exist_ok=True)
    plot(history, os.path.join(report_dir, "loss.png"))
    coarse_ids = sorted(coarse_names)
    confusion = [[int(np.sum((coarse_true == t) & (coarse_pred == p))) for p in coarse_ids] for t in coarse_ids]
    report = {"model": f"{NAME}.onnx", "sha256": digest, "settings": s, "figures": figures, "history": history,
              "coarseClasses": [coarse_names[c] for c in coarse_ids], "coarseConfusion": confusion, "torch": torch.__version__}
    with open(os.path.join(report_dir, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
        f.write("\n")
    print(f"exported {onnx_path} ({os.path.getsize(onnx_path)} bytes, sha256 {digest})", flush=True)


def plot(history, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    ax[0].plot([h["epoch"] for h in history], [h["loss"] for h in history], label="train loss")
    ax[0].set_xlabel("epoch"); ax[0].set_ylabel("loss"); ax[0].legend()
    ax[1].plot([h["epoch"] for h in history], [h["trainAccuracy"] for h in history], label="train accuracy (augmented)")
    val = [h for h in history if "valTop1" in h]
    ax[1].plot([h["epoch"] for h in val], [h["valTop1"] for h in val], "o-", label="val fine top-1 (gallery)")
    ax[1].plot([h["epoch"] for h in val], [h["valTop5"] for h in val], "s-", label="val fine top-5 (gallery)")
    ax[1].set_xlabel("epoch"); ax[1].set_ylim(0, 1); ax[1].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=80)


if __name__ == "__main__":
    sys.exit(main())
