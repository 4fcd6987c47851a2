"""Authoring: source notebooks -> student release and executed reference solutions."""
