"""``python -m exposure`` runs the command line."""

from cli import main

main()
