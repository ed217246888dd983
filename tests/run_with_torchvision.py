"""Run a script on torch + torchvision beside the CPU build of torch: ``python
run_with_torchvision.py SCRIPT ARGS...`` stubs the module that registers torchvision's compiled
operators (see torchvision_oracle.py), then runs SCRIPT as ``__main__``."""
import runpy
import sys
import types

if __name__ == "__main__":
    name = "torchvision._meta_registrations"
    sys.modules.setdefault(name, types.ModuleType(name))
    script, sys.argv = sys.argv[1], sys.argv[1:]
    runpy.run_path(script, run_name="__main__")
