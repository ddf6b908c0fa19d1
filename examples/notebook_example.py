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
# Without `protocol=`, plancheck picks the shipped protocol whose dose levels fit
# the prescriptions the plans state (here the SIB plan plus its sequential
# boost, 48 Gy in 12 fractions). The verdict is the command line's: PASS, WARN,
# FAIL, INCOMPLETE or NOT EVALUABLE, with its reasons in `verdict_line`.

# %%
result = plancheck.evaluate(course)
print(f"{result.protocol}: {result.verdict} (exit status {result.exit_code})")
print(result.verdict_line)
graded = result.to_frame()
graded = graded[graded.graded]
columns = ["structure", "metric", "plans", "value", "unit", "goal", "variation", "status"]
print(graded[columns].round(2).to_string(index=False))

# %% [markdown]
# ## The cord's DVH, physical and EQD2
# A physical dose and an EQD2 are never drawn on one dose axis: one panel each.
# (`result.plot()` draws the whole evaluation the same way, as the report does.)

# %%
fig, (physical, eqd2) = plt.subplots(1, 2, figsize=(10, 4))
course.dvh("SpinalCord").plot(ax=physical)
course.dvh("SpinalCord", unit="EQD2Gy(a/b=2)").plot(ax=eqd2)
fig.suptitle("SpinalCord")
fig.tight_layout()
if len(sys.argv) > 1 and sys.argv[1].endswith(".png"):
    fig.savefig(sys.argv[1], dpi=100)
    print(f"cord DVH written to {sys.argv[1]}")
else:
    plt.show()
