"""The Annex A rule pack, shipped as package data."""
