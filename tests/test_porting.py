"""convnet.porting and ``convnet port``: only torch / torchvision import statements change,
line numbers stay, the ported imports bind what the originals bound, and imports convnet
cannot serve are errors naming the line."""

from __future__ import annotations

import subprocess
import sys

import pytest

import convnet
import convnet.nn.functional
import convnet.vision.transforms
from convnet.porting import port_module_name, port_source

SCRIPT = '''import os
import numpy as np
import torch
import torch.utils.data
from torch import nn, optim  # a comment stays
from torch.nn import functional as F
from torchvision import (datasets,
                         transforms)
import torchvision.transforms as T, numpy
from . import sibling
x = "import torch"  # text that only looks like an import
'''


def test_only_import_statements_change_and_line_numbers_stay():
    ported = port_source(SCRIPT)
    assert ported.splitlines() == [
        "import os",
        "import numpy as np",
        "import convnet as torch",
        "import convnet.utils.data, convnet as torch",
        "from convnet import nn, optim  # a comment stays",
        "from convnet.nn import functional as F",
        "from convnet.vision import datasets, transforms",
        "",
        "import convnet.vision.transforms as T, numpy",
        "from . import sibling",
        'x = "import torch"  # text that only looks like an import',
    ]


def test_ported_imports_bind_convnet_modules():
    names = {}
    exec(port_source(SCRIPT.replace("from . import sibling\n", "")), names)
    assert names["torch"] is convnet and names["F"] is convnet.nn.functional
    assert names["T"] is convnet.vision.transforms and names["nn"] is convnet.nn
    assert names["torch"].utils.data.DataLoader is convnet.utils.data.DataLoader


def test_an_import_without_counterpart_names_the_line():
    with pytest.raises(ValueError, match=r"train\.py, line 2: .*torch\.distributions"):
        port_source("import torch\nimport torch.distributions as D\n", filename="train.py")
    assert port_module_name("numpy.linalg") is None
    assert port_module_name("torchvision") == "convnet.vision"


def test_port_command_writes_the_script_and_reports_errors(tmp_path):
    script = tmp_path / "script.py"
    script.write_text("import torch.nn as nn\nprint(nn.Linear(2, 3).weight.shape)\n")
    out = tmp_path / "ported.py"
    done = subprocess.run([sys.executable, "-m", "convnet", "port", str(script), "-o", str(out)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "1 import lines changed" in done.stderr
    run = subprocess.run([sys.executable, str(out)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and "(3, 2)" in run.stdout, run.stderr
    script.write_text("import torch.distributions\n")
    done = subprocess.run([sys.executable, "-m", "convnet", "port", str(script)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "torch.distributions" in done.stderr
