"""PyTorch's beginner programs run on layerwise with only their imports changed.

Each program is written once, as a PyTorch user writes it, below an `{imports}` line. The
test runs it twice: with PyTorch's imports, and with layerwise's (`import layerwise as torch`,
`from layerwise import nn`, ...). Where both frameworks start from the same values (the
polynomial fits, whose coefficients come from `torch.randn`, here answering the same numbers
in both), the results must agree; elsewhere the layerwise run is checked on its own terms.

The programs follow the official tutorials (the quickstart on Fashion-MNIST, "Learning
PyTorch with Examples", "Saving and Loading Models"), with small data so that the suite stays
fast: the quickstart trains on a few hundred random images of Fashion-MNIST's shape.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import layerwise as lw

IMPORTS = {
    "pytorch": {
        "torch": "import torch",
        "nn": "from torch import nn",
        "data": "from torch.utils.data import DataLoader, TensorDataset",
    },
    "layerwise": {
        "torch": "import layerwise as torch",
        "nn": "from layerwise import nn",
        "data": "from layerwise.data import DataLoader, TensorDataset",
    },
}


def run(program: str, framework: str, *modules: str) -> dict[str, Any]:
    """Run `program` with the framework's import lines for `modules`; return its globals."""
    imports = "\n".join(IMPORTS[framework][module] for module in modules)
    namespace: dict[str, Any] = {"__name__": "__main__"}
    exec(compile(program.format(imports=imports), f"<{framework} program>", "exec"), namespace)
    return namespace


@pytest.fixture(autouse=True)
def one_torch_thread() -> Iterator[None]:
    """Tiny tensors: PyTorch's thread pool only costs time here (and much more when another
    process competes for the two cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def same_random_starts(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """torch.randn in both frameworks answers the same values, one call after another, so
    that a program's two runs start from the same coefficients."""
    def patched(framework: Any, original: Any) -> Any:
        rng = np.random.default_rng(0)

        def randn(*size: Any, **options: Any) -> Any:
            shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], tuple) else size
            values = rng.standard_normal(shape)
            dtype = options.pop("dtype", None)
            requires_grad = options.pop("requires_grad", False)
            made = framework.tensor(values, dtype=dtype or framework.float32)
            return made.requires_grad_(requires_grad)

        return randn

    monkeypatch.setattr(torch, "randn", patched(torch, torch.randn))
    monkeypatch.setattr(lw, "randn", patched(lw, lw.randn))
    yield


POLYNOMIAL_AUTOGRAD = '''
{imports}
import math

dtype = torch.float
device = "cpu"

# Fit y = sin(x) on [-pi, pi] with a third-order polynomial.
x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
y = torch.sin(x)

a = torch.randn((), device=device, dtype=dtype, requires_grad=True)
b = torch.randn((), device=device, dtype=dtype, requires_grad=True)
c = torch.randn((), device=device, dtype=dtype, requires_grad=True)
d = torch.randn((), device=device, dtype=dtype, requires_grad=True)

learning_rate = 1e-6
losses = []
for t in range(2000):
    y_pred = a + b * x + c * x ** 2 + d * x ** 3
    loss = (y_pred - y).pow(2).sum()
    if t % 100 == 99:
        losses.append(loss.item())

    loss.backward()

    # The weights are leaves: change them without recording, then forget the gradients.
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad

        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None

result = f"y = {{a.item():.4f}} + {{b.item():.4f}} x + {{c.item():.4f}} x^2 + {{d.item():.4f}} x^3"
'''


def test_polynomial_fit_with_autograd(same_random_starts: None) -> None:
    ours = run(POLYNOMIAL_AUTOGRAD, "layerwise", "torch")
    theirs = run(POLYNOMIAL_AUTOGRAD, "pytorch", "torch")
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=1e-4)
    for name in "abcd":
        np.testing.assert_allclose(ours[name].item(), theirs[name].item(), rtol=1e-4, atol=1e-6)
        assert ours[name].is_leaf and ours[name].requires_grad
    assert ours["losses"][-1] < ours["losses"][0]


POLYNOMIAL_MODULE = '''
{imports}
import math

x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)


class Polynomial3(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.randn(()))
        self.b = torch.nn.Parameter(torch.randn(()))
        self.c = torch.nn.Parameter(torch.randn(()))
        self.d = torch.nn.Parameter(torch.randn(()))

    def forward(self, x):
        return self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3

    def string(self):
        return (f"y = {{self.a.item()}} + {{self.b.item()}} x + {{self.c.item()}} x^2 + "
                f"{{self.d.item()}} x^3")


model = Polynomial3()
criterion = torch.nn.MSELoss(reduction="sum")
optimizer = torch.optim.SGD(model.parameters(), lr=1e-6)
losses = []
for t in range(2000):
    y_pred = model(x)
    loss = criterion(y_pred, y)
    if t % 100 == 99:
        losses.append(loss.item())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

result = model.string()
'''


