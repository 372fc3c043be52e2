"""Dialogs: what Careline says and does for each kind of message, one module per conversation."""
