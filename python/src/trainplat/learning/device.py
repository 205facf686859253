"""Where the learning task programs compute: their `device` argument.

`auto` (the default) is the first GPU when PyTorch sees one and the CPU otherwise; `cpu`;
`cuda` or `cuda:N` ask for a GPU and are refused at validation, naming the value, when this
machine has none (or not that many), instead of failing halfway through a training run.
Checkpoints and other artifacts are always written as CPU tensors (`checkpoint.py`), so a
model trained on a GPU loads on a machine without one."""

import re
from typing import Annotated

import torch
from pydantic import AfterValidator

AUTO = "auto"
_DEVICE = re.compile(r"^(auto|cpu|cuda(:(0|[1-9][0-9]*))?)$")
CPU = torch.device("cpu")


def check_device(value: str) -> str:
    """`value` when it names a device this machine has; ValueError naming it otherwise."""
    if not _DEVICE.match(value):
        raise ValueError(f"device {value!r} is not one of 'auto', 'cpu', 'cuda', 'cuda:N'")
    if not value.startswith("cuda"):
        return value
    if not torch.cuda.is_available():
        raise ValueError(
            f"device {value!r}: CUDA is not available on this machine "
            "(torch.cuda.is_available() is false); use 'cpu' or 'auto'"
        )
    index = torch.device(value).index or 0
    if index >= torch.cuda.device_count():
        raise ValueError(
            f"device {value!r}: this machine has {torch.cuda.device_count()} CUDA device(s)"
        )
    return value


def resolve_device(value: str = AUTO) -> torch.device:
    """The torch device `value` (checked by `check_device`) stands for here."""
    check_device(value)
    if value == AUTO:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(value)


def model_device(module: torch.nn.Module) -> torch.device:
    """The device of `module`'s parameters (the CPU for a module without any)."""
    return next((p.device for p in module.parameters()), CPU)


# A task argument: a device name, checked when the arguments are validated.
DeviceField = Annotated[str, AfterValidator(check_device)]
