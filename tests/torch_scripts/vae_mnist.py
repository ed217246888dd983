"""A variational autoencoder written for PyTorch and torchvision (run on torch, then ported to
convnet): fully connected encoder and decoder, the reparameterisation trick, binary cross
entropy plus the KL term summed over the batch, Adam, reconstructions and samples saved as
image grids with ``save_image``."""
import argparse
import os

import torch
import torch.utils.data
from torch import nn, optim
from torch.nn import functional as F
from torchvision import datasets, transforms
from torchvision.utils import save_image


class VAE(nn.Module):
    def __init__(self, hidden=200, latent=10):
        super().__init__()
        self.encoder = nn.Linear(784, hidden)
        self.mean = nn.Linear(hidden, latent)
        self.log_variance = nn.Linear(hidden, latent)
        self.expand = nn.Linear(latent, hidden)
        self.decoder = nn.Linear(hidden, 784)

    def encode(self, x):
        hidden = F.relu(self.encoder(x))
        return self.mean(hidden), self.log_variance(hidden)

    def decode(self, z):
        return torch.sigmoid(self.decoder(F.relu(self.expand(z))))

    def forward(self, x):
        mean, log_variance = self.encode(x.view(-1, 784))
        z = mean + torch.randn_like(mean) * torch.exp(0.5 * log_variance)
        return self.decode(z), mean, log_variance


def loss_function(reconstruction, x, mean, log_variance):
    bce = F.binary_cross_entropy(reconstruction, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + log_variance - mean.pow(2) - log_variance.exp())
    return bce + kld


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", default="data")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--results", default="results")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    os.makedirs(args.results, exist_ok=True)
    train_loader = torch.utils.data.DataLoader(
        datasets.MNIST(args.root, train=True, transform=transforms.ToTensor()),
        batch_size=args.batch_size, shuffle=True)
    test_loader = torch.utils.data.DataLoader(
        datasets.MNIST(args.root, train=False, transform=transforms.ToTensor()),
        batch_size=args.batch_size, shuffle=False)
    model = VAE()
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(1, args.epochs + 1):
        model.train()
        train_loss = 0.0
        for data, _ in train_loader:
            optimizer.zero_grad()
            reconstruction, mean, log_variance = model(data)
            loss = loss_function(reconstruction, data, mean, log_variance)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
        print(f"epoch {epoch} train loss {train_loss / len(train_loader.dataset):.4f}")
        model.eval()
        test_loss = 0.0
        with torch.no_grad():
            for index, (data, _) in enumerate(test_loader):
                reconstruction, mean, log_variance = model(data)
                test_loss += loss_function(reconstruction, data, mean, log_variance).item()
                if index == 0:
                    n = min(data.size(0), 8)
                    pairs = torch.cat([data[:n], reconstruction.view(-1, 1, 28, 28)[:n]])
                    save_image(pairs, os.path.join(args.results, f"reconstruction_{epoch}.png"),
                               nrow=n)
            sample = model.decode(torch.randn(64, 10))
            save_image(sample.view(64, 1, 28, 28),
                       os.path.join(args.results, f"sample_{epoch}.png"))
        print(f"epoch {epoch} test loss {test_loss / len(test_loader.dataset):.4f}")


if __name__ == "__main__":
    main()
