"""Compiled dice_loss fwd+bwd vs MONAI for five softmax formulations (RESULTS.md item 6).

All variants use the arithmetic one-hot ``max(0, 1 - |t - c|)``; only the softmax differs.
"""

from __future__ import annotations

from _common import _extra_data, interleaved, report, size, torch1

torch = torch1()
from monai.losses import DiceLoss  # noqa: E402

n = size()
data = _extra_data("segmentation", n)
x = torch.from_numpy(data[0]).requires_grad_(True)
t = torch.from_numpy(data[1])
classes = torch.arange(x.shape[1], dtype=torch.float32).view(1, -1, 1, 1)


def stable(x):  # z = x - max, exp(z - logsumexp z): the adapter's form past 2**23
    z = x - x.detach().amax(1, keepdim=True)
    return torch.exp(z - torch.logsumexp(z, 1, keepdim=True))


softmaxes = {
    "torch.softmax": lambda x: torch.softmax(x, 1),
    "exp(z - lse z)": stable,
    "exp(x - lse x)": lambda x: torch.exp(x - torch.logsumexp(x, 1, keepdim=True)),
    "exp(log_softmax)": lambda x: torch.exp(torch.log_softmax(x, 1)),
    "e / sum e": lambda x: (lambda e: e / e.sum(1, keepdim=True))(
        torch.exp(x - x.detach().amax(1, keepdim=True))
    ),
}


def dice(softmax):
    def f(x, t):
        p = softmax(x)
        y = torch.clamp(1 - torch.abs(t[:, None].float() - classes), min=0)
        inter, tot = (p * y).sum((2, 3)), p.sum((2, 3)) + y.sum((2, 3))
        return (1 - (2 * inter + 1) / (tot + 1)).mean()

    return f


monai = DiceLoss(softmax=True, to_onehot_y=True)
fns = {"monai DiceLoss": lambda x, t: monai(x, t[:, None])}
fns.update({k: dice(v) for k, v in softmaxes.items()})
steps = []
for f in fns.values():
    torch._dynamo.reset()
    cf = torch.compile(f, dynamic=False)

    def step(cf=cf):
        x.grad = None
        loss = cf(x, t)
        loss.backward()
        return loss

    steps.append(step)
report(list(fns), interleaved(steps, lambda o: o, 7, 0.1))
