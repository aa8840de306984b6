"""Successive halving against the exhaustive grid on digits: epochs trained, and the config
each picks (counts, not times).

    python benchmarks/halving_report.py            # the default job: epochs 100, patience 8
    python benchmarks/halving_report.py --sweep 1 2 3 4 6 11   # other first-round epochs

Both searches run exactly as ``tensorcore train --search grid`` / ``--search halving`` do
(``run_search`` with the holdout objective, one process, BLAS and Numba on one thread). The
epochs actually trained are the sum over trials of the epochs each ran before early
stopping (``"epochs_trained"``); halving's best config is compared with the grid's best and
with the grid's full-budget score of the same config. Target (issue 18): halving trains at
most 1/3 of the grid's epochs, and picks the grid's best config or one whose full-budget
validation accuracy is within 0.5 % of it.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402

from tensorcore.training import halving_search  # noqa: E402
from tensorcore.training.experiment import (  # noqa: E402
    ExperimentConfig,
    format_params,
    load_splits,
)
from tensorcore.training.experiment_search import (  # noqa: E402
    DEFAULT_GRID,
    HALVING_FACTOR,
    HoldoutObjective,
    halving_min_epochs,
    run_search,
)


def epochs_trained(result) -> int:
    """Epochs actually trained by every trial of a search."""
    return sum(r["epochs_trained"] for r in result.results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--patience", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sweep", type=int, nargs="*", default=[],
                        help="also run halving with these first-round epochs")
    args = parser.parse_args()
    base = dict(dataset=args.dataset, epochs=args.epochs, patience=args.patience,
                seed=args.seed, quiet=True)
    grid_config = ExperimentConfig(search="grid", **base).check()
    splits = load_splits(grid_config)
    grid = run_search(HoldoutObjective(splits, grid_config), grid_config)
    full_score = {tuple(sorted(r["params"].items())): r["score"] for r in grid.results}
    grid_epochs = epochs_trained(grid)
    print(f"{args.dataset}, epochs {args.epochs}, patience {args.patience}, seed {args.seed}")
    print(f"grid:    {len(grid.results)} trials, {grid_epochs} epochs trained, best "
          f"{format_params(grid.best_params)} (val accuracy {grid.best_score:.4f})")

    def show(name: str, result) -> None:
        total = epochs_trained(result)
        full = full_score[tuple(sorted(result.best_params.items()))]
        same = result.best_params == grid.best_params
        print(f"{name}: rounds {result.n_candidates} configs x {result.n_resources} epochs, "
              f"{len(result.results)} trials, {total} epochs trained, ratio "
              f"{total / grid_epochs:.3f} of the grid's")
        print(f"{' ' * len(name)}  best {format_params(result.best_params)} (halving score "
              f"{result.best_score:.4f}; full-budget val accuracy {full:.4f}, "
              f"{'the grid best' if same else f'{grid.best_score - full:.4f} below the best'}"
              f"; within 0.5 %: {grid.best_score - full <= 0.005})")

    halving_config = ExperimentConfig(search="halving", **base).check()
    show(f"halving (min_resources={halving_min_epochs(halving_config)}, "
         f"factor={HALVING_FACTOR})",
         run_search(HoldoutObjective(splits, halving_config), halving_config))
    for min_epochs in args.sweep:
        show(f"halving (min_resources={min_epochs}, factor={HALVING_FACTOR})",
             halving_search(DEFAULT_GRID, HoldoutObjective(splits, halving_config),
                            resource="epochs", max_resources=args.epochs,
                            min_resources=min_epochs, factor=HALVING_FACTOR))


if __name__ == "__main__":
    main()
