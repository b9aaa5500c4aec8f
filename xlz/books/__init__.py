"""Workbook builders, the only xlsxwriter users: the town template, the city template, the city workbook and the report workbook."""
