"""The code the grader sends to a kernel to seed every random generator and set torch's conditions.

Seeding happens before the notebook and again before each test cell (DESIGN.md, principle 4).
With torch, the same code applies the grading conditions: deterministic algorithms where the
profile asks for them (``warn_only``: an op without a deterministic kernel warns, and warnings
cost nothing) and, on a shared GPU, the slot's share of the GPU's memory.
Libraries the notebook has not imported yet are not imported here: importing torch costs a
kernel about 700 MB and two seconds, which a notebook that never uses it should not pay. An
import hook seeds numpy, torch and MONAI at the moment the notebook first imports them, so a
library imported in cell 5 starts from the same state in every run.

The code is sent as text over the kernel's channel: it works in kernels that cannot import
medgrade, and defines nothing but underscore-prefixed names in the student's namespace.
"""

from __future__ import annotations

from medgrade import envvars

__all__ = ["seed_code"]

_PRELUDE = r'''
def _mg_seed_install(seed, deterministic, fraction_var):
    import importlib.abc, importlib.machinery, os, random, sys

    def seed_library(name):
        if name == "numpy":
            sys.modules["numpy"].random.seed(seed)
        elif name == "torch":
            torch = sys.modules["torch"]
            torch.manual_seed(seed)  # every device, CUDA included (lazily where not initialised)
            if deterministic:
                torch.use_deterministic_algorithms(True, warn_only=True)
                torch.backends.cudnn.benchmark = False
            fraction = os.environ.get(fraction_var)
            if fraction and torch.cuda.is_available():
                torch.cuda.set_per_process_memory_fraction(float(fraction))
        elif name == "monai":
            from monai.utils import set_determinism
            set_determinism(seed=seed)

    class SeedOnImport(importlib.abc.MetaPathFinder):
        """Finds nothing itself; wraps the loader of a watched library to seed it once loaded."""

        watched = {"numpy", "torch", "monai"}

        def find_spec(self, fullname, path=None, target=None):
            if fullname not in self.watched:
                return None
            self.watched.discard(fullname)
            spec = importlib.machinery.PathFinder.find_spec(fullname, path)
            if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
                return spec
            original = spec.loader.exec_module

            def exec_module(module, _original=original, _name=fullname):
                _original(module)
                seed_library(_name)

            spec.loader.exec_module = exec_module
            return spec

    random.seed(seed)
    for name in ("numpy", "torch", "monai"):
        if name in sys.modules:
            seed_library(name)
    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "SeedOnImport"]
    hook = SeedOnImport()
    hook.watched = {n for n in SeedOnImport.watched if n not in sys.modules}
    if hook.watched:
        sys.meta_path.insert(0, hook)
'''


def seed_code(seed: int, *, deterministic: bool = False) -> str:
    """Python source that seeds the kernel now and seeds numpy/torch/MONAI on first import."""
    call = f"_mg_seed_install({int(seed)}, {bool(deterministic)}, {envvars.GPU_MEMORY_FRACTION!r})"
    return f"{_PRELUDE}\n{call}\ndel _mg_seed_install\n"
