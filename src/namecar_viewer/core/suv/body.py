"""Body-size estimates that SUL, SUVbsa and SUVibw normalise by, each with its published source.

Examples
--------
>>> round(lbm_janmahasatian(70.0, 1.75, "M"), 3)
55.857
>>> round(bsa_dubois(70.0, 1.75), 4)
1.8481
"""

from __future__ import annotations

import enum


class LbmFormula(enum.Enum):
    """Lean-body-mass estimate used for SUL."""

    JANMAHASATIAN = "janmahasatian"
    JAMES = "james"


# Janmahasatian S et al., Clin Pharmacokinet 2005;44(10):1051-65 (eq. for LBM, BMI in kg/m^2).
# PERCIST 1.0 (Wahl RL et al., J Nucl Med 2009;50 Suppl 1:122S) recommends SUL with this LBM.
JANMAHASATIAN_NUMERATOR = 9270.0
JANMAHASATIAN_MALE = (6680.0, 216.0)
JANMAHASATIAN_FEMALE = (8780.0, 244.0)
# James WPT, Research on obesity, HMSO 1976: LBM = a*W - b*(W/H_cm)^2.
JAMES_MALE = (1.10, 128.0)
JAMES_FEMALE = (1.07, 148.0)
# Du Bois D, Du Bois EF, Arch Intern Med 1916;17:863: BSA[m^2] = 0.007184 W^0.425 H_cm^0.725.
DUBOIS_COEFFICIENT = 0.007184
DUBOIS_WEIGHT_EXPONENT = 0.425
DUBOIS_HEIGHT_EXPONENT = 0.725
# Devine BJ, Drug Intell Clin Pharm 1974;8:650: IBW = base + 2.3 kg per inch over 60 inches.
DEVINE_BASE_MALE_KG = 50.0
DEVINE_BASE_FEMALE_KG = 45.5
DEVINE_KG_PER_INCH = 2.3
DEVINE_BASE_HEIGHT_INCH = 60.0
CM_PER_INCH = 2.54


def _sex(sex: str) -> str:
    s = sex.strip().upper()
    if s not in ("M", "F"):
        raise ValueError(f"sex must be 'M' or 'F' for a body-size formula, got {sex!r}")
    return s


def lbm_janmahasatian(weight_kg: float, height_m: float, sex: str) -> float:
    """Lean body mass in kg (Janmahasatian 2005), the PERCIST choice for SUL."""
    bmi = weight_kg / height_m**2
    a, b = JANMAHASATIAN_MALE if _sex(sex) == "M" else JANMAHASATIAN_FEMALE
    return JANMAHASATIAN_NUMERATOR * weight_kg / (a + b * bmi)


def lbm_james(weight_kg: float, height_m: float, sex: str) -> float:
    """Lean body mass in kg (James 1976); falls for obese patients, hence not the default."""
    a, b = JAMES_MALE if _sex(sex) == "M" else JAMES_FEMALE
    return a * weight_kg - b * (weight_kg / (height_m * 100.0)) ** 2


def lean_body_mass(weight_kg: float, height_m: float, sex: str, formula: LbmFormula) -> float:
    """Lean body mass in kg by the chosen formula."""
    if formula is LbmFormula.JAMES:
        return lbm_james(weight_kg, height_m, sex)
    return lbm_janmahasatian(weight_kg, height_m, sex)


def bsa_dubois(weight_kg: float, height_m: float) -> float:
    """Body surface area in m² (Du Bois 1916)."""
    return float(
        DUBOIS_COEFFICIENT
        * weight_kg**DUBOIS_WEIGHT_EXPONENT
        * (height_m * 100.0) ** DUBOIS_HEIGHT_EXPONENT
    )


def ibw_devine(height_m: float, sex: str) -> float:
    """Ideal body weight in kg (Devine 1974)."""
    base = DEVINE_BASE_MALE_KG if _sex(sex) == "M" else DEVINE_BASE_FEMALE_KG
    inches = height_m * 100.0 / CM_PER_INCH
    return base + DEVINE_KG_PER_INCH * (inches - DEVINE_BASE_HEIGHT_INCH)
