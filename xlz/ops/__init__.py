"""Operations called by the doors (CLI, xlwings entry points, add-in): validate, fill, consolidate, demo."""
