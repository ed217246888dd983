"""A training loop written as PyTorch's tutorials write it, running on convnet.

Only the import lines differ from the PyTorch version of this script (the tests run both
and compare): a CNN on scikit-learn's 8x8 digits, a TensorDataset split by random_split,
a DataLoader with worker processes, nn.CrossEntropyLoss, SGD with momentum and a OneCycleLR
schedule, evaluation under no_grad, and the weights saved with save().

    python examples/pytorch_training_loop.py --epochs 8 --workers 2
"""

import argparse
import time

import numpy as np
from sklearn.datasets import load_digits

import convnet as torch
import convnet.nn as nn
import convnet.nn.functional as F
from convnet.utils.data import DataLoader, TensorDataset, random_split


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.dropout = nn.Dropout(0.25)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.max_pool2d(x, 2)
        x = F.relu(self.conv2(x))
        x = F.adaptive_avg_pool2d(x, 1)
        x = torch.flatten(x, 1)
        return self.fc(self.dropout(x))


def evaluate(model, loader, criterion, device):
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            output = model(images)
            loss += criterion(output, labels).item() * len(labels)
            correct += (output.argmax(dim=1) == labels).sum().item()
    return loss / len(loader.dataset), correct / len(loader.dataset)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", default=None, help="where to save the weights")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    digits = load_digits()
    images = torch.tensor(digits.images / 16.0, dtype=torch.float32).unsqueeze(1)
    labels = torch.tensor(digits.target)
    dataset = TensorDataset(images, labels)
    train_set, test_set = random_split(dataset, [0.8, 0.2],
                                       generator=torch.Generator().manual_seed(args.seed))
    train_loader = DataLoader(train_set, batch_size=64, shuffle=True, num_workers=args.workers,
                              generator=torch.Generator().manual_seed(args.seed))
    test_loader = DataLoader(test_set, batch_size=256)

    model = Net().to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.2, epochs=args.epochs,
                                                    steps_per_epoch=len(train_loader))
    for epoch in range(1, args.epochs + 1):
        model.train()
        start, running = time.perf_counter(), 0.0
        for images, labels in train_loader:
            images, labels = images.to(device), labels.to(device)
            optimizer.zero_grad()
            loss = criterion(model(images), labels)
            loss.backward()
            optimizer.step()
            scheduler.step()
            running += loss.item() * len(labels)
        test_loss, accuracy = evaluate(model, test_loader, criterion, device)
        print(f"epoch {epoch}: train loss {running / len(train_set):.4f}, test loss "
              f"{test_loss:.4f}, test accuracy {accuracy:.4f} ({time.perf_counter() - start:.1f} s)")
    if args.save:
        torch.save(model.state_dict(), args.save)
    print(f"final test accuracy {accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
