"""Interop: other systems' hash-set formats (Project VIC VICS, INTERPOL ICSE, CSV lists) and the record they meet the catalogue through."""
