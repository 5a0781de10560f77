"""micrograd / autograd-tutorial checks: hooks, retain_grad, double backward, jacobian."""
import math

import tapegrad as torch
import tapegrad.nn as nn

torch.manual_seed(0)

# micrograd's README example, checked against hand-derived numbers
a = torch.tensor([-4.0], dtype=torch.double, requires_grad=True)
b = torch.tensor([2.0], dtype=torch.double, requires_grad=True)
c = a + b
d = a * b + b**3
c = c + c + 1
c = c + 1 + c + (-a)
d = d + d * 2 + (b + a).relu()
d = d + 3 * d + (b - a).relu()
e = c - d
f = e**2
g = f / 2.0
g = g + 10.0 / f
g.backward()
assert abs(g.data.item() - 24.7041) < 1e-4
assert abs(a.grad.item() - 138.8338) < 1e-4
assert abs(b.grad.item() - 645.5773) < 1e-4

# the autograd tutorial: y = x + 2, z = y * y * 3, out = z.mean()
x = torch.ones(2, 2, requires_grad=True)
y = x + 2
y.retain_grad()
z = y * y * 3
out = z.mean()
assert y.grad_fn is not None and x.grad_fn is None and x.is_leaf and not y.is_leaf
out.backward()
assert torch.allclose(x.grad, torch.full((2, 2), 4.5))
assert torch.allclose(y.grad, torch.full((2, 2), 4.5))

# gradients accumulate; zero them in place
out = (x * 2).sum()
out.backward()
assert torch.allclose(x.grad, torch.full((2, 2), 6.5))
x.grad.zero_()
assert x.grad.sum().item() == 0

# requires_grad_ flips a tensor made without grad
a = torch.randn(2, 2)
a = ((a * 3) / (a - 1))
assert not a.requires_grad
a.requires_grad_(True)
b = (a * a).sum()
assert b.requires_grad and b.grad_fn is not None

# vector-Jacobian product through backward(gradient=...)
x = torch.randn(3, requires_grad=True)
y = x * 2
while y.data.norm() < 1000:
    y = y * 2
v = torch.tensor([0.1, 1.0, 0.0001], dtype=torch.float)
y.backward(v)
scale = (y / x).detach()
assert torch.allclose(x.grad, v * scale)

with torch.no_grad():
    assert not (x**2).requires_grad
assert (x**2).requires_grad
assert not x.detach().requires_grad

# hooks on a tensor: scale the incoming gradient
w = torch.randn(4, requires_grad=True)
seen = []
h = w.register_hook(lambda grad: seen.append(grad.clone()) or grad * 2)
(w * 3).sum().backward()
assert torch.allclose(w.grad, torch.full((4,), 6.0)) and len(seen) == 1
h.remove()
w.grad = None
(w * 3).sum().backward()
assert torch.allclose(w.grad, torch.full((4,), 3.0))

# double backward: d/dx of dy/dx, and a gradient penalty
x = torch.tensor(2.0, requires_grad=True)
y = x**3
(dy,) = torch.autograd.grad(y, x, create_graph=True)
assert dy.item() == 12.0
(d2y,) = torch.autograd.grad(dy, x)
assert d2y.item() == 12.0

net = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
inp = torch.randn(5, 3, requires_grad=True)
outp = net(inp)
grads = torch.autograd.grad(
    outputs=outp, inputs=inp, grad_outputs=torch.ones_like(outp), create_graph=True, retain_graph=True
)[0]
penalty = ((grads.norm(2, dim=1) - 1) ** 2).mean()
penalty.backward()
# the last bias does not reach d(out)/d(inp), so it gets no gradient (as in PyTorch)
assert [p.grad is None for p in net.parameters()] == [False, False, False, True]

# jacobian and hessian of small functions
def exp_reducer(x):
    return x.exp().sum(dim=1)

inputs = torch.rand(2, 2)
jac = torch.autograd.functional.jacobian(exp_reducer, inputs)
assert jac.shape == (2, 2, 2)
assert torch.allclose(jac[0, 0], inputs[0].exp()) and torch.allclose(jac[0, 1], torch.zeros(2))

def pow_adder_reducer(x, y):
    return (2 * x.pow(2) + 3 * y.pow(2)).sum()

inputs = (torch.rand(2), torch.rand(2))
hess = torch.autograd.functional.hessian(pow_adder_reducer, inputs)
assert torch.allclose(hess[0][0], 4 * torch.eye(2)) and torch.allclose(hess[1][1], 6 * torch.eye(2))

# a tiny micrograd-style MLP trained by hand on a toy problem
torch.manual_seed(1337)
xs = torch.tensor([[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]])
ys = torch.tensor([1.0, -1.0, -1.0, 1.0])
model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 1), nn.Tanh())
losses = []
for k in range(40):
    ypred = model(xs).squeeze(-1)
    loss = ((ypred - ys) ** 2).sum()
    model.zero_grad()
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p -= 0.05 * p.grad
    losses.append(loss.item())
print("micrograd mlp", losses[0], "->", losses[-1])

# a custom autograd Function (the tutorial's LegendrePolynomial3)
class LegendrePolynomial3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input**3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input**2 - 1)

dtype = torch.float
# torch.linspace(-math.pi, math.pi, 200) in the tutorial (linspace is not in tapegrad yet)
x = torch.arange(200, dtype=dtype) * (2 * math.pi / 199) - math.pi
y = torch.sin(x)
a = torch.full((), 0.0, dtype=dtype, requires_grad=True)
b = torch.full((), -1.0, dtype=dtype, requires_grad=True)
c = torch.full((), 0.0, dtype=dtype, requires_grad=True)
d = torch.full((), 0.3, dtype=dtype, requires_grad=True)
learning_rate = 5e-6
P3 = LegendrePolynomial3.apply
poly_losses = []
for t in range(200):
    y_pred = a + b * P3(c + d * x)
    loss = (y_pred - y).pow(2).sum()
    poly_losses.append(loss.item())
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
print(f"Result: y = {a.item()} + {b.item()} * P3({c.item()} + {d.item()} x)")
assert poly_losses[-1] < poly_losses[0]
assert losses[-1] < losses[0], losses
