"""Files written safely and streamed: atomic writes, JSON written value by value, escaped table cells.

The bottom layer: it imports nothing from annexa."""
