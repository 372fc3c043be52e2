"""Careline: the conversation engine and its adapters, shipped to Lambda as a layer."""
