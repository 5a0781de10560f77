"""The 60-minute-blitz CIFAR-10 classifier, on small synthetic images."""
import os
import tempfile

import tapegrad as torch
import tapegrad.nn as nn
import tapegrad.nn.functional as F
import tapegrad.optim as optim
from tapegrad.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)

classes = ("plane", "car", "bird", "cat")
n_train, n_test = 128, 64


def make_split(n):
    labels = torch.randint(0, len(classes), (n,))
    images = torch.randn(n, 3, 16, 16) * 0.5
    # each class brightens one quadrant of one channel, so the task is learnable
    for i in range(n):
        c = labels[i].item()
        images[i, c % 3, (c // 2) * 8 : (c // 2) * 8 + 8, (c % 2) * 8 : (c % 2) * 8 + 8] += 1.0
    return images, labels


train_images, train_labels = make_split(n_train)
test_images, test_labels = make_split(n_test)
trainset = TensorDataset(train_images, train_labels)
trainloader = DataLoader(trainset, batch_size=16, shuffle=True, num_workers=0)
testloader = DataLoader(TensorDataset(test_images, test_labels), batch_size=16, shuffle=False)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 3)
        self.fc1 = nn.Linear(16 * 2 * 2, 32)
        self.fc2 = nn.Linear(32, 24)
        self.fc3 = nn.Linear(24, len(classes))

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = F.max_pool2d(F.relu(self.conv2(x)), (2, 2))
        x = torch.flatten(x, 1)  # flatten all dimensions except batch
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


net = Net()
print(net)
params = list(net.parameters())
print(len(params), params[0].size())

criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(net.parameters(), lr=0.01, momentum=0.9)


def accuracy(model):
    correct = 0
    total = 0
    with torch.no_grad():
        for data in testloader:
            images, labels = data
            outputs = model(images)
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
    return 100 * correct // total


epoch_losses = []
for epoch in range(6):
    running_loss = 0.0
    for i, data in enumerate(trainloader, 0):
        inputs, labels = data
        optimizer.zero_grad()
        outputs = net(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
    epoch_losses.append(running_loss / (i + 1))
    print(f"[{epoch + 1}] loss: {running_loss / (i + 1):.3f}")

print("Finished Training")
acc = accuracy(net)
print(f"Accuracy of the network on the {n_test} test images: {acc} %")

# per-class accuracy, as in the tutorial
correct_pred = {classname: 0 for classname in classes}
total_pred = {classname: 0 for classname in classes}
with torch.no_grad():
    for data in testloader:
        images, labels = data
        outputs = net(images)
        _, predictions = torch.max(outputs, 1)
        for label, prediction in zip(labels, predictions):
            if label == prediction:
                correct_pred[classes[label]] += 1
            total_pred[classes[label]] += 1
for classname, correct_count in correct_pred.items():
    if total_pred[classname]:
        print(f"Accuracy for class: {classname:5s} is {100 * float(correct_count) / total_pred[classname]:.1f} %")

with tempfile.TemporaryDirectory() as tmp:
    PATH = os.path.join(tmp, "cifar_net.pth")
    torch.save(net.state_dict(), PATH)
    net2 = Net()
    net2.load_state_dict(torch.load(PATH, weights_only=True))
    dataiter = iter(testloader)
    images, labels = next(dataiter)
    outputs = net2(images)
    _, predicted = torch.max(outputs, 1)
    print("Predicted: ", " ".join(f"{classes[predicted[j]]:5s}" for j in range(4)))
    assert torch.equal(outputs, net(images))
    assert accuracy(net2) == acc

assert epoch_losses[-1] < epoch_losses[0], epoch_losses
