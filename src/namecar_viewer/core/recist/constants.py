"""Clinical thresholds of RECIST 1.1, iRECIST and the NAMECAR protocol, each with its source.

Percentages are exact rationals in percent units; lengths are millimetres.
References: Eisenhauer et al., Eur J Cancer 2009;45:228-247 (RECIST 1.1, "sec." below);
Schwartz et al., Eur J Cancer 2016;62:132-137 (RECIST 1.1 update and clarification);
Seymour et al., Lancet Oncol 2017;18:e143-e152 (iRECIST).
"""

from __future__ import annotations

from fractions import Fraction

# Baseline selection
MAX_TARGETS = 5  # RECIST 1.1 sec. 4.2: at most five target lesions in total
MAX_TARGETS_PER_ORGAN = 2  # RECIST 1.1 sec. 4.2: at most two per organ
LYMPH_NODE_ORGAN = "lymph nodes"  # RECIST 1.1 sec. 4.2 / RECIST committee Q&A: nodes are one organ
MIN_MEASURABLE_LONG_AXIS_MM = Fraction(10)  # RECIST 1.1 sec. 3.1.1: >= 10 mm by CT
THIN_SLICE_LIMIT_MM = Fraction(5)  # RECIST 1.1 sec. 3.1.1: CT slice thickness no greater than 5 mm
SLICE_THICKNESS_FACTOR = 2  # RECIST 1.1 sec. 3.1.1: otherwise twice the slice thickness
MIN_MEASURABLE_NODE_SHORT_AXIS_MM = Fraction(15)  # RECIST 1.1 sec. 3.1.1: node >= 15 mm short axis

# Timepoint response of target lesions
NODE_NORMAL_SHORT_AXIS_MM = Fraction(10)  # RECIST 1.1 sec. 4.3.1 CR: nodes < 10 mm short axis
PR_THRESHOLD_PCT = Fraction(-30)  # RECIST 1.1 sec. 4.3.1: at least 30% decrease from baseline
PD_THRESHOLD_PCT = Fraction(20)  # RECIST 1.1 sec. 4.3.1: at least 20% increase from the nadir
PD_MIN_ABSOLUTE_MM = Fraction(5)  # RECIST 1.1 sec. 4.3.1: and at least 5 mm absolute increase
TOO_SMALL_DEFAULT_MM = Fraction(5)  # RECIST 1.1 sec. 4.3.2: present but too small -> 5 mm
DISAPPEARED_MM = Fraction(0)  # RECIST 1.1 sec. 4.3.2: a lesion that disappeared is 0 mm

# Best overall response
DEFAULT_MIN_CONFIRMATION_INTERVAL_DAYS = 28  # RECIST 1.1 sec. 4.6.1: not less than 4 weeks
DEFAULT_MIN_SD_DURATION_DAYS = 42  # RECIST 1.1 sec. 4.6.3: protocol-defined, typically 6-8 weeks

# iRECIST
ICPD_MIN_FURTHER_INCREASE_MM = Fraction(5)  # Seymour 2017 Table 2: further sum increase >= 5 mm
ICPD_CONFIRMATION_MIN_DAYS = 28  # Seymour 2017: confirm at next assessment 4-8 weeks later
ICPD_CONFIRMATION_MAX_DAYS = 56  # Seymour 2017: 4-8 weeks
MAX_NEW_LESION_TARGETS = 5  # Seymour 2017: up to five new-lesion targets
MAX_NEW_LESION_TARGETS_PER_ORGAN = 2  # Seymour 2017: two per organ

# NAMECAR protocol eligibility (CR or major PR of the metastatic disease)
NAMECAR_MPR_THRESHOLD_PCT = Fraction(-75)  # NAMECAR protocol: strictly more than 75% shrinkage
