"""The ingredients of training, what Algorithm 1 is made of besides the loop itself.

* :mod:`~gannet.game.losses`: the value functions (the paper's minimax and non-saturating
  losses, WGAN, hinge, least squares, ...) behind the ``LOSSES`` registry.
* :mod:`~gannet.game.regularizers`: the gradient penalty, R1 and friends.
* :mod:`~gannet.game.optim`: optimizers, momentum and learning-rate schedules.
* :mod:`~gannet.game.augment`: differentiable augmentation (DiffAugment).
* :mod:`~gannet.game.ada`: the adaptive augmentation strength (ADA).

The loop that plays the game is :mod:`gannet.training`.
"""
