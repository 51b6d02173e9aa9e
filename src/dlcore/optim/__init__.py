"""PyTorch's `torch.optim` names: the optimizers (the classes of `dlcore.optimizers`, built here
PyTorch's way: `dl.optim.Adam(model.parameters(), lr=1e-3)`) and `lr_scheduler`.

    opt = dl.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = dl.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100)

NAdam is dlcore's Nadam (the same class). torch.optim's other optimizers (RAdam, LBFGS, ASGD,
Rprop, SparseAdam) are not provided.
"""
from ..optimizers import SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, Optimizer, RMSprop
from ..optimizers import Nadam as NAdam
from . import lr_scheduler

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "NAdam", "Adamax", "Adadelta", "lr_scheduler"]
