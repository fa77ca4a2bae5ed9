"""Layer 1, domain: plain data shared by every layer (the Grade, bands, levels, the error base).

Imports nothing from the rest of the package.
"""
