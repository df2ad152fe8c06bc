"""Synthetic NAMECAR demo patient with known ground truth, so every measurement can be checked.

``namecar_viewer.phantom.demo.write_demo_patient(out_dir, size="full"|"small")`` writes five CT
timepoints, a renal MRI (T2, DWI b0/b800, dynamic T1) and a Ga-68 PSMA PET plus
``ground_truth.json``; ``scenario`` holds the lesions and their true sizes, ``anatomy`` the
analytic body model, ``writers`` the DICOM dataset builders.  No Qt.
"""
