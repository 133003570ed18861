"""``python -m agents.assistant``."""

from agents.assistant._main import main

main()
