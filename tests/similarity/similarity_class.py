"""A class of 01_pytorch_basics for the similarity tests: real notebooks, hand-written answers.

- ``ada``: the reference solution (``completed_notebook``), the work a copier starts from;
- ``cyd``: ada's work disguised: names renamed, functions reordered, comments and docstrings
  rewritten, lines re-wrapped and re-spaced;
- ``ben``: an independent correct solution, written without looking at anyone's;
- ``dan``, ``eve``: the release as handed out, untouched;
- ``fay``, ``gus``: little of their own (different), each with the released setup cell and a test
  cell pasted into a cell they added: they share only what the course gave them.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell

from medgrade.author.mutants import completed_notebook
from medgrade.course import Course

ASSIGNMENT = "01_pytorch_basics"
NOTEBOOK = "pytorch_basics.ipynb"

DISGUISED = {
    "image_to_tensor": '''\
def image_to_tensor(pic):
    # convert the picture to a float tensor with a channel axis
    t = torch.from_numpy(pic).to(torch.float32)/255.0
    return t.unsqueeze(0)
''',
    "grad_f": '''\
def f(x):
    return (3 * (x + 2) ** 2).mean()


def grad_f_by_hand(x):
    """Gradient of f at x, derived by hand; same shape as x."""
    return 6*(x+2)/x.numel()   # d/dx of the mean


def grad_f(x):
    """Gradient of f at x, by autograd; same shape as x."""
    v = x.detach().clone().requires_grad_(True)
    f(v).backward()
    return v.grad
''',
    "mlp": '''\
class MLP(nn.Module):
    def __init__(self, n_in=64 * 64, n_hidden=8, n_classes=6):
        super().__init__()
        self.lin_a = nn.Linear(n_in, n_hidden)   # input layer
        self.squash = nn.Tanh()
        self.lin_b = nn.Linear(n_hidden, n_classes)

    def forward(self, inp):
        inp = torch.flatten(inp, start_dim=1)
        return self.lin_b(self.squash(self.lin_a(inp)))
''',
    "small_cnn": '''\
class SmallCNN(nn.Module):
    def __init__(self, n_classes=6):
        super().__init__()
        self.c_one = nn.Conv2d(1, 10, kernel_size=5)
        self.c_two = nn.Conv2d(10, 20, kernel_size=5)
        self.dense1 = nn.Linear(20 * 13 * 13, 320)
        self.dense2 = nn.Linear(320, 50)
        self.dense3 = nn.Linear(50, n_classes)

    def forward(self, z):
        # two conv blocks then three dense layers
        z = F.relu(F.max_pool2d(self.c_one(z), 2))
        z = F.relu(F.max_pool2d(self.c_two(z), 2))
        z = torch.flatten(z, start_dim=1)
        z = F.relu(self.dense1(z))
        z = F.relu(self.dense2(z))
        return self.dense3(z)
''',
    "make_loaders": '''\
def make_loaders(data_dir, batch_size=64, seed=42):
    tfm = transforms.Compose([transforms.Grayscale(1),
                              transforms.ToTensor()])
    ds = datasets.ImageFolder(data_dir, transform=tfm)
    tr, te = random_split(ds, [0.7, 0.3], generator=torch.Generator().manual_seed(seed))
    tr_loader = DataLoader(tr, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed))
    te_loader = DataLoader(te, batch_size=batch_size, shuffle=False)
    return tr_loader, te_loader
''',
    "train_step": '''\
def train_step(model, optimizer, loss_fn, images, labels):
    optimizer.zero_grad()
    out = model(images)
    l = loss_fn(out, labels)
    l.backward()
    optimizer.step()
    return l.item()
''',
    "train": '''\
def train(model, loader, epochs=1, lr=1e-3, max_steps=None):
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    crit = nn.CrossEntropyLoss()
    history = []
    for _ in range(epochs):
        for xb, yb in loader:
            history.append(train_step(model, opt, crit, xb, yb))
            if max_steps is not None and len(history) >= max_steps:
                return history
    return history
''',
    "evaluation": '''\
def confusion_matrix(y_true, y_pred, n_classes):
    cm = torch.zeros(n_classes, n_classes, dtype=torch.int64)
    for a, b in zip(y_true.tolist(), y_pred.tolist()):
        cm[a, b] += 1
    return cm


def accuracy(y_true, y_pred):
    return (y_true == y_pred).float().mean().item()


def predict(model, loader):
    """Run the model over the loader; returns (labels, predicted labels)."""
    model.eval()
    ys, ps = [], []
    with torch.no_grad():
        for xb, yb in loader:
            ps.append(model(xb).argmax(dim=1))
            ys.append(yb)
    return torch.cat(ys), torch.cat(ps)
''',
}

INDEPENDENT = {
    "image_to_tensor": '''\
def image_to_tensor(image):
    """uint8 array (H, W) -> float32 tensor (1, H, W) in [0, 1]."""
    scaled = np.asarray(image, dtype=np.float32) / 255
    return torch.tensor(scaled)[None, :, :]
''',
    "grad_f": '''\
def f(x):
    return (3 * (x + 2) ** 2).mean()


def grad_f(x):
    """Gradient of f at x, by autograd; same shape as x."""
    leaf = torch.tensor(x.tolist(), dtype=x.dtype, requires_grad=True)
    (g,) = torch.autograd.grad(f(leaf), leaf)
    return g


def grad_f_by_hand(x):
    """Gradient of f at x, derived by hand; same shape as x."""
    n = x.numel()
    return (6.0 / n) * x + 12.0 / n
''',
    "mlp": '''\
class MLP(nn.Module):
    def __init__(self, n_in=64 * 64, n_hidden=8, n_classes=6):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(n_in, n_hidden), nn.Tanh(),
                                 nn.Linear(n_hidden, n_classes))

    def forward(self, x):
        return self.net(x)
''',
    "small_cnn": '''\
class SmallCNN(nn.Module):
    def __init__(self, n_classes=6):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 10, 5), nn.MaxPool2d(2), nn.ReLU(),
            nn.Conv2d(10, 20, 5), nn.MaxPool2d(2), nn.ReLU(),
        )
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(3380, 320), nn.ReLU(), nn.Linear(320, 50), nn.ReLU(),
            nn.Linear(50, n_classes),
        )

    def forward(self, x):
        return self.head(self.features(x))
''',
    "make_loaders": '''\
def make_loaders(data_dir, batch_size=64, seed=42):
    pipeline = transforms.Compose([transforms.Grayscale(num_output_channels=1), transforms.ToTensor()])
    everything = datasets.ImageFolder(str(data_dir), transform=pipeline)
    n_train = round(0.7 * len(everything))
    parts = random_split(everything, [n_train, len(everything) - n_train],
                         generator=torch.Generator().manual_seed(seed))
    shuffler = torch.Generator()
    shuffler.manual_seed(seed)
    return (DataLoader(parts[0], batch_size, shuffle=True, generator=shuffler),
            DataLoader(parts[1], batch_size))
''',
    "train_step": '''\
def train_step(model, optimizer, loss_fn, images, labels):
    optimizer.zero_grad()
    loss = loss_fn(model(images), labels)
    loss.backward()
    optimizer.step()
    return float(loss)
''',
    "train": '''\
def train(model, loader, epochs=1, lr=1e-3, max_steps=None):
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr)
    criterion = nn.CrossEntropyLoss()
    out = []
    step = 0
    while step < epochs * len(loader):
        for batch in loader:
            out.append(train_step(model, opt, criterion, *batch))
            step += 1
            if max_steps and step == max_steps:
                return out
    return out
''',
    "evaluation": '''\
@torch.no_grad()
def predict(model, loader):
    model.eval()
    pairs = [(y, model(x).argmax(1)) for x, y in loader]
    return torch.cat([t for t, _ in pairs]), torch.cat([p for _, p in pairs])


def accuracy(y_true, y_pred):
    return float(torch.sum(y_true == y_pred)) / len(y_true)


def confusion_matrix(y_true, y_pred, n_classes):
    flat = y_true.long() * n_classes + y_pred.long()
    return torch.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)
''',
}

# Two students who each wrote one small different answer; both pasted the released setup and a test.
PARTIAL = {
    "fay": {"image_to_tensor": "def image_to_tensor(image):\n    return torch.from_numpy(image).float()[None] / 255\n"},
    "gus": {"train_step": "def train_step(model, optimizer, loss_fn, images, labels):\n    optimizer.zero_grad()\n"
                          "    value = loss_fn(model(images), labels)\n    value.backward()\n    optimizer.step()\n"
                          "    return value.item()\n"},
}


def _with(nb: nbformat.NotebookNode, answers: dict[str, str]) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
    return nb


def _pasted(release: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The released setup cell and the MLP test, pasted into cells of the student's own (no metadata)."""
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in release.cells}
    return [new_code_cell(by_id["setup"].source), new_code_cell(by_id["test_mlp"].source)]


def notebooks(course: Course) -> dict[str, nbformat.NotebookNode]:
    release = nbformat.read(course.release / ASSIGNMENT / NOTEBOOK, as_version=4)
    reference = completed_notebook(course, ASSIGNMENT, NOTEBOOK)
    out = {"ada": reference, "cyd": _with(reference, DISGUISED), "ben": _with(reference, INDEPENDENT),
           "dan": release, "eve": release}
    for student, answers in PARTIAL.items():
        nb = _with(release, answers)
        nb.cells.extend(_pasted(release))
        out[student] = nb
    return out


def submit_class(course: Course, students: dict[str, nbformat.NotebookNode] | None = None) -> list[str]:
    """Write each notebook to ``submitted/<student>/01_pytorch_basics/``; return the students."""
    chosen = students if students is not None else notebooks(course)
    for student, nb in chosen.items():
        folder: Path = course.submitted / student / ASSIGNMENT
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, folder / NOTEBOOK)
    return sorted(chosen)
