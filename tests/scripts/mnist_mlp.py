"""PyTorch-examples-style MNIST MLP (train/test functions) on synthetic digits."""
import argparse

import tapegrad as torch
import tapegrad.nn as nn
import tapegrad.nn.functional as F
import tapegrad.optim as optim
from tapegrad.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.layers = nn.Sequential(
            nn.Flatten(),
            nn.Linear(28 * 28, 64),
            nn.BatchNorm1d(64),
            nn.ReLU(inplace=True),
            nn.Dropout(0.25),
            nn.Linear(64, 32),
            nn.BatchNorm1d(32),
            nn.ReLU(inplace=True),
            nn.Linear(32, 10),
        )

    def forward(self, x):
        x = self.layers(x)
        output = F.log_softmax(x, dim=1)
        return output


def train(args, model, device, train_loader, optimizer, scheduler, epoch):
    model.train()
    losses = []
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad(set_to_none=True)
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        if batch_idx % args.log_interval == 0:
            print(
                "Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}".format(
                    epoch,
                    batch_idx * len(data),
                    len(train_loader.dataset),
                    100.0 * batch_idx / len(train_loader),
                    loss.item(),
                )
            )
    return losses


def test(model, device, test_loader):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
            assert torch.equal(torch.argmax(output, dim=1), pred.squeeze(1))
    test_loss /= len(test_loader.dataset)
    print(
        "\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n".format(
            test_loss, correct, len(test_loader.dataset), 100.0 * correct / len(test_loader.dataset)
        )
    )
    return test_loss, correct


def main():
    parser = argparse.ArgumentParser(description="PyTorch MNIST Example")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--log-interval", type=int, default=4)
    args = parser.parse_args([])

    torch.manual_seed(args.seed)
    device = torch.device("cpu")

    # synthetic "digits": a class-dependent template plus noise, uint8 like the raw dataset
    templates = torch.rand(10, 28, 28)
    def make(n):
        target = torch.randint(0, 10, (n,))
        images = (templates[target] * 200 + torch.rand(n, 28, 28) * 55).to(torch.uint8)
        x = images.float().div(255).unsqueeze(1)
        x = (x - 0.1307) / 0.3081
        return TensorDataset(x, target)

    train_kwargs = {"batch_size": args.batch_size, "shuffle": True}
    test_kwargs = {"batch_size": 100}
    train_loader = DataLoader(make(256), **train_kwargs)
    test_loader = DataLoader(make(200), **test_kwargs)

    model = Net().to(device)
    optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=5e-4)
    scheduler = optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=args.lr, steps_per_epoch=len(train_loader), epochs=args.epochs
    )
    loss0, _ = test(model, device, test_loader)
    all_losses = []
    for epoch in range(1, args.epochs + 1):
        all_losses += train(args, model, device, train_loader, optimizer, scheduler, epoch)
    loss1, correct = test(model, device, test_loader)
    bn = model.layers[2]
    assert bn.num_batches_tracked.item() == args.epochs * len(train_loader)
    assert bn.running_mean.abs().sum() > 0
    assert loss1 < loss0, (loss0, loss1)
    assert sum(all_losses[-4:]) < sum(all_losses[:4])


if __name__ == "__main__":
    main()
