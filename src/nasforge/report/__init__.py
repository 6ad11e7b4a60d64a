"""Reports and explanations: the self-contained HTML report, decision importance (fANOVA main
effects of a Gaussian process integrated over the space), and why the best architecture is best (the effect of changing each decision).

Example:
    >>> import nasforge
    >>> from nasforge.space import SearchSpace, Choice
    >>> space = SearchSpace({"a": Choice([0, 1, 2]), "b": Choice([0, 1])})
    >>> study = nasforge.search(space, nasforge.Function(lambda x: {"y": x["a"]}),
    ...                         strategy="grid", objectives={"y": "maximize"}, progress=False)
    >>> nasforge.explain(study).effects[0].decision
    'a'
"""

from .._trial import pareto_mask
from ..space._neighbours import neighbour_decision, one_change_neighbours
from ._data import RunData
from ._draw import architecture_svgs, cell_svg, chain_svg
from ._effects import Estimate, Surrogate, ValueEffect
from ._explain import Alternative, DecisionEffect, Explanation, Predicted, Shared, explain
from ._html import write_report
from ._importance import Importance, compute_importance, importance
from ._noise import Noise, measure_noise
from ._refine import Change, Refinement, refine

__all__ = [
    "Alternative",
    "Change",
    "DecisionEffect",
    "Estimate",
    "Explanation",
    "Importance",
    "Noise",
    "Predicted",
    "Refinement",
    "RunData",
    "Shared",
    "Surrogate",
    "ValueEffect",
    "architecture_svgs",
    "cell_svg",
    "chain_svg",
    "compute_importance",
    "explain",
    "importance",
    "measure_noise",
    "neighbour_decision",
    "one_change_neighbours",
    "pareto_mask",
    "refine",
    "write_report",
]
