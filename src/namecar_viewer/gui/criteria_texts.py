"""The NAMECAR eligibility criteria's wording, marked for translation.

The criteria ship as data (``resources/namecar_eligibility_criteria.json``, read by
``app/eligibility.py``); the eligibility window shows each text in the reader's language by looking
the English text up in the ``app`` context (``gui.i18n.app_text``).  This table lists them so that
``pyside6-lupdate`` puts them in the catalogue; ``tests/gui/test_i18n.py`` checks that it holds
every text of the JSON file, so a change of the wording is not shown untranslated by surprise.
The French is as draft as the English (see ``wording_status``).
"""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP

CRITERIA_TEXTS = (
    QT_TRANSLATE_NOOP(
        "app",
        "DRAFT wording to be checked against the approved protocol version. Short wording "
        "derived from the public trial summary, NOT the official protocol text.",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "NAMECAR (NCT06882486), Institut Paoli-Calmettes",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "Public trial summary: patients with metastatic kidney cancer in complete response or "
        "major metastatic partial response on immunotherapy, randomised between delayed "
        "nephrectomy with stop of treatment (arm A) and continued treatment (arm B); CT every "
        "3 months for 2 years; primary endpoint PFS by RECIST 1.1.",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "Adult patient (18 years or older) who has given written informed consent.",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "Renal cell carcinoma, histologically confirmed, with metastatic disease.",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "First-line systemic treatment based on immunotherapy (immune checkpoint inhibitor), "
        "ongoing.",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "Complete response or metastatic partial response with more than 75% shrinkage by "
        "RECIST 1.1, pre-treatment baseline vs the inclusion scan, primary kidney tumour "
        "excluded.",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "Primary kidney tumour in place and judged resectable by the surgical team.",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "Performance status compatible with surgery and continued treatment (threshold as "
        "stated in the protocol).",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "Adequate haematological, renal and hepatic function (limits as stated in the protocol).",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "Disease progression (RECIST 1.1) on first-line treatment before inclusion.",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "Contraindication to nephrectomy or to general anaesthesia.",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "Brain metastases (treated or untreated, as defined in the protocol).",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "Other active cancer (except those allowed by the protocol).",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "Pregnancy or breastfeeding.",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "Prior nephrectomy of the tumour-bearing kidney.",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "Immunotherapy permanently stopped for toxicity.",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "Contraindication to contrast-enhanced CT follow-up every 3 months.",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "Participation in another interventional trial that interferes with the study treatment.",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "Patient unable to comply with the follow-up, or under legal protection "
        "(guardianship, deprived of liberty).",
    ),
)
