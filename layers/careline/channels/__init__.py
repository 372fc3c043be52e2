"""Channel adapters: turn a provider's event into Careline's `InboundMessage`."""
