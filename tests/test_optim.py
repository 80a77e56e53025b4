import pytest
import torch

from gannet.config import OptimConfig
from gannet.game.optim import PaperSchedule, PaperSGD, make_optimizer, momentum_at


def test_paper_momentum_rule():
    # inc = mu*inc - lr*grad; p += inc, with lr changing between steps.
    p = torch.nn.Parameter(torch.tensor([1.0]))
    opt = PaperSGD([p], lr=0.1, momentum=0.5)
    inc, value = 0.0, 1.0
    for lr, grad in [(0.1, 2.0), (0.05, -1.0), (0.02, 3.0)]:
        opt.param_groups[0]["lr"] = lr
        p.grad = torch.tensor([grad])
        opt.step()
        inc = 0.5 * inc - lr * grad
        value += inc
        assert p.item() == pytest.approx(value, rel=1e-6)


def test_lr_decay_and_floor():
    cfg = OptimConfig(lr=0.1)
    p = torch.nn.Parameter(torch.zeros(1))
    sched = PaperSchedule(cfg, make_optimizer(cfg, [p], cfg.lr))
    for _ in range(1000):
        sched.after_update()
    assert sched.lr == pytest.approx(0.1 / 1.000004**1000, rel=1e-9)
    floor = OptimConfig(lr=2e-6, lr_decay=2.0)
    sched = PaperSchedule(floor, make_optimizer(floor, [p], floor.lr))
    for _ in range(5):
        sched.after_update()
    assert sched.lr == 1e-6


def test_momentum_ramp():
    cfg = OptimConfig()
    assert momentum_at(cfg, 1) == 0.5
    assert momentum_at(cfg, 250) == pytest.approx(0.7)
    assert momentum_at(cfg, 400) == pytest.approx(0.7)
    assert momentum_at(cfg, 125.5) == pytest.approx(0.6)


def test_adam_is_left_alone_by_the_paper_schedule():
    cfg = OptimConfig(name="adam", lr=2e-4)
    p = torch.nn.Parameter(torch.zeros(1))
    opt = make_optimizer(cfg, [p], cfg.lr)
    assert isinstance(opt, torch.optim.Adam)
    sched = PaperSchedule(cfg, opt)
    sched.after_update()
    sched.start_epoch(100)
    assert sched.lr == 2e-4 and opt.param_groups[0]["betas"] == (0.5, 0.999)
