"""Results that leave the workstation: DICOM SR (TID 1500), CSV for the trial database, JSON."""
