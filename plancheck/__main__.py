"""``python -m plancheck`` runs the command-line interface."""

from plancheck.cli import main

if __name__ == "__main__":
    main()