def test_polynomial_fit_with_a_module_and_sgd(same_random_starts: None) -> None:
    ours = run(POLYNOMIAL_MODULE, "layerwise", "torch")
    theirs = run(POLYNOMIAL_MODULE, "pytorch", "torch")
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=1e-4)
    for (name, mine), (_, reference) in zip(ours["model"].named_parameters(),
                                            theirs["model"].named_parameters(), strict=True):
        np.testing.assert_allclose(mine.item(), reference.item(), rtol=1e-4, atol=1e-6,
                                   err_msg=name)
    assert ours["result"].startswith("y = ")


POLYNOMIAL_SEQUENTIAL = '''
{imports}
import math

x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)

# y is a linear function of (x, x^2, x^3): a Linear layer on those three features.
p = torch.tensor([1, 2, 3])
xx = x.unsqueeze(-1).pow(p)

model = torch.nn.Sequential(
    torch.nn.Linear(3, 1),
    torch.nn.Flatten(0, 1)
)
loss_fn = torch.nn.MSELoss(reduction="sum")

learning_rate = 1e-6
losses = []
for t in range(2000):
    y_pred = model(xx)
    loss = loss_fn(y_pred, y)
    if t % 100 == 99:
        losses.append(loss.item())
    model.zero_grad()
    loss.backward()
    with torch.no_grad():
        for param in model.parameters():
            param -= learning_rate * param.grad

linear_layer = model[0]
coefficients = [linear_layer.bias.item()] + [linear_layer.weight[:, k].item() for k in range(3)]
'''


def test_polynomial_fit_with_sequential_and_a_manual_update() -> None:
    ours = run(POLYNOMIAL_SEQUENTIAL, "layerwise", "torch")
    run(POLYNOMIAL_SEQUENTIAL, "pytorch", "torch")  # the program itself is PyTorch's
    assert ours["xx"].shape == (2000, 3) and ours["xx"].dtype == np.float32
    assert ours["losses"][-1] < ours["losses"][0]
    assert all(parameter.is_leaf for parameter in ours["model"].parameters())
    # Gradient descent on a convex least-squares problem: the loss never goes up.
    assert all(later <= earlier * (1 + 1e-6) for earlier, later in
               zip(ours["losses"], ours["losses"][1:], strict=False))


LEGENDRE_PYTORCH = '''
import torch
import math


class LegendrePolynomial3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)
{fit}
'''

# The same function as a layerwise op: forward and backward on arrays, the formulas
# unchanged; apply() puts it in the graph as Function.apply does.
LEGENDRE_LAYERWISE = '''
import layerwise as torch
import math


class LegendrePolynomial3(torch.ops.Op):
    """P3(x) = (5 x^3 - 3 x) / 2.  Backward: grad_x = grad_y * 1.5 (5 x^2 - 1)."""

    def forward(self, input):
        self.input = input
        return 0.5 * (5 * input ** 3 - 3 * input)

    def backward(self, grad_output):
        return (grad_output * 1.5 * (5 * self.input ** 2 - 1),)
{fit}
'''

LEGENDRE_FIT = '''

dtype = torch.float
x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype)
y = torch.sin(x)

# y = a + b P3(c + d x); start close to the answer, as the tutorial does.
a = torch.full((), 0.0, dtype=dtype, requires_grad=True)
b = torch.full((), -1.0, dtype=dtype, requires_grad=True)
c = torch.full((), 0.0, dtype=dtype, requires_grad=True)
d = torch.full((), 0.3, dtype=dtype, requires_grad=True)

learning_rate = 5e-6
losses = []
for t in range(2000):
    P3 = LegendrePolynomial3.apply
    y_pred = a + b * P3(c + d * x)
    loss = (y_pred - y).pow(2).sum()
    if t % 100 == 99:
        losses.append(loss.item())
    loss.backward()
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None
'''


def test_polynomial_fit_with_a_custom_function_written_as_an_op() -> None:
    ours: dict[str, Any] = {"__name__": "__main__"}
    theirs: dict[str, Any] = {"__name__": "__main__"}
    exec(LEGENDRE_LAYERWISE.format(fit=LEGENDRE_FIT), ours)
    exec(LEGENDRE_PYTORCH.format(fit=LEGENDRE_FIT), theirs)
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=1e-4)
    for name in "abcd":
        np.testing.assert_allclose(ours[name].item(), theirs[name].item(), rtol=1e-4, atol=1e-6)
    assert ours["losses"][-1] < ours["losses"][0]
    op = ours["LegendrePolynomial3"]
    point = np.array([0.3, -0.7, 1.1])
    assert lw.gradcheck(op.apply, [point])  # its backward is the derivative of its forward


