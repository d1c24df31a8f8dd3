"""The self-evaluation workbook (written, read back) and the national tables."""
