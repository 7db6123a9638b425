"""The ``autograd-lite`` command line (also ``python -m autograd_lite``).

One subparser per command: each ``_add_<command>(sub)`` declares its arguments and sets
``run`` to the function that carries it out. Bad input ends in one line on stderr and a
non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import keyword
import math
import re
import sys
import unicodedata
from collections.abc import Collection
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from . import binary_cross_entropy_with_logits, datasets, kinks, relu_subgradient
from .explain import explain
from .expr import FUNCTIONS, MAX_CHARS, ExprError, parse
from .replay import replay
from .value import Value
from .viz import FORMATS, RenderError, _choose, draw, render

PROG = "autograd-lite"
_LONG_OPTION = re.compile(r"--[A-Za-z][\w-]*(=.*)?", re.S)  # a mistyped option, not a formula
MAX_BINDINGS = 100
DEMO_FILE = "autograd_lite_demo.svg"

FUNCTION_HELP = "functions a formula may use:\n" + "\n".join(
    f"  {f.usage:<22} {f.doc}" for f in FUNCTIONS.values())


class CLIError(Exception):
    """Bad input to the command line: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (usage is in --help)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# --- demo ---------------------------------------------------------------------------------------

def _add_demo(sub: Any) -> None:
    p = sub.add_parser(
        "demo", help="a two-layer ReLU network, one backward, the chain-rule picture",
        description="A 2-3-1 ReLU network on four points of the planar flower data: one "
                    "forward pass, one backward pass, the chain rule for dJ/dW1 printed and "
                    f"the picture of the graph written as SVG ({DEMO_FILE}).")
    p.add_argument("--out", metavar="DIR", default=".",
                   help="the folder to write the picture into, made if it does not exist "
                        "(default: the current folder)")
    _add_replay_option(p)
    p.set_defaults(run=_demo)


def demo_graph() -> tuple[Value, Value, dict[str, np.ndarray]]:
    """The demo's network on four flower points: (J, W1, the named constants X and Y)."""
    X_all, y_all = datasets.flower()
    rows = [20, 130, 230, 340]  # two points of each class
    X, Y = X_all[rows], y_all[rows].reshape(-1, 1).astype(np.float64)
    rng = np.random.default_rng(0)
    W1 = Value(rng.normal(0.0, 1.0, (2, 3)), "W1")  # He init: std sqrt(2 / 2)
    b1 = Value(np.zeros(3), "b1")
    W2 = Value(rng.normal(0.0, math.sqrt(2 / 3), (3, 1)), "W2")
    b2 = Value(np.zeros(1), "b2")
    Z1 = X @ W1 + b1
    A1 = Z1.relu()
    Z2 = A1 @ W2 + b2
    J = binary_cross_entropy_with_logits(Z2, Y)
    for v, name in ((Z1, "Z1"), (A1, "A1"), (Z2, "Z2"), (J, "J")):
        v.label = name
    return J, W1, {"X": X, "Y": Y}


