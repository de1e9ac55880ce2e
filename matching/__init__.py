"""Matching: identifier links, blocking, comparisons, Fellegi–Sunter, clustering, stable person ids."""
