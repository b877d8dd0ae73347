"""The FHIR R4 door (ANS guide PDSm, built on IHE MHD) for practice software."""
