"""The catalog context: bibliographic records and the items that carry them."""
