"""The paper itself: its theory and its Table 1.

* :mod:`~gannet.paper.theory`: Proposition 1, C(G) and Theorem 1 for 1-D densities on a grid.
* :mod:`~gannet.paper.reproduce`: Table 1 reproduced (train, Parzen-score, tabulate).

The paper's MNIST model is :mod:`gannet.models.paper`; its figures are :mod:`gannet.figures`.
"""
