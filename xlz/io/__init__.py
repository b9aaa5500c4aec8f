"""Files: intake and format sniffing, the reader, inbox expansion (folders, .zip, .eml), the in-place writer."""
