"""A stand-in for training: a smooth score with its optimum at kernel 3, 32 channels, depth 3."""


def score(arch):
    return {"score": -((arch["kernel"] - 3) ** 2) - ((arch["channels"] - 32) / 16) ** 2 - (arch["depth"] - 3) ** 2}


def score_and_size(arch):
    """The score above and a size that grows with the network: two objectives to trade."""
    size = arch["kernel"] ** 2 * arch["channels"] * arch["depth"] * 100
    return {**score(arch), "params": float(size)}
