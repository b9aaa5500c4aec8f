from xlz.cli import run

run()
