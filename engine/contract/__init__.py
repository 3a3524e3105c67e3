"""What evidence is and what the controls need: the Annex A catalog, the evidence contract, kinds and schemas.

Data shipped with the engine, loaded and validated; imports ``annexa.model`` and ``annexa.files``."""
