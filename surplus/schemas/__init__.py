"""Marshmallow schemas: one per input (form, CSV row and JSON alike) and per API answer.

``fields`` holds the bounded field types every input uses, ``base`` the loader;
one module per concept holds its inputs; ``answers`` the API's responses.
"""
