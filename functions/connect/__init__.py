"""The ``connect`` deploy unit (a package, so type checkers tell its ``main`` from the other units')."""
