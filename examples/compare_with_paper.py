"""Plot a ``netket-arnn anneal`` run next to the published curves of arXiv:2302.08347.

Curie–Weiss runs are compared on the relative error of f to the exact value (Fig. 4 of the
paper); Sherrington–Kirkpatrick runs on f itself, beside the published SK_kRSB, 1L and MADE
values for the same (N, seed) (Fig. 5 plots their relative difference to SK_2RSB).

    netket-arnn anneal --system cw --n 100 --out results/cw100
    python examples/compare_with_paper.py results/cw100/anneal.json \
        --reference ../shared/reference --png results/cw100/vs_paper.png
"""

from __future__ import annotations

import argparse
import csv
import json
import os
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# Our model names -> the paper's net labels.
CW_LABELS = {"cw_n": "CW_N", "cw_inf": "CW_inf", "1p": "1P", "1l": "1L"}
SK_LABELS = {"sk_rs": "SK_RS", "sk_1rsb": "SK_1RSB", "sk_2rsb": "SK_2RSB", "1l": "1L"}


def read_rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", help="anneal.json written by `netket-arnn anneal`")
    parser.add_argument("--reference", required=True, help="folder holding cw_table.csv and sk_table.csv")
    parser.add_argument("--png", default="vs_paper.png")
    args = parser.parse_args(argv)

    with open(args.run) as f:
        run = json.load(f)
    meta = run["system"]["metadata"]
    n, model = run["system"]["n_sites"], meta.get("model")
    fig, ax = plt.subplots(figsize=(7, 4.5))
    if model == "curie_weiss":
        published = defaultdict(list)
        for r in read_rows(os.path.join(args.reference, "cw_table.csv")):
            if int(r["N"]) == n:
                published[r["net_label"]].append((float(r["beta"]), float(r["rel_err"])))
        for name, res in run["runs"].items():
            pts = [(r["beta"], r["relative_error"]) for r in res["records"] if r.get("relative_error")]
            if pts:
                ax.semilogy(*zip(*pts), "o-", label=f"netket-arnn {name}")
            ref = published.get(CW_LABELS.get(name, ""), [])
            if ref:
                ax.semilogy(*zip(*sorted(ref)), "--", alpha=0.7, label=f"paper {CW_LABELS[name]}")
        ax.set_ylabel("relative error of f")
        ax.set_title(f"Curie–Weiss N = {n}")
    elif model == "sherrington_kirkpatrick":
        seed = meta["seed"]
        published = defaultdict(list)
        for r in read_rows(os.path.join(args.reference, "sk_table.csv")):
            if int(r["N"]) == n and int(r["seed"]) == seed:
                published[r["net_label"]].append((float(r["beta"]), float(r["fe"])))
        for name, res in run["runs"].items():
            ax.plot(
                [r["beta"] for r in res["records"]],
                [r["free_energy"] for r in res["records"]],
                "o-",
                label=f"netket-arnn {name}",
            )
            ref = published.get(SK_LABELS.get(name, ""), [])
            if ref:
                ax.plot(*zip(*sorted(ref)), "--", alpha=0.7, label=f"paper {SK_LABELS[name]}")
        ax.set_ylabel("f = F/N")
        ax.set_title(f"SK N = {n}, seed {seed}")
    else:
        raise SystemExit(f"no published curves for system {model!r}")
    ax.set_xlabel("β")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.png, dpi=120)
    print(f"wrote {args.png}")


if __name__ == "__main__":
    main()
