"""TTFNet-style losses: Gaussian focal loss on the heatmap, GIoU on the decoded boxes."""

from __future__ import annotations

import torch

from models.detector.model import STRIDE


def focal_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss, normalised by the number of centres."""
    p = pred.clamp(1e-5, 1 - 1e-5)
    pos = target.eq(1).float()
    neg = (1 - pos) * mask.unsqueeze(1)
    pos_loss = torch.log(p) * (1 - p) ** 2 * pos
    neg_loss = torch.log(1 - p) * p**2 * (1 - target) ** 4 * neg
    return -(pos_loss.sum() + neg_loss.sum()) / pos.sum().clamp(min=1.0)


def cell_boxes(ltrb: torch.Tensor) -> torch.Tensor:
    """Bx4xHxW distances -> Bx4xHxW boxes (x1, y1, x2, y2) around each cell centre."""
    _, _, h, w = ltrb.shape
    ys = (torch.arange(h, device=ltrb.device, dtype=ltrb.dtype) + 0.5) * STRIDE
    xs = (torch.arange(w, device=ltrb.device, dtype=ltrb.dtype) + 0.5) * STRIDE
    cx, cy = xs.view(1, 1, w), ys.view(1, h, 1)
    return torch.stack([cx - ltrb[:, 0], cy - ltrb[:, 1], cx + ltrb[:, 2], cy + ltrb[:, 3]], 1)


def giou_loss(ltrb: torch.Tensor, box: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Weighted 1 - GIoU over the cells that carry a box; weights sum to 1 per box."""
    sel = weight > 0
    if not bool(sel.any()):
        return ltrb.sum() * 0.0
    p = cell_boxes(ltrb).permute(0, 2, 3, 1)[sel]
    t = box.permute(0, 2, 3, 1)[sel]
    w = weight[sel]
    ix1, iy1 = torch.maximum(p[:, 0], t[:, 0]), torch.maximum(p[:, 1], t[:, 1])
    ix2, iy2 = torch.minimum(p[:, 2], t[:, 2]), torch.minimum(p[:, 3], t[:, 3])
    inter = (ix2 - ix1).clamp(min=0) * (iy2 - iy1).clamp(min=0)
    ap = (p[:, 2] - p[:, 0]).clamp(min=0) * (p[:, 3] - p[:, 1]).clamp(min=0)
    at = (t[:, 2] - t[:, 0]) * (t[:, 3] - t[:, 1])
    union = ap + at - inter + 1e-6
    ex1, ey1 = torch.minimum(p[:, 0], t[:, 0]), torch.minimum(p[:, 1], t[:, 1])
    ex2, ey2 = torch.maximum(p[:, 2], t[:, 2]), torch.maximum(p[:, 3], t[:, 3])
    enclose = (ex2 - ex1) * (ey2 - ey1) + 1e-6
    giou = inter / union - (enclose - union) / enclose
    return ((1 - giou) * w).sum() / w.sum().clamp(min=1e-6) * (w.sum() > 0)


def detector_loss(
    heatmap: torch.Tensor, ltrb: torch.Tensor, batch: dict[str, torch.Tensor], reg_weight: float = 5.0
) -> tuple[torch.Tensor, dict[str, float]]:
    """Total loss and its parts for logging."""
    lh = focal_loss(heatmap, batch["heatmap"], batch["mask"])
    lr = giou_loss(ltrb, batch["box"], batch["weight"])
    return lh + reg_weight * lr, {"loss_heatmap": float(lh.detach()), "loss_giou": float(lr.detach())}
