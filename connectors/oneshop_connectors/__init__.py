"""Built-in oneshop connectors; each registers under the `oneshop.connectors` entry-point group."""
