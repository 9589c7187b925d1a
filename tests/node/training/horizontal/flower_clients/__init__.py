"""Flower clients written the way Flower's own examples write them, to plug into horizontal jobs."""
