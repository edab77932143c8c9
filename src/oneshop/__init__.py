"""oneshop: run Etsy, Shopify and Gumroad as one shop."""

__version__ = "0.1.0"
