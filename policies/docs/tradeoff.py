"""Draws docs/tradeoff.png from eval_dev's table.

    cargo run -p selfbrake-policies --release --example eval_dev \
        | python3 policies/docs/tradeoff.py policies/docs/tradeoff.png
"""
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# Earlier defaults, measured with the same eval (policies/README.md).
PREVIOUS = [("first default", 0.319, 0.941), ("second default", 0.357, 0.966)]

points, oracle = {}, None
for line in sys.stdin:
    cols = line.rstrip("\n")
    if cols.startswith("policy") or cols.startswith("--"):
        continue
    name, nums = cols[:30].strip(), cols[30:].split()
    if len(nums) < 5:
        continue
    points[name] = (float(nums[1]), float(nums[4]))
    oracle = float(nums[2])

fig, ax = plt.subplots(figsize=(7.8, 5.6))
ax.add_patch(plt.Rectangle((0.75 * oracle, 0.97), oracle * 1.35 - 0.75 * oracle, 0.04,
                           color="green", alpha=0.12))
ax.text(0.75 * oracle + 0.01, 0.975, "target", color="green")
shipped = [n for n in ("cautious", "default", "aggressive") if n in points]
ax.plot([points[n][0] for n in shipped], [points[n][1] for n in shipped], "o-",
        label="shipped policies")
ax.plot([p[1] for p in PREVIOUS], [p[2] for p in PREVIOUS], "x--", label="earlier defaults")
for name, (x, y) in points.items():
    if name not in shipped:
        ax.plot(x, y, "o", color="tab:red" if name.startswith("baseline") else "grey")
    ax.annotate(name, (x, y), textcoords="offset points", xytext=(5, 5), fontsize=8)
ax.axvline(oracle, color="black", linestyle=":")
ax.text(oracle + 0.005, 0.615, "oracle")
ax.set_xlim(0, 0.72)
ax.set_ylim(0.6, 1.01)
ax.set_xlabel("saved_fraction (token-weighted)")
ax.set_ylabel("answer_reached")
ax.set_title("dev.jsonl, 119 traces")
ax.legend(loc="lower left", fontsize=8)
fig.savefig(sys.argv[1], dpi=100, bbox_inches="tight")
