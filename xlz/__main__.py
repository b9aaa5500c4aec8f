from xlz.cli import main

main()
