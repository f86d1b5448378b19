"""What is sold and who it lifts: townships, villages, households, producers, categories, products."""
