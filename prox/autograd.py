"""The prox as a differentiable torch operation (what happens to ``requires_grad`` input).

Where the groups of ``u = prox_{lam R}(w)`` do not change under a small change
of ``w`` (every input but a set of measure zero), each output is the mean of
its group's inputs plus a constant: ``u_i = mean_{j in G(i)} w_j + lam * cbar_G``
(docs/maths.md, 'The sorted transform'). So the Jacobian is the block-averaging
matrix of the groups: symmetric, and the vector-Jacobian product averages the
incoming gradient over each group,

    (dL/dw)_i = mean_{j in G(i)} (dL/du)_j .

At the measure-zero set where two groups are about to merge this is one of the
valid generalized Jacobians (the one of the coarser grouping if the outputs are
already equal). ``lam`` is a plain float: no gradient flows to it.
"""
from __future__ import annotations

import torch

__all__ = ["attach_prox_gradient", "average_over_groups"]


def average_over_groups(values: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """Average ``grad`` over every run of equal entries of ``values``, per row.

    values, grad : tensors of one shape (..., d). Returns a new tensor of that
    shape. O(d log d) work (a sort per row), O(log d) depth.
    """
    shape = values.shape
    d = shape[-1]
    if d == 0 or values.numel() == 0:
        return grad.clone()
    values = values.detach().reshape(-1, d)
    grad = grad.reshape(-1, d)
    sorted_values, order = values.sort(dim=-1, stable=True)
    sorted_grad = grad.gather(-1, order)
    # Group id of every sorted entry: a new group starts where the value changes.
    starts = torch.ones_like(sorted_values, dtype=torch.bool)
    starts[:, 1:] = sorted_values[:, 1:] != sorted_values[:, :-1]
    group = starts.cumsum(dim=-1) - 1
    sums = torch.zeros_like(sorted_grad).scatter_add_(-1, group, sorted_grad)
    sizes = torch.zeros_like(sorted_grad).scatter_add_(-1, group, torch.ones_like(sorted_grad))
    averaged_sorted = (sums / sizes.clamp(min=1)).gather(-1, group)
    return torch.empty_like(grad).scatter_(-1, order, averaged_sorted).reshape(shape)


class _ProxFunction(torch.autograd.Function):
    """Identity on the precomputed prox forward; group-averaging backward."""

    @staticmethod
    def forward(ctx, w, u):
        ctx.save_for_backward(u)
        return u.clone()

    @staticmethod
    def backward(ctx, grad_u):
        (u,) = ctx.saved_tensors
        return average_over_groups(u, grad_u), None


def attach_prox_gradient(w: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Return ``u`` (the prox of ``w``, computed without autograd) joined to ``w``'s graph.

    The result has ``u``'s values and ``requires_grad=True``; its gradient with
    respect to ``w`` is the group-averaging Jacobian above.
    """
    return _ProxFunction.apply(w, u.detach())
