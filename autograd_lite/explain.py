"""Reading the chain rule off a graph: where kinks were hit."""

from __future__ import annotations

from dataclasses import dataclass

from .value import Value, toposort


@dataclass(frozen=True)
class Kink:
    """A node (ReLU, leaky ReLU, abs, ...) with ``count`` inputs exactly on its kink."""

    node: Value
    op: str
    count: int
    subgradient: float

    def __str__(self) -> str:
        name = f" {self.node.label!r}" if self.node.label else ""
        of = f" of {self.node.size}" if self.node.shape else ""
        inputs = "input" if self.count == 1 and not of else "inputs"
        return (f"{self.op}{name}: {self.count}{of} {inputs} exactly 0 "
                f"({self.op}'(0) = {self.subgradient:g})")


def kinks(root: Value) -> list[Kink]:
    """The nodes ``root`` depends on where an input sat exactly on a kink, with counts.

    At those points the op is not differentiable and the recorded subgradient was used.

    >>> import autograd_lite as ag
    >>> x = ag.Value([-1.0, 0.0, 2.0], "x")
    >>> for k in ag.kinks(x.relu().sum()):
    ...     print(k)
    relu: 1 of 3 inputs exactly 0 (relu'(0) = 0)
    """
    return [Kink(v, v.op, v._ctx["kinks"], v._ctx.get("subgradient", 0.0))
            for v in toposort(root) if v._ctx is not None and v._ctx.get("kinks")]
