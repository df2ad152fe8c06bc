"""core/dicom."""