QUICKSTART = '''
{imports}

# Fashion-MNIST-shaped data: 1x28x28 images in [0, 1] and labels 0-9 (random here).
torch.manual_seed(0)
training_data = TensorDataset(torch.rand(320, 1, 28, 28), torch.randint(0, 10, (320,)))
test_data = TensorDataset(torch.rand(96, 1, 28, 28), torch.randint(0, 10, (96,)))

batch_size = 64

train_dataloader = DataLoader(training_data, batch_size=batch_size)
test_dataloader = DataLoader(test_data, batch_size=batch_size)

for X, y in test_dataloader:
    print(f"Shape of X [N, C, H, W]: {{X.shape}}")
    print(f"Shape of y: {{y.shape}} {{y.dtype}}")
    break

device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
print(f"Using {{device}} device")


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28*28, 512),
            nn.ReLU(),
            nn.Linear(512, 512),
            nn.ReLU(),
            nn.Linear(512, 10)
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits


model = NeuralNetwork().to(device)
print(model)

loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)


def train(dataloader, model, loss_fn, optimizer):
    size = len(dataloader.dataset)
    model.train()
    for batch, (X, y) in enumerate(dataloader):
        X, y = X.to(device), y.to(device)

        pred = model(X)
        loss = loss_fn(pred, y)

        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

        if batch % 2 == 0:
            loss, current = loss.item(), (batch + 1) * len(X)
            print(f"loss: {{loss:>7f}}  [{{current:>5d}}/{{size:>5d}}]")


def test(dataloader, model, loss_fn):
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    model.eval()
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            X, y = X.to(device), y.to(device)
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    test_loss /= num_batches
    correct /= size
    print(f"Test Error: \\n Accuracy: {{(100*correct):>0.1f}}%, Avg loss: {{test_loss:>8f}} \\n")
    return test_loss, correct


epochs = 2
results = []
for t in range(epochs):
    print(f"Epoch {{t+1}}\\n-------------------------------")
    train(train_dataloader, model, loss_fn, optimizer)
    results.append(test(test_dataloader, model, loss_fn))
print("Done!")

torch.save(model.state_dict(), "model.pth")
print("Saved PyTorch Model State to model.pth")

model = NeuralNetwork().to(device)
model.load_state_dict(torch.load("model.pth", weights_only=True))

classes = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]

model.eval()
x, y = test_data[0][0], test_data[0][1]
with torch.no_grad():
    x = x.to(device)
    pred = model(x)
    predicted, actual = classes[pred[0].argmax(0)], classes[y]
    print(f'Predicted: "{{predicted}}", Actual: "{{actual}}"')
'''


@pytest.mark.parametrize("framework", ["layerwise", "pytorch"])
def test_quickstart_trains_evaluates_saves_and_loads(
        framework: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    namespace = run(QUICKSTART, framework, "torch", "nn", "data")
    printed = capsys.readouterr().out
    assert "Shape of X [N, C, H, W]: " in printed and "Using cpu device" in printed
    assert printed.count("Test Error:") == 2 and "Done!" in printed
    assert 'Predicted: "' in printed and (tmp_path / "model.pth").exists()
    for test_loss, accuracy in namespace["results"]:
        assert math.isfinite(test_loss) and 0.0 <= accuracy <= 1.0
        # Ten classes of random labels: the loss starts near log(10).
        assert abs(test_loss - math.log(10)) < 0.5
    model, test_data = namespace["model"], namespace["test_data"]
    loaded = namespace["torch"].load("model.pth", weights_only=True)
    assert sorted(loaded) == sorted(model.state_dict())
    # The reloaded model gives the evaluation the saved one gave.
    loss_fn = namespace["loss_fn"]
    test_loss, _ = namespace["test"](namespace["test_dataloader"], model, loss_fn)
    assert test_loss == pytest.approx(namespace["results"][-1][0], rel=1e-6)
    assert len(test_data) == 96


def test_the_quickstart_shapes_and_dtypes_print_as_pytorchs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    ours = run(QUICKSTART, "layerwise", "torch", "nn", "data")
    first = capsys.readouterr().out.splitlines()[:2]
    assert first == ["Shape of X [N, C, H, W]: (64, 1, 28, 28)", "Shape of y: (64,) int64"]
    assert ours["X"].dtype == np.float32 and ours["y"].dtype == np.int64


def test_the_porting_guides_program_differs_only_in_its_imports(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/pytorch.md shows one program both ways: the layerwise block must be the PyTorch
    block with layerwise's imports (and a closing check), and the PyTorch block must run."""
    page = (Path(__file__).resolve().parent.parent / "docs" / "pytorch.md").read_text()
    pytorch_block = page.split("```py\n")[1].split("```")[0]
    layerwise_block = page.split("```python\n")[-1].split("```")[0]
    swapped = pytorch_block
    for module in ("torch", "nn", "data"):
        swapped = swapped.replace(IMPORTS["pytorch"][module], IMPORTS["layerwise"][module])
    closing = layerwise_block[len(swapped):]
    assert layerwise_block.startswith(swapped)
    assert closing.strip().startswith("assert ") and "\n" not in closing.strip()
    monkeypatch.chdir(tmp_path)
    exec(compile(pytorch_block, "<pytorch block>", "exec"), {"__name__": "__main__"})
