"""Bytes-level OOXML: zip reading under the bomb caps, zip copying and joining, deflate, sheet-XML patching, shared formulas, fast rows. Knows nothing of the domain."""
