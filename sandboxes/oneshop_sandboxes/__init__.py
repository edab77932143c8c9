"""Emulators of the marketplaces oneshop's connectors talk to, one subpackage per
connector kind (`etsy`, `shopify`, `gumroad`), each registered under the entry-point group
`oneshop.sandboxes` by that kind. Tests, `oneshop demo` and the simulation find them
through `oneshop.testing.sandbox_for`; the service never imports them.
"""
