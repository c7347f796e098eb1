"""The self-service boundary (issue 12): one test per attack, written as the attack."""
