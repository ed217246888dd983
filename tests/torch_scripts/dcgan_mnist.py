"""A deep convolutional GAN written for PyTorch and torchvision (run on torch, then ported to
convnet): a generator of transposed convolutions with batch norm, a discriminator of strided
convolutions with leaky ReLU, DCGAN's N(0, 0.02) initialisation applied by class name,
binary cross entropy on sigmoid outputs, two Adam optimisers, sample grids written with
``vutils.save_image(..., normalize=True)`` and checkpoints with ``torch.save``."""
import argparse
import os

import torch
import torch.backends.cudnn as cudnn
import torch.nn as nn
import torch.optim as optim
import torch.utils.data
import torchvision.datasets as dset
import torchvision.transforms as transforms
import torchvision.utils as vutils


def weights_init(module):
    name = module.__class__.__name__
    if name.find("Conv") != -1:
        torch.nn.init.normal_(module.weight, 0.0, 0.02)
    elif name.find("BatchNorm") != -1:
        torch.nn.init.normal_(module.weight, 1.0, 0.02)
        torch.nn.init.zeros_(module.bias)


def generator(nz, width):
    return nn.Sequential(
        nn.ConvTranspose2d(nz, width * 4, 4, 1, 0, bias=False),  # 4x4
        nn.BatchNorm2d(width * 4), nn.ReLU(True),
        nn.ConvTranspose2d(width * 4, width * 2, 4, 2, 1, bias=False),  # 8x8
        nn.BatchNorm2d(width * 2), nn.ReLU(True),
        nn.ConvTranspose2d(width * 2, width, 4, 2, 1, bias=False),  # 16x16
        nn.BatchNorm2d(width), nn.ReLU(True),
        nn.ConvTranspose2d(width, 1, 4, 2, 1, bias=False),  # 32x32
        nn.Tanh())


class Discriminator(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(1, width, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(width, width * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(width * 2, width * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(width * 4),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(width * 4, 1, 4, 1, 0, bias=False), nn.Sigmoid())

    def forward(self, x):
        if x.is_cuda or x.is_xpu:
            raise RuntimeError("this example runs on the CPU")
        return self.main(x).view(-1, 1).squeeze(1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", default="data")
    parser.add_argument("--niter", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--nz", type=int, default=32)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--outf", default="out")
    args = parser.parse_args()
    os.makedirs(args.outf, exist_ok=True)
    torch.manual_seed(args.seed)
    cudnn.benchmark = True
    dataset = dset.MNIST(root=args.root, download=True, transform=transforms.Compose([
        transforms.Resize(32), transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))]))
    loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch_size, shuffle=True)
    net_g, net_d = generator(args.nz, args.width), Discriminator(args.width)
    net_g.apply(weights_init)
    net_d.apply(weights_init)
    criterion = nn.BCELoss()
    fixed_noise = torch.randn(args.batch_size, args.nz, 1, 1)
    optimizer_d = optim.Adam(net_d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optimizer_g = optim.Adam(net_g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    for epoch in range(args.niter):
        for index, (real, _) in enumerate(loader):
            net_d.zero_grad()
            label = torch.full((real.size(0),), 1, dtype=real.dtype)
            output = net_d(real)
            error_real = criterion(output, label)
            error_real.backward()
            d_x = output.mean().item()
            fake = net_g(torch.randn(real.size(0), args.nz, 1, 1))
            label.fill_(0)
            output = net_d(fake.detach())
            error_fake = criterion(output, label)
            error_fake.backward()
            d_g_z1 = output.mean().item()
            optimizer_d.step()
            net_g.zero_grad()
            label.fill_(1)
            output = net_d(fake)
            error_g = criterion(output, label)
            error_g.backward()
            optimizer_g.step()
            print(f"[{epoch}/{args.niter}][{index}/{len(loader)}] "
                  f"Loss_D: {(error_real + error_fake).item():.4f} "
                  f"Loss_G: {error_g.item():.4f} D(x): {d_x:.4f} "
                  f"D(G(z)): {d_g_z1:.4f} / {output.mean().item():.4f}")
            if index % 20 == 0:
                vutils.save_image(real, f"{args.outf}/real_samples.png", normalize=True)
                with torch.no_grad():
                    fake = net_g(fixed_noise)
                vutils.save_image(fake.detach(), f"{args.outf}/fake_samples_epoch_{epoch:03d}.png",
                                  normalize=True)
        torch.save(net_g.state_dict(), f"{args.outf}/netG_epoch_{epoch}.pth")
        torch.save(net_d.state_dict(), f"{args.outf}/netD_epoch_{epoch}.pth")


if __name__ == "__main__":
    main()
