# PyTorch: nn.Sequential, DataLoader-free manual batching, SGD, CrossEntropyLoss
import torch
import torch.nn as nn
torch.manual_seed(0)
K, D, N = 5, 24, 2000
centers = torch.randn(K, D)
y = torch.randint(0, K, (N,))
X = centers[y] + 1.5 * torch.randn(N, D)
Xtr, ytr, Xte, yte = X[:1600], y[:1600], X[1600:], y[1600:]

model = nn.Sequential(nn.Linear(D, 64), nn.ReLU(), nn.Linear(64, K))
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

for epoch in range(15):
    perm = torch.randperm(len(Xtr))
    running = 0.0
    for i in range(0, len(Xtr), 32):
        idx = perm[i:i + 32]
        optimizer.zero_grad()
        out = model(Xtr[idx])
        loss = criterion(out, ytr[idx])
        loss.backward()
        optimizer.step()
        running += loss.item()
    print(f"epoch {epoch} loss {running / 50:.4f}")

with torch.no_grad():
    acc = (model(Xte).argmax(1) == yte).float().mean().item()
print("test accuracy", acc)