def _demo(args: argparse.Namespace) -> int:
    folder = Path(args.out)
    if folder.exists() and not folder.is_dir():
        raise CLIError(f"--out {args.out}: not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CLIError(f"--out {args.out}: cannot make this folder ({e.strerror or e})") from None
    _check_replay_path(args.replay)
    J, W1, constants = demo_graph()
    J.backward()
    print("A 2-3-1 ReLU network on 4 points of the planar flower data (ag.datasets.flower):")
    print("  Z1 = X @ W1 + b1,  A1 = relu(Z1),  Z2 = A1 @ W2 + b2,  "
          "J = mean(bce_logits(Z2, Y))")
    print(f"J = {J.item():.6f}   (one forward, one backward)")
    hit = kinks(J)
    print("kinks hit:", "; ".join(str(k) for k in hit) if hit else "none")
    print()
    print(explain(J, W1, constants=constants))
    print()
    print("backward agrees: W1.grad =", np.array2string(W1.grad, precision=6).replace(
        "\n", "\n                          "))
    path = render(draw(J, wrt=W1, constants=constants), folder / DEMO_FILE)
    print(f"picture: {path}  (every edge carries its factor; the path from W1 to J is red)")
    _save_replay(args.replay, J, W1, constants)
    return 0


# --- graph --------------------------------------------------------------------------------------

def _add_graph(sub: Any) -> None:
    p = sub.add_parser(
        "graph", help="evaluate a formula, its gradients and chain rule, and draw it",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        usage="%(prog)s FORMULA --at NAME=NUMBER [NAME=NUMBER ...]\n"
              + " " * len(f"usage: {PROG} graph ")
              + "[--wrt NAME] [--subgradient S] [-o FILE] [--replay FILE.html]",
        description="Evaluate a formula at the given point, run backward, print the value, "
                    "the gradients, the kinks hit and the chain rule, and write the picture.\n"
                    "The formula is parsed safely (no eval): numbers, the names given with "
                    "--at,\n+ - * / **, unary minus, parentheses and these functions.",
        epilog=FUNCTION_HELP + '\n\nexample:\n  autograd-lite graph "relu(w*x + b)" '
                               "--at w=2 x=3 b=-1 --wrt w")
    # optional for argparse only: a formula such as "-x*y" looks like an option to it, and
    # main() takes it back from the unrecognised arguments; _graph() insists on one
    p.add_argument("formula", nargs="?", metavar="FORMULA",
                   help=f"the formula, e.g. 'relu(w*x + b)' (at most {MAX_CHARS} characters)")
    p.add_argument("--at", nargs="+", action="extend", default=[], metavar="NAME=NUMBER",
                   help="the value of each name, e.g. --at w=2 x=3 b=-1")
    p.add_argument("--wrt", metavar="NAME",
                   help="write the chain rule for d(formula)/d(NAME) and highlight its paths "
                        "(default: the first name in the formula)")
    p.add_argument("--subgradient", metavar="S", type=_real,
                   help="relu'(0), a number in [0, 1] (default 0, as PyTorch)")
    p.add_argument("-o", "--output", metavar="FILE", default="graph.svg",
                   help=f"where to write the picture ({', '.join(FORMATS)}; default graph.svg)")
    _add_replay_option(p)
    p.set_defaults(run=_graph)


def _real(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def _bindings(pairs: list[str]) -> dict[str, float]:
    if len(pairs) > MAX_BINDINGS:
        raise CLIError(f"--at gives {len(pairs)} values; at most {MAX_BINDINGS} are accepted")
    values: dict[str, float] = {}
    spelt: dict[str, str] = {}  # each name as Python reads it -> as it was written
    for pair in pairs:
        name, eq, number = pair.partition("=")
        name, number = name.strip(), number.strip()
        if not eq or not name or not number:
            raise CLIError(f"--at {pair!r}: write NAME=NUMBER, e.g. --at x=1.5")
        if not name.isidentifier():
            raise CLIError(f"--at {pair!r}: {name!r} is not a name (letters, digits and _, "
                           "not starting with a digit)")
        if keyword.iskeyword(name):
            raise CLIError(f"--at {pair!r}: {name} is a Python keyword, not a name for a "
                           f"value; use another name, e.g. {name}_")
        written, name = name, _as_python_reads(name)
        if name in FUNCTIONS:
            raise CLIError(f"--at {pair!r}: {name} is a function, not a name for a value")
        if name in values:
            same = "" if spelt[name] == written else (
                f" ({spelt[name]} and {written} are the same name to Python)")
            raise CLIError(f"--at binds {name} twice{same}; give each name one value")
        spelt[name] = written
        try:
            x = float(number)
        except ValueError:
            raise CLIError(f"--at {pair!r}: {number!r} is not a number") from None
        if not math.isfinite(x):
            raise CLIError(f"--at {pair!r}: the value must be a finite number")
        values[name] = x
    return values


def _as_python_reads(name: str) -> str:
    """A name as a formula's parser sees it: Python reads identifiers in NFKC (𝑥 is x)."""
    return unicodedata.normalize("NFKC", name)


def _result_name(taken: Collection[str]) -> str:
    """What to call the formula's result: f, or the first of F, out, result, f1, f2, ... free."""
    for name in ("f", "F", "out", "result"):
        if name not in taken:
            return name
    return next(f"f{i}" for i in range(1, len(taken) + 2) if f"f{i}" not in taken)


def _graph(args: argparse.Namespace) -> int:
    if args.formula is None:
        raise CLIError("the formula is required, e.g. autograd-lite graph 'relu(w*x + b)' "
                       "--at w=2 x=3 b=-1")
    formula = parse(args.formula)
    values = _bindings(args.at)
    if not formula.names:
        raise CLIError("the formula uses no names, so there is nothing to differentiate; "
                       "e.g. autograd-lite graph 'x * 3' --at x=1")
    unused = [n for n in values if n not in formula.names]
    wrt = _as_python_reads(args.wrt) if args.wrt is not None else formula.names[0]
    if wrt not in formula.names:
        raise CLIError(f"--wrt {wrt}: not a name in the formula (its names: "
                       f"{', '.join(formula.names)})")
    out = Path(args.output)
    if out.suffix.lower() not in FORMATS:
        raise CLIError(f"-o {args.output}: the file name must end in {', '.join(FORMATS)}")
    if not out.parent.is_dir():
        raise CLIError(f"-o {args.output}: no such folder {str(out.parent)!r}")
    if FORMATS[out.suffix.lower()] != "dot":
        _choose(FORMATS[out.suffix.lower()], "auto")  # can this format be made? before any work
    _check_replay_path(args.replay)
    s = 0.0 if args.subgradient is None else args.subgradient
    with relu_subgradient(s):
        root, leaves = formula.evaluate(values)
    if root.op:  # the result is called f, or another name no input has
        root.label = _result_name(values)
    root.backward()
    name = root.label
    for n in formula.names:
        g = leaves[n].grad
        if not math.isfinite(g):
            raise CLIError(f"d{name}/d{n} is {g} at this point: the formula is not "
                           "differentiable there, or its gradient overflows")
    at = ", ".join(f"{n} = {values[n]:g}" for n in formula.names)
    print(f"{name} = {formula.text} = {root.data:.6g}" if formula.text != name else
          f"{name} = {root.data:.6g}")
    print(f"  at {at};  relu'(0) = {s:g}")
    print("gradients (one backward):")
    for n in formula.names:
        print(f"  d{name}/d{n} = {leaves[n].grad:.6g}")
    hit = kinks(root)
    print("kinks hit:", "; ".join(str(k) for k in hit) if hit else "none")
    print()
    print(explain(root, leaves[wrt]))
    print()
    path = render(draw(root, wrt=leaves[wrt]), out)
    print(f"picture: {path}")
    _save_replay(args.replay, root, leaves[wrt])
    for n in unused:
        print(f"{PROG}: note: --at {n}=... is not used by the formula", file=sys.stderr)
    return 0


# --- --replay, on demo and graph ---------------------------------------------------------------

def _add_replay_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--replay", metavar="FILE.html",
                   help="also write the backward sweep step by step as one offline page")


def _check_replay_path(name: str | None) -> None:
    if name is None:
        return
    path = Path(name)
    if path.suffix.lower() not in (".html", ".htm"):
        raise CLIError(f"--replay {name}: the file name must end in .html")
    if not path.parent.is_dir():
        raise CLIError(f"--replay {name}: no such folder {str(path.parent)!r}")


def _save_replay(name: str | None, root: Value, wrt: Value,
                 constants: dict[str, np.ndarray] | None = None) -> None:
    if name is not None:
        path = replay(root, wrt, constants=constants).save(name)
        print(f"replay: {path}  (open it in a browser: step through the sweep)")


# --- study ------------------------------------------------------------------------------------

def _add_study(sub: Any) -> None:
    from .studies import relu0  # its heavy imports (scikit-learn, tqdm, matplotlib) stay lazy

    p = sub.add_parser("study", help="studies run with the engine itself",
                       description="Studies run with the engine itself.")
    p.set_defaults(run=relu0.run)
    studies = p.add_subparsers(dest="study", metavar="STUDY", required=True)
    parser = studies.add_parser(
        "relu0", help="does relu'(0) change backpropagation, how often, and does it change "
                      "training (float16/32/64)?",
        description="Trains the same digits MLP with relu'(0) = 0 and = 1 from the same "
                    "weights and minibatches, in float16, float32 and float64, and compares "
                    "gradients bitwise (after Bertoin et al., NeurIPS 2021).")
    relu0.add_arguments(parser)
    parser.set_defaults(run=relu0.run)


# --- check ------------------------------------------------------------------------------------

def _add_check(sub: Any) -> None:
    p = sub.add_parser(
        "check", help="is my hand-written backward right, and if not, what did I get wrong?",
        description="Finds your backward functions by name (Deep Learning Specialization "
                    "course 1 week 4: relu_backward, linear_backward, L_model_backward, ...; "
                    "CS231n: affine_backward, relu_backward, softmax_loss, svm_loss, ...), "
                    "runs them unchanged next to the engine and says, for each, whether it is "
                    "right and what kind of mistake it makes. Exit status 0: all right, 1: one "
                    "is wrong, 2: the file cannot be loaded or holds no such function.")
    p.add_argument("file", metavar="FILE.py", help="your Python file")
    p.set_defaults(run=_check)


def _check(args: argparse.Namespace) -> int:
    from .check import CheckError, check

    try:
        report = check(args.file)
    except CheckError as e:
        raise CLIError(str(e)) from None
    print(report)
    return 0 if report.ok else 1


# --- the parser ---------------------------------------------------------------------------------

COMMANDS = (_add_demo, _add_graph, _add_study, _add_check)  # one function per subcommand


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: one subparser per command (see ``COMMANDS``)."""
    parser = _Parser(
        prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="A small autodiff engine that shows the chain rule: every edge of the "
                    "graph carries its local derivative.",
        epilog=FUNCTION_HELP + "\n\nstart with:  autograd-lite demo")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if (getattr(args, "command", None) == "graph" and args.formula is None and len(extra) == 1
            and extra[0].startswith("-") and not _LONG_OPTION.fullmatch(extra[0])):
        args.formula, extra = extra[0], []  # e.g. "-x*y", which argparse took for an option
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if not hasattr(args, "run"):
        parser.print_help()
        return 0
    try:
        return args.run(args)
    except (CLIError, ExprError, RenderError, ValueError, TypeError, ArithmeticError,
            OSError) as e:
        message = " ".join(str(e).split()) or type(e).__name__
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 2
    except MemoryError as e:
        detail = " ".join(str(e).split())
        print(f"{PROG}: error: out of memory{': ' + detail if detail else ''}; ask for less "
              "(see --help for the allowed ranges)", file=sys.stderr)
        return 2
