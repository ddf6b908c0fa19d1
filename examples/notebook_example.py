# %% [markdown]
# # plancheck in a notebook
#
# Load a course, tabulate DVH metrics, evaluate it against its protocol and
# plot the spinal cord's DVH. Run it as a script from the repository root
# (`python examples/notebook_example.py [cord_dvh.png]`) or open it as a
# notebook (the `# %%` cells are Jupytext's percent format). It needs
# `pip install "plancheck[pandas]"`.

# %%
import sys
from pathlib import Path

import matplotlib.pyplot as plt

import plancheck

REPO = Path(__file__).resolve().parents[1] if "__file__" in globals() else Path.cwd()
course = plancheck.load(REPO / "sample_plans" / "spine_sib_seq_course").course
print(course)
for plan in course.plans:
    print(f"  {plan.label}: {plan.n_fractions} fractions, {plan.prescription_gy} Gy ({plan.dose_from})")

# %% [markdown]
# ## Metrics as a DataFrame
# Doses in Gy, volumes in cc; the cord's near-maximum also in EQD2 (α/β = 2 Gy),
# each plan converted with its own fraction count before the voxel-wise sum.

# %%
metrics = ["Volume[cc]", "D95%[Gy]", "D0.03cc[Gy]", "D0.03cc[EQD2Gy(a/b=2)]", "V20Gy[cc]"]
table = course.metrics(metrics, structures=["PTV_boost", "PTV", "SpinalCord", "CaudaEquina"])
frame = table.to_frame()
print(frame.round(2).to_string())

# %% [markdown]
# ## Evaluation against the protocol
# Without `protocol=`, plancheck picks the shipped protocol whose plans fit the
# course (here the SIB plan plus its sequential boost, 48 Gy in 12 fractions).

# %%
result = plancheck.evaluate(course)
print(f"{result.protocol}: {result.verdict.upper()} (exit status {result.exit_code})")
graded = result.to_frame()
graded = graded[graded.status != "reported"]
print(graded[["structure", "metric", "value", "unit", "goal", "status"]].round(2).to_string(index=False))

# %% [markdown]
# ## The cord's DVH, physical and EQD2

# %%
fig, ax = plt.subplots(figsize=(7, 4))
course.dvh("SpinalCord").plot(ax=ax)
course.dvh("SpinalCord", unit="EQD2Gy(a/b=2)").plot(ax=ax, linestyle="--", label="SpinalCord EQD2")
ax.set_title("SpinalCord")
fig.tight_layout()
if len(sys.argv) > 1 and sys.argv[1].endswith(".png"):
    fig.savefig(sys.argv[1], dpi=100)
    print(f"cord DVH written to {sys.argv[1]}")
else:
    plt.show()
